// Package recordfile reads and writes files of framed records: a small header (caller's magic + version),
// then records framed as length + CRC32-Castagnoli + payload. Format: ../docs/format/recordfile.md.
package recordfile
