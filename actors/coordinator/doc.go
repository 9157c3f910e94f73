// Package coordinator routes writes to vnode replicas and waits for the database's consistency
// level, and gathers reads, deletes and drops from the vnodes of the buckets a request touches.
package coordinator
