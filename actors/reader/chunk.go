package reader

import (
	"errors"
	"fmt"
	"iter"

	"github.com/chronogo/chronogo/messages"
	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/engine"
)

// Chunk sizes. Sizes are upper-bound estimates of the protobuf encoding, so a chunk's encoding
// stays within its budget (plus the envelope's few bytes) unless it holds a single point or row
// that alone is larger.
const (
	// DefaultChunkBytes is the chunk budget of requests that name none.
	DefaultChunkBytes = 1 << 20
	// MaxChunkBytes caps a requested budget well below the gRPC message limit (16 MiB on nodes).
	MaxChunkBytes = 8 << 20
	// chunkOverhead covers a chunk's own fields (done, code, cursor id) and framing.
	chunkOverhead = 32
	// columnOverhead covers a column's tags, lengths, type and packed-field headers.
	columnOverhead = 48
	// rowOverhead covers an AggRow's fixed fields (20 fields of at most 11 bytes) and framing.
	rowOverhead = 20*11 + 16
)

// chunkBudget is the budget of a request: DefaultChunkBytes when unset, at most MaxChunkBytes.
func chunkBudget(requested uint32) int {
	switch {
	case requested == 0:
		return DefaultChunkBytes
	case requested > MaxChunkBytes:
		return MaxChunkBytes
	}
	return int(requested)
}

// part is one chunk's worth of a cursor's answer: columns or rows, whether it is the last, or the
// error that ended the read.
type part struct {
	cols []*messages.ScanColumn
	rows []*messages.AggRow
	last bool
	err  error
}

// errStopped ends an engine read whose consumer went away.
var errStopped = errors.New("cursor closed")

// scanChunker packs columns into chunks of at most max bytes, cutting a column that does not fit
// into several ScanColumns of the same series and field; emit gets each full chunk and returns
// false to stop.
type scanChunker struct {
	max  int
	size int
	cols []*messages.ScanColumn
	emit func(cols []*messages.ScanColumn) bool
}

func newScanChunker(max int, emit func([]*messages.ScanColumn) bool) *scanChunker {
	return &scanChunker{max: max, size: chunkOverhead, emit: emit}
}

// flush emits the current chunk and starts a new one.
func (c *scanChunker) flush() bool {
	cols := c.cols
	c.cols, c.size = nil, chunkOverhead
	return c.emit(cols)
}

// add packs one column; a chunk always takes at least one point, so every call makes progress.
func (c *scanChunker) add(key []byte, field string, p *storage.Points) bool {
	overhead := columnOverhead + len(key) + len(field)
	for i, n := 0, p.Len(); i < n; {
		room := c.max - c.size - overhead
		j, size := i, 0
		for j < n {
			ps := pointSize(&p.Values, j)
			if size+ps > room {
				break
			}
			size += ps
			j++
		}
		if j == i {
			if len(c.cols) > 0 {
				if !c.flush() {
					return false
				}
				continue
			}
			j, size = i+1, pointSize(&p.Values, i) // one point larger than a chunk: alone
		}
		c.cols = append(c.cols, columnProto(key, field, p, i, j))
		c.size += overhead + size
		i = j
		if i < n && !c.flush() { // the column goes on in the next chunk
			return false
		}
	}
	return true
}

// pointSize bounds the encoded size of point i: a varint time and the value.
func pointSize(v *storage.Values, i int) int {
	const timeSize = 10
	switch v.Type.Class() {
	case storage.ClassFloat:
		return timeSize + 8
	case storage.ClassInt:
		return timeSize + 10
	case storage.ClassBool:
		return timeSize + 1
	case storage.ClassBytes:
		return timeSize + 1 + 5 + len(v.Bytes[i])
	}
	return timeSize
}

// keyCache marshals the series key of the last series seen once for all its columns.
type keyCache struct {
	snap *engine.Snapshot
	id   storage.SeriesID
	key  []byte
}

func (k *keyCache) get(id storage.SeriesID) ([]byte, error) {
	if k.key != nil && id == k.id {
		return k.key, nil
	}
	sk, ok := k.snap.SeriesKey(id)
	if !ok {
		return nil, fmt.Errorf("series %d has no key", id)
	}
	k.id, k.key = id, sk.Marshal(nil)
	return k.key, nil
}

// scanParts reads q from snap as chunks of at most max bytes; the final part has last set (and
// may be empty), or err.
func scanParts(snap *engine.Snapshot, q engine.ScanQuery, max int) iter.Seq[part] {
	return func(yield func(part) bool) {
		stopped := false
		ch := newScanChunker(max, func(cols []*messages.ScanColumn) bool {
			stopped = !yield(part{cols: cols})
			return !stopped
		})
		keys := keyCache{snap: snap}
		err := snap.Scan(q, func(col *engine.ScanColumn) error {
			key, err := keys.get(col.Series)
			if err != nil {
				return err
			}
			if !ch.add(key, col.Field, col.Points) {
				return errStopped
			}
			return nil
		})
		switch {
		case stopped:
		case err != nil:
			yield(part{err: err})
		default:
			yield(part{cols: ch.cols, last: true})
		}
	}
}

// aggParts reads the aggregates of q from snap as chunks of at most max bytes (rows are never
// cut), like scanParts.
func aggParts(snap *engine.Snapshot, q engine.AggQuery, max int) iter.Seq[part] {
	return func(yield func(part) bool) {
		stopped := false
		var (
			rows []*messages.AggRow
			size = chunkOverhead
			keys = keyCache{snap: snap}
		)
		_, err := snap.Aggregate(q, func(r *engine.AggResult) error {
			key, err := keys.get(r.Series)
			if err != nil {
				return err
			}
			rs := rowOverhead + len(key) + len(r.Field) + len(r.FirstBytes) + len(r.LastBytes)
			if len(rows) > 0 && size+rs > max {
				if !yield(part{rows: rows}) {
					stopped = true
					return errStopped
				}
				rows, size = nil, chunkOverhead
			}
			rows = append(rows, aggRowProto(key, r))
			size += rs
			return nil
		})
		switch {
		case stopped:
		case err != nil:
			yield(part{err: err})
		default:
			yield(part{rows: rows, last: true})
		}
	}
}
