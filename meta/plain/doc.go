// Package plain is the replicated store of plain (non-time-series) collections: a dragonboat
// on-disk state machine on pebble holding documents by key, with per-collection counts and limits.
package plain
