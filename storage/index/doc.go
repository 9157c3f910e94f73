// Package index is the per-vnode series index: SeriesKey ↔ SeriesID hash lists and an inverted
// tag index (sorted postings, ordered tag values), persisted as a snapshot plus a log; see ../docs/format/index.md.
package index
