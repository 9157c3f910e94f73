// Package vnode holds the vnode actor (one storage engine vnode, its writes, flushes and
// compactions), its flush and compaction job actors, and the manager that supervises vnodes.
package vnode
