package wal

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/recordfile"
)

// Format constants; the names match docs/format/wal.md.
const (
	// SegmentExt is the file name extension of a segment.
	SegmentExt = ".wal"
	// segmentNameDigits is the zero padding of a segment's index in its name ("00000001.wal").
	segmentNameDigits = 8
	// SeqSize is the size of the seq_no that starts every record payload.
	SeqSize = 8
	// MaxDataSize is the largest caller data one record can carry.
	MaxDataSize = recordfile.MaxRecordSize - SeqSize
	// DefaultSegmentSize is the size after which Append rolls to a new segment.
	DefaultSegmentSize = 64 << 20
)

// Magic is the record-file magic of WAL segments.
var Magic = [4]byte{'C', 'G', 'W', 'L'}

// SegmentName returns the file name of the segment with the given index ("00000001.wal").
func SegmentName(index uint64) string {
	return fmt.Sprintf("%0*d%s", segmentNameDigits, index, SegmentExt)
}

// ParseSegmentName returns the index of a segment file name, or false if name is not one.
func ParseSegmentName(name string) (uint64, bool) {
	stem, ok := strings.CutSuffix(name, SegmentExt)
	if !ok || len(stem) < segmentNameDigits {
		return 0, false
	}
	for _, c := range stem {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	idx, err := strconv.ParseUint(stem, 10, 64)
	if err != nil || idx == 0 || SegmentName(idx) != name {
		return 0, false
	}
	return idx, true
}

// ReadSegment reads the segment file at path and calls fn with each record's offset, seq_no and
// data (valid only during the call). It returns what recordfile.Scan returns: validEnd, and nil, a
// *recordfile.TornTailError or a *storage.CorruptionError (also for a record too short to hold a
// seq_no). It does not check seq_no order; Replay does.
func ReadSegment(path string, fn func(offset int64, seq uint64, data []byte) error) (validEnd int64, err error) {
	return recordfile.Scan(path, Magic, segmentRecord(path, fn))
}

// ReadSegmentSkipping is ReadSegment that steps over damaged records followed by valid ones,
// reporting each to skip (recordfile.ScanSkipping).
func ReadSegmentSkipping(path string, fn func(offset int64, seq uint64, data []byte) error, skip recordfile.SkipFunc) (validEnd int64, err error) {
	return recordfile.ScanSkipping(path, Magic, segmentRecord(path, fn), skip)
}

func segmentRecord(path string, fn func(offset int64, seq uint64, data []byte) error) func(int64, []byte) error {
	return func(off int64, p []byte) error {
		if len(p) < SeqSize {
			return &storage.CorruptionError{Path: path, Offset: off,
				Err: fmt.Errorf("wal record payload: got %d bytes; want >= %d", len(p), SeqSize)}
		}
		return fn(off, binary.LittleEndian.Uint64(p), p[SeqSize:])
	}
}
