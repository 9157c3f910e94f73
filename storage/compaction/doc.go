// Package compaction picks which TSM files of a vnode to merge (level_range or time_window) and
// merges them with last-write-wins, tombstones and expiry applied, into new files.
package compaction
