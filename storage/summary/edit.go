package summary

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/chronogo/chronogo/storage"
)

// MaxLevel is the highest level; level 0 holds delta (out-of-order) files.
const MaxLevel = 4

// FileMeta describes one TSM file of the vnode.
type FileMeta struct {
	ID               uint64
	Level            uint8
	Size             int64
	MinTime, MaxTime int64
	MinSeq, MaxSeq   uint64
}

// Tombstone hides points of some series in a time range whose (version, seq) is lower than its own.
// A rename tombstone (Target set) also records that the series' points moved to the series Target:
// writes for the renamed series older than the tombstone are redirected there.
type Tombstone struct {
	ID               uint64
	Series           []storage.SeriesID // sorted ascending
	MinTime, MaxTime int64              // inclusive
	Version, Seq     uint64
	Target           []byte // rename tombstones: the encoded series key the points moved to; nil otherwise
}

// IsRename reports whether t is a rename tombstone.
func (t *Tombstone) IsRename() bool { return t.Target != nil }

// Hides reports whether the tombstone hides a point of series s at time t written with (version, seq).
func (t *Tombstone) Hides(s storage.SeriesID, ts int64, version, seq uint64) bool {
	if ts < t.MinTime || ts > t.MaxTime || !t.Covers(version, seq) {
		return false
	}
	_, ok := slices.BinarySearch(t.Series, s)
	return ok
}

// Covers reports whether (version, seq) is older than the tombstone.
func (t *Tombstone) Covers(version, seq uint64) bool {
	return version < t.Version || (version == t.Version && seq < t.Seq)
}

// HasSeries reports whether the tombstone names series s.
func (t *Tombstone) HasSeries(s storage.SeriesID) bool {
	_, ok := slices.BinarySearch(t.Series, s)
	return ok
}

// VersionEdit is one change of the vnode's durable state. Zero values mean "unchanged".
type VersionEdit struct {
	AddFiles      []FileMeta
	DelFiles      []uint64
	FlushedSeq    uint64 // WAL records up to this seq are in files
	NextFileID    uint64 // the next file id to allocate
	MaxSeq        uint64 // the highest seq assigned so far (tombstones take seqs without WAL records)
	ExpiredBefore int64  // points older than this are expired (TTL); 0 = unchanged
	AddTombstones []Tombstone
	DelTombstones []uint64
	// TableDeletes are deletes of whole tables (every series, all time): later writes to the
	// table older than one are dropped, also for series the vnode did not have at the delete.
	TableDeletes []TableDelete
}

// TableDelete is a delete of every point of a table written before Version.
type TableDelete struct {
	Table   string
	Version uint64
}

// Field tags of the edit encoding (docs/format/summary.md). Items may appear in any order; the
// scalar tags (3-6) at most once, the list tags (1, 2, 7, 8, 9) any number of times.
const (
	tagAddFile      = 1
	tagDelFile      = 2
	tagFlushedSeq   = 3
	tagNextFileID   = 4
	tagMaxSeq       = 5
	tagExpired      = 6
	tagAddTombstone = 7
	tagDelTombstone = 8
	tagAddRename    = 9 // add tombstone + target series key: a rename tombstone
	tagTableDelete  = 10
)

// maxTableName bounds a table name in a table delete (the series key's bound).
const maxTableName = storage.MaxSeriesKeyLen

// Marshal appends the encoding of e: a sequence of (tag byte, payload) items.
func (e *VersionEdit) Marshal(dst []byte) []byte {
	for _, f := range e.AddFiles {
		dst = append(dst, tagAddFile)
		dst = binary.AppendUvarint(dst, f.ID)
		dst = append(dst, f.Level)
		dst = binary.AppendUvarint(dst, uint64(f.Size))
		dst = binary.AppendVarint(dst, f.MinTime)
		dst = binary.AppendVarint(dst, f.MaxTime)
		dst = binary.AppendUvarint(dst, f.MinSeq)
		dst = binary.AppendUvarint(dst, f.MaxSeq)
	}
	for _, id := range e.DelFiles {
		dst = append(dst, tagDelFile)
		dst = binary.AppendUvarint(dst, id)
	}
	if e.FlushedSeq != 0 {
		dst = append(dst, tagFlushedSeq)
		dst = binary.AppendUvarint(dst, e.FlushedSeq)
	}
	if e.NextFileID != 0 {
		dst = append(dst, tagNextFileID)
		dst = binary.AppendUvarint(dst, e.NextFileID)
	}
	if e.MaxSeq != 0 {
		dst = append(dst, tagMaxSeq)
		dst = binary.AppendUvarint(dst, e.MaxSeq)
	}
	if e.ExpiredBefore != 0 {
		dst = append(dst, tagExpired)
		dst = binary.AppendVarint(dst, e.ExpiredBefore)
	}
	for _, t := range e.AddTombstones {
		if t.IsRename() {
			dst = append(dst, tagAddRename)
		} else {
			dst = append(dst, tagAddTombstone)
		}
		dst = binary.AppendUvarint(dst, t.ID)
		dst = binary.AppendVarint(dst, t.MinTime)
		dst = binary.AppendVarint(dst, t.MaxTime)
		dst = binary.AppendUvarint(dst, t.Version)
		dst = binary.AppendUvarint(dst, t.Seq)
		dst = binary.AppendUvarint(dst, uint64(len(t.Series)))
		prev := uint64(0)
		for _, s := range t.Series {
			dst = binary.AppendUvarint(dst, uint64(s)-prev)
			prev = uint64(s)
		}
		if t.IsRename() {
			dst = binary.AppendUvarint(dst, uint64(len(t.Target)))
			dst = append(dst, t.Target...)
		}
	}
	for _, id := range e.DelTombstones {
		dst = append(dst, tagDelTombstone)
		dst = binary.AppendUvarint(dst, id)
	}
	for _, t := range e.TableDeletes {
		dst = append(dst, tagTableDelete)
		dst = binary.AppendUvarint(dst, uint64(len(t.Table)))
		dst = append(dst, t.Table...)
		dst = binary.AppendUvarint(dst, t.Version)
	}
	return dst
}

type decoder struct {
	src []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.src)
	if n <= 0 {
		d.err = errors.New("truncated or overlong uvarint")
		return 0
	}
	d.src = d.src[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.src)
	if n <= 0 {
		d.err = errors.New("truncated or overlong varint")
		return 0
	}
	d.src = d.src[n:]
	return v
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.src) == 0 {
		d.err = errors.New("truncated")
		return 0
	}
	b := d.src[0]
	d.src = d.src[1:]
	return b
}

// seriesKey reads the target key of rename tombstone id: a uvarint length (1..MaxSeriesKeyLen, at
// most the bytes left) and a valid encoded series key, copied out of the source buffer.
func (d *decoder) seriesKey(id uint64) []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n == 0 || n > storage.MaxSeriesKeyLen || n > uint64(len(d.src)) {
		d.err = fmt.Errorf("rename tombstone %d: got target key length %d; want 1..%d with %d bytes left", id, n, storage.MaxSeriesKeyLen, len(d.src))
		return nil
	}
	key := d.src[:n]
	d.src = d.src[n:]
	if _, err := storage.UnmarshalSeriesKey(key); err != nil {
		d.err = fmt.Errorf("rename tombstone %d: target: %w", id, err)
		return nil
	}
	return slices.Clone(key)
}

// UnmarshalVersionEdit decodes an edit made by Marshal.
func UnmarshalVersionEdit(src []byte) (*VersionEdit, error) {
	d := &decoder{src: src}
	e := &VersionEdit{}
	var seen [tagAddRename + 1]bool
	for len(d.src) > 0 && d.err == nil {
		tag := d.byte()
		switch tag {
		case tagAddFile:
			f := FileMeta{ID: d.uvarint(), Level: d.byte()}
			size := d.uvarint()
			f.MinTime, f.MaxTime = d.varint(), d.varint()
			f.MinSeq, f.MaxSeq = d.uvarint(), d.uvarint()
			if d.err == nil && (f.Level > MaxLevel || size > math.MaxInt64 || f.MinTime > f.MaxTime || f.MinSeq > f.MaxSeq) {
				d.err = fmt.Errorf("bad file meta for file %d", f.ID)
			}
			f.Size = int64(size)
			e.AddFiles = append(e.AddFiles, f)
		case tagDelFile:
			e.DelFiles = append(e.DelFiles, d.uvarint())
		case tagAddTombstone, tagAddRename:
			t := Tombstone{ID: d.uvarint(), MinTime: d.varint(), MaxTime: d.varint(), Version: d.uvarint(), Seq: d.uvarint()}
			n := d.uvarint()
			if d.err == nil && n > uint64(len(d.src)) {
				d.err = fmt.Errorf("tombstone %d: got %d series for %d bytes", t.ID, n, len(d.src))
			}
			if d.err == nil {
				t.Series = make([]storage.SeriesID, 0, n)
				prev := uint64(0)
				for i := uint64(0); i < n && d.err == nil; i++ {
					delta := d.uvarint()
					if (i > 0 && delta == 0) || prev+delta < prev {
						d.err = fmt.Errorf("tombstone %d: series ids not strictly ascending", t.ID)
					}
					prev += delta
					t.Series = append(t.Series, storage.SeriesID(prev))
				}
			}
			if tag == tagAddRename {
				t.Target = d.seriesKey(t.ID)
			}
			e.AddTombstones = append(e.AddTombstones, t)
		case tagDelTombstone:
			e.DelTombstones = append(e.DelTombstones, d.uvarint())
		case tagTableDelete:
			n := d.uvarint()
			if d.err == nil && (n == 0 || n > maxTableName || n > uint64(len(d.src))) {
				d.err = fmt.Errorf("table delete: got name length %d; want 1..%d with %d bytes left", n, maxTableName, len(d.src))
			}
			if d.err == nil {
				t := TableDelete{Table: string(d.src[:n])}
				d.src = d.src[n:]
				t.Version = d.uvarint()
				e.TableDeletes = append(e.TableDeletes, t)
			}
		case tagFlushedSeq, tagNextFileID, tagMaxSeq, tagExpired:
			if seen[tag] {
				d.err = fmt.Errorf("tag %d repeated", tag)
				break
			}
			seen[tag] = true
			switch tag {
			case tagFlushedSeq:
				e.FlushedSeq = d.uvarint()
			case tagNextFileID:
				e.NextFileID = d.uvarint()
			case tagMaxSeq:
				e.MaxSeq = d.uvarint()
			case tagExpired:
				e.ExpiredBefore = d.varint()
			}
		default:
			d.err = fmt.Errorf("unknown tag %d", tag)
		}
	}
	if d.err != nil {
		return nil, fmt.Errorf("decode version edit at byte %d: %w", len(src)-len(d.src), d.err)
	}
	return e, nil
}
