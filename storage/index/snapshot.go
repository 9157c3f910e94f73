package index

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"slices"

	"github.com/chronogo/chronogo/storage"
)

// Snapshot file constants (see docs/format/index.md).
const (
	SnapshotMagic      = 0x43474953 // "CGIS"
	SnapshotVersion    = 1
	snapshotHeaderSize = 24 // magic(4) version(1) reserved(3) nextGen(8) nextAutoInc(8)
	snapshotCRCSize    = 4
)

// appendSnapshot encodes s (which must be normalized) with the first log generation it does not cover.
func appendSnapshot(dst []byte, s *state, nextGen uint64) []byte {
	start := len(dst)
	dst = binary.BigEndian.AppendUint32(dst, SnapshotMagic)
	dst = append(dst, SnapshotVersion, 0, 0, 0)
	dst = binary.LittleEndian.AppendUint64(dst, nextGen)
	dst = binary.LittleEndian.AppendUint64(dst, s.next)

	series := make([]hashEntry, 0, s.n)
	for _, l := range s.hash {
		series = append(series, l...)
	}
	slices.SortFunc(series, func(a, b hashEntry) int {
		switch {
		case a.id < b.id:
			return -1
		case a.id > b.id:
			return 1
		}
		return 0
	})
	dst = binary.AppendUvarint(dst, uint64(len(series)))
	var prev storage.SeriesID
	for _, e := range series {
		dst = binary.AppendUvarint(dst, uint64(e.id-prev))
		prev = e.id
		dst = binary.AppendUvarint(dst, uint64(len(e.key)))
		dst = append(dst, e.key...)
	}

	tables := sortedKeys(s.tables)
	dst = binary.AppendUvarint(dst, uint64(len(tables)))
	for _, name := range tables {
		t := s.tables[name]
		dst = appendString(dst, name)
		dst = appendPostings(dst, t.all.ids)
		tags := sortedKeys(t.tags)
		dst = binary.AppendUvarint(dst, uint64(len(tags)))
		for _, tag := range tags {
			ti := t.tags[tag]
			dst = appendString(dst, tag)
			dst = binary.AppendUvarint(dst, uint64(len(ti.keys)))
			for _, vk := range ti.keys {
				dst = append(dst, vk[0])
				dst = appendString(dst, vk[1:])
				dst = appendPostings(dst, ti.values[vk].ids)
			}
		}
	}
	return binary.LittleEndian.AppendUint32(dst, crc32.Checksum(dst[start:], castagnoli))
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// decodeSnapshot checks the trailing CRC and decodes a snapshot. Errors are *frameError with the
// byte offset of the bad field.
func decodeSnapshot(src []byte) (*state, uint64, error) {
	if len(src) < snapshotHeaderSize+snapshotCRCSize {
		return nil, 0, &frameError{0, fmt.Errorf("snapshot size: got %d bytes; want >= %d", len(src), snapshotHeaderSize+snapshotCRCSize)}
	}
	body := src[:len(src)-snapshotCRCSize]
	if got, want := crc32.Checksum(body, castagnoli), binary.LittleEndian.Uint32(src[len(body):]); got != want {
		return nil, 0, &frameError{len(body), fmt.Errorf("snapshot crc: got %#x; want %#x", got, want)}
	}
	return decodeSnapshotBody(body)
}

// decoder reads uvarints and strings, remembering the offset of the first error.
type decoder struct {
	src []byte
	off int
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = &frameError{d.off, fmt.Errorf(format, args...)}
	}
}

func (d *decoder) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, m := binary.Uvarint(d.src[d.off:])
	if m <= 0 {
		d.fail("%s: bad uvarint", what)
		return 0
	}
	d.off += m
	return v
}

// count reads a count of items that each take at least minSize bytes.
func (d *decoder) count(what string, minSize int) int {
	n := d.uvarint(what)
	if d.err == nil && n > uint64((len(d.src)-d.off)/minSize) {
		d.fail("%s: got %d; want <= %d for %d remaining bytes", what, n, (len(d.src)-d.off)/minSize, len(d.src)-d.off)
		return 0
	}
	return int(n)
}

func (d *decoder) bytes(what string, max int) []byte {
	n := d.uvarint(what)
	if d.err != nil {
		return nil
	}
	if n > uint64(max) || n > uint64(len(d.src)-d.off) {
		d.fail("%s length: got %d; want <= %d and <= %d remaining", what, n, max, len(d.src)-d.off)
		return nil
	}
	b := d.src[d.off : d.off+int(n)]
	d.off += int(n)
	return b
}

func (d *decoder) postings(what string) []storage.SeriesID {
	if d.err != nil {
		return nil
	}
	ids, rest, err := decodePostings(nil, d.src[d.off:])
	if err != nil {
		d.fail("%s: %v", what, err)
		return nil
	}
	if len(ids) == 0 {
		d.fail("%s: empty postings", what)
		return nil
	}
	d.off = len(d.src) - len(rest)
	return ids
}

// decodeSnapshotBody decodes a snapshot without its CRC trailer. It checks structure and the
// cross references that keep the state consistent: ids ascending and unique, hash24 of every key,
// every series in exactly one table whose name matches its key, postings ascending and inside
// their table.
func decodeSnapshotBody(src []byte) (*state, uint64, error) {
	if len(src) < snapshotHeaderSize {
		return nil, 0, &frameError{0, fmt.Errorf("snapshot header: got %d bytes; want %d", len(src), snapshotHeaderSize)}
	}
	if m := binary.BigEndian.Uint32(src); m != SnapshotMagic {
		return nil, 0, &frameError{0, fmt.Errorf("snapshot magic: got %#x; want %#x", m, SnapshotMagic)}
	}
	if src[4] != SnapshotVersion {
		return nil, 0, &frameError{4, fmt.Errorf("snapshot version: got %d; want %d", src[4], SnapshotVersion)}
	}
	if src[5] != 0 || src[6] != 0 || src[7] != 0 {
		return nil, 0, &frameError{5, errors.New("snapshot reserved bytes: want zero")}
	}
	nextGen := binary.LittleEndian.Uint64(src[8:])
	if nextGen == 0 {
		return nil, 0, &frameError{8, errors.New("snapshot next log generation: got 0; want >= 1")}
	}
	s := newState()
	s.next = binary.LittleEndian.Uint64(src[16:])
	if s.next == 0 || s.next > storage.MaxAutoInc+1 {
		return nil, 0, &frameError{16, fmt.Errorf("snapshot next counter: got %d; want 1..%d", s.next, uint64(storage.MaxAutoInc+1))}
	}
	d := &decoder{src: src, off: snapshotHeaderSize}

	nSeries := d.count("series count", 3)
	var prev uint64
	for i := 0; i < nSeries && d.err == nil; i++ {
		off := d.off
		delta := d.uvarint("series id")
		key := d.bytes("series key", storage.MaxSeriesKeyLen)
		if d.err != nil {
			break
		}
		if (i > 0 && delta == 0) || delta > ^prev {
			d.off = off
			d.fail("series %d: ids not strictly ascending", i)
			break
		}
		id := storage.SeriesID(prev + delta)
		prev = uint64(id)
		if id.AutoInc() == 0 || id.AutoInc() >= s.next {
			d.off = off
			d.fail("series %d: counter got %d; want 1..%d", i, id.AutoInc(), s.next-1)
			break
		}
		if h := storage.HashSeriesKey(key); h != id.Hash24() {
			d.off = off
			d.fail("series %d: key hash got %#x; want %#x", i, h, id.Hash24())
			break
		}
		if _, dup := s.lookup(key); dup {
			d.off = off
			d.fail("series %d: duplicate key", i)
			break
		}
		if _, ok := keyTable(string(key)); !ok {
			d.off = off
			d.fail("series %d: bad key", i)
			break
		}
		h := id.Hash24()
		s.hash[h] = append(s.hash[h], hashEntry{key: string(key), id: id})
		s.n++
	}

	nTables := d.count("table count", 4)
	inTables := 0
	var prevTable string
	for i := 0; i < nTables && d.err == nil; i++ {
		off := d.off
		name := string(d.bytes("table name", storage.MaxSeriesKeyLen))
		if d.err == nil && (name == "" || (i > 0 && name <= prevTable)) {
			d.off = off
			d.fail("table %q: names empty or not ascending", name)
		}
		prevTable = name
		t := &tableIndex{tags: make(map[string]*tagIndex)}
		off = d.off
		t.all.ids = d.postings("table postings")
		t.all.sorted = len(t.all.ids)
		for _, id := range t.all.ids {
			if d.err != nil {
				break
			}
			key, ok := s.keyOf(id)
			if !ok {
				d.off = off
				d.fail("table %q: unknown series %#x", name, uint64(id))
				break
			}
			if kt, _ := keyTable(key); kt != name {
				d.off = off
				d.fail("table %q: series %#x belongs to table %q", name, uint64(id), kt)
			}
		}
		inTables += len(t.all.ids)
		nTags := d.count("tag key count", 4)
		var prevTag string
		for j := 0; j < nTags && d.err == nil; j++ {
			off := d.off
			tag := string(d.bytes("tag key", storage.MaxSeriesKeyLen))
			if d.err == nil && (tag == "" || (j > 0 && tag <= prevTag)) {
				d.off = off
				d.fail("tag key %q: empty or not ascending", tag)
			}
			prevTag = tag
			nValues := d.count("tag value count", 3)
			if d.err == nil && nValues == 0 {
				d.fail("tag key %q: no values", tag)
			}
			ti := &tagIndex{values: make(map[string]*postings, nValues), keys: make([]string, 0, nValues)}
			for k := 0; k < nValues && d.err == nil; k++ {
				off := d.off
				if d.off >= len(d.src) {
					d.fail("tag %q value %d: missing type", tag, k)
					break
				}
				typ := storage.FieldType(d.src[d.off])
				d.off++
				raw := d.bytes("tag value", storage.MaxSeriesKeyLen)
				if d.err != nil {
					break
				}
				vk := string(appendValueKey(nil, storage.TagValue{Type: typ, Raw: raw}))
				if !typ.Valid() || (k > 0 && vk <= ti.keys[k-1]) {
					d.off = off
					d.fail("tag %q value %d: invalid type %#02x or values not ascending", tag, k, uint8(typ))
					break
				}
				off = d.off
				ids := d.postings("tag value postings")
				for _, id := range ids {
					if _, ok := slices.BinarySearch(t.all.ids, id); !ok {
						d.off = off
						d.fail("tag %q value %d: series %#x not in table %q", tag, k, uint64(id), name)
						break
					}
				}
				ti.keys = append(ti.keys, vk)
				ti.values[vk] = &postings{ids: ids, sorted: len(ids)}
			}
			t.tags[tag] = ti
		}
		s.tables[name] = t
	}
	if d.err == nil && inTables != s.n {
		d.fail("tables hold %d series; want %d", inTables, s.n)
	}
	if d.err == nil && d.off != len(src) {
		d.fail("%d trailing bytes", len(src)-d.off)
	}
	if d.err != nil {
		return nil, 0, d.err
	}
	return s, nextGen, nil
}
