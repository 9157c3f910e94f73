// Package tsm writes and reads ChronoGo's immutable columnar TSM files: per-column blocks of at most
// 1000 points with checksums and pre-aggregates, a compact index, a SeriesID bloom filter and a footer.
//
// The on-disk format (box diagrams, widths, checksums, flags) is documented in FORMAT.md beside this file.
// Column value encodings live in the codec subpackage.
package tsm
