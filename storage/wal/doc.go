// Package wal is a vnode's write-ahead log: numbered segment files of seq_no-tagged records with group
// commit, replay and torn-tail repair, and no goroutines of its own. Format: ../docs/format/wal.md.
package wal
