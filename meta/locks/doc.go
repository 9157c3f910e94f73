// Package locks is the deterministic state machine of the locks shard: leased locks with fencing
// tokens. Expiry compares against the `now` carried by each command; see meta/docs/snapshot.md.
package locks
