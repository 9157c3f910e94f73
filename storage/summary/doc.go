// Package summary keeps the durable file set of a vnode: an append-only log of version edits (files
// added and removed per level, flushed seq_no, tombstones), folded into a State. Format: ../docs/format/summary.md.
package summary
