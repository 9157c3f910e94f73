// Package engine is one vnode's LSM tree: WAL, memcache, TSM levels, summary, index, flush, compaction
// and reads, as a library with no actors and no goroutines that outlive a call (actors/ drives it).
package engine
