// Package placement is the deterministic state machine of the placement shard: nodes, buckets by
// time range, replica sets and vnodes → nodes. Apply is pure; see meta/docs/snapshot.md.
package placement
