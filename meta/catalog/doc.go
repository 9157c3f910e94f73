// Package catalog is the deterministic state machine of the catalog shard: tenants, users, databases
// and time-series collections. Apply is pure; the snapshot format is in meta/docs/snapshot.md.
package catalog
