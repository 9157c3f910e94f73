package tsm

import (
	"errors"
	"fmt"

	"github.com/chronogo/chronogo/storage"
)

// The series-key table (format version 2) ends the index payload:
//
//	uvarint(n) n × { uvarint(SeriesID − previous SeriesID) uvarint(len) key <len bytes> }
//
// Ids ascend strictly (the first is relative to 0) and each is a series of the file; the key is
// the series' encoded storage.SeriesKey. It makes a file self-describing: the series index can
// be rebuilt from the files when it is lost.

// appendSeriesKeys appends the table for the file's series (ascending) to dst.
func appendSeriesKeys(dst []byte, series []storage.SeriesID, keyOf func(storage.SeriesID) ([]byte, bool)) ([]byte, error) {
	type entry struct {
		id  storage.SeriesID
		key []byte
	}
	var known []entry
	if keyOf != nil {
		for _, id := range series {
			if k, ok := keyOf(id); ok {
				if len(k) == 0 || len(k) > storage.MaxSeriesKeyLen {
					return dst, fmt.Errorf("series %#016x: key of %d bytes; want 1..%d", uint64(id), len(k), storage.MaxSeriesKeyLen)
				}
				known = append(known, entry{id, k})
			}
		}
	}
	dst = appendUvarint(dst, uint64(len(known)))
	var prev storage.SeriesID
	for _, e := range known {
		dst = appendUvarint(dst, uint64(e.id-prev))
		dst = appendUvarint(dst, uint64(len(e.key)))
		dst = append(dst, e.key...)
		prev = e.id
	}
	return dst, nil
}

// checkSeriesKeys checks what follows the key entries of an index payload at pos: nothing in
// version 1, a well-formed series-key table naming only the file's series in version 2. It
// returns pos (where the table starts), or where checking failed.
func checkSeriesKeys(payload []byte, pos int, version byte, series []seriesStart) (int, error) {
	if version == FormatV1 {
		if pos != len(payload) {
			return pos, fmt.Errorf("%d trailing bytes", len(payload)-pos)
		}
		return pos, nil
	}
	d := decoder{b: payload, pos: pos}
	err := walkSeriesKeys(&d, series, nil)
	if err != nil {
		return d.pos, err
	}
	return pos, nil
}

// walkSeriesKeys decodes the table at d, checking it against the file's series, and calls fn (if
// not nil) for each series; key is only valid during the call.
func walkSeriesKeys(d *decoder, series []seriesStart, fn func(id storage.SeriesID, key []byte) error) error {
	n := d.uvarint()
	if d.err != nil {
		return d.err
	}
	if n > uint64(d.remaining()/3) { // each takes at least id(1) len(1) key(1)
		return fmt.Errorf("series key count: got %d; want <= %d", n, d.remaining()/3)
	}
	var prev uint64
	ei := 0
	for i := uint64(0); i < n; i++ {
		delta := d.uvarint()
		l := d.uvarint()
		if d.err != nil {
			return d.err
		}
		id := prev + delta
		if (delta == 0 && i > 0) || id < prev || id == 0 {
			return fmt.Errorf("series key %d: id delta %d after %#016x", i, delta, prev)
		}
		if l == 0 || l > storage.MaxSeriesKeyLen {
			return fmt.Errorf("series key %d: length %d; want 1..%d", i, l, storage.MaxSeriesKeyLen)
		}
		key := d.bytes(l)
		if d.err != nil {
			return d.err
		}
		for ei < len(series) && uint64(series[ei].id) < id {
			ei++
		}
		if ei == len(series) || uint64(series[ei].id) != id {
			return fmt.Errorf("series key %d: series %#016x has no column in the file", i, id)
		}
		if fn != nil {
			if err := fn(storage.SeriesID(id), key); err != nil {
				return err
			}
		}
		prev = id
	}
	if d.remaining() != 0 {
		return fmt.Errorf("%d trailing bytes after the series keys", d.remaining())
	}
	return nil
}

// ErrNoSeriesKeys is returned by SeriesKeys for a version 1 file, which has no series-key table.
var ErrNoSeriesKeys = errors.New("tsm file has no series keys (format version 1)")

// SeriesKeys calls fn with the id and encoded key of every series the file names, in id order
// (key is only valid during the call). It reads the index section again from disk and checks its
// CRC: damage since Open is a *storage.CorruptionError.
func (r *Reader) SeriesKeys(fn func(id storage.SeriesID, key []byte) error) error {
	if r.version == FormatV1 {
		return ErrNoSeriesKeys
	}
	sec := make([]byte, r.indexLen)
	if err := readFull(r.f, sec, r.blocksEnd); err != nil {
		return fmt.Errorf("read tsm %s: index: %w", r.path, err)
	}
	if err := checkSectionCRC(sec); err != nil {
		return corrupt(r.path, r.blocksEnd, fmt.Errorf("index: %w", err))
	}
	d := decoder{b: sec[:len(sec)-crcSize], pos: r.keysPos}
	var cbErr error
	err := walkSeriesKeys(&d, r.ix.series, func(id storage.SeriesID, key []byte) error {
		if cbErr = fn(id, key); cbErr != nil {
			return cbErr
		}
		return nil
	})
	if err != nil && cbErr == nil {
		return corrupt(r.path, r.blocksEnd+int64(d.pos), fmt.Errorf("index: %w", err))
	}
	return err
}

// Version is the file's format version.
func (r *Reader) Version() byte { return r.version }
