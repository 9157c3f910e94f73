package tsm

import (
	"bytes"
	"fmt"
	"math"
	"math/bits"
	"sort"

	"github.com/chronogo/chronogo/storage"
)

// indexEncoder encodes key entries incrementally (FORMAT.md, "Index"). Deltas chain through the
// previous key and the previous block in file order, so entries must be appended in file order.
type indexEncoder struct {
	fields     []string
	fieldIdx   map[string]uint64
	keys       []byte // encoded key entries, without the leading count
	nkeys      int
	prevSeries uint64
	prevKeyMin int64     // MinTime of the previous key's first block
	prev       BlockMeta // previous block in file order
}

func (e *indexEncoder) fieldIndex(name string) uint64 {
	if i, ok := e.fieldIdx[name]; ok {
		return i
	}
	if e.fieldIdx == nil {
		e.fieldIdx = make(map[string]uint64)
	}
	i := uint64(len(e.fields))
	e.fields = append(e.fields, name)
	e.fieldIdx[name] = i
	return i
}

// addEntry appends one key with its blocks (at least one, in file order).
func (e *indexEncoder) addEntry(k Key, blocks []BlockMeta) {
	b := e.keys
	b = appendUvarint(b, uint64(k.Series)-e.prevSeries)
	b = appendUvarint(b, e.fieldIndex(k.Field))
	b = append(b, byte(k.Type))
	b = appendUvarint(b, uint64(len(blocks)))
	class := k.Type.Class()
	var prevIntMin int64
	for i := range blocks {
		m := &blocks[i]
		p := &e.prev
		dur := uint64(m.MaxTime) - uint64(m.MinTime)
		var flags byte
		if m.Agg.Count == fullBlockPoints {
			flags |= metaFull
		}
		if dur == uint64(p.MaxTime)-uint64(p.MinTime) {
			flags |= metaSameDur
		}
		if m.MinVersion == p.MinVersion && m.MaxVersion == p.MaxVersion {
			flags |= metaSameVersions
		}
		if m.MinSeq == p.MinSeq && m.MaxSeq == p.MaxSeq {
			flags |= metaSameSeqs
		}
		if m.Agg.SumOverflow && class == storage.ClassInt {
			flags |= metaSumOverflow
		}
		if m.timesImplied {
			flags |= metaTimesImplied
		}
		if m.hourSums {
			flags |= metaHourSums
		}
		b = append(b, flags)
		if flags&metaFull == 0 {
			b = appendUvarint(b, uint64(m.Agg.Count))
		}
		b = appendUvarint(b, uint64(m.Size))
		if i == 0 {
			b = appendVarint(b, int64(uint64(m.MinTime)-uint64(e.prevKeyMin)))
			e.prevKeyMin = m.MinTime
		} else {
			b = appendDecUvarint(b, uint64(m.MinTime)-uint64(p.MaxTime))
		}
		if flags&metaSameDur == 0 {
			b = appendDecUvarint(b, dur)
		}
		if flags&metaSameVersions == 0 {
			b = appendVarint(b, int64(m.MinVersion-p.MinVersion))
			b = appendUvarint(b, m.MaxVersion-m.MinVersion)
		}
		if flags&metaSameSeqs == 0 {
			b = appendVarint(b, int64(m.MinSeq-p.MinSeq))
			b = appendUvarint(b, m.MaxSeq-m.MinSeq)
		}
		a := &m.Agg
		switch class {
		case storage.ClassInt:
			b = appendVarint(b, int64(uint64(a.Min)-uint64(prevIntMin)))
			b = appendUvarint(b, uint64(a.Max)-uint64(a.Min))
			b = appendUvarint(b, uint64(a.First)-uint64(a.Min))
			b = appendUvarint(b, uint64(a.Last)-uint64(a.Min))
			b = appendVarint(b, a.Sum)
			prevIntMin = a.Min
		case storage.ClassFloat:
			for _, f := range [...]float64{a.FSum(), a.FMin(), a.FMax(), a.FFirst(), a.FLast()} {
				b = appendUvarint(b, bits.ReverseBytes64(math.Float64bits(f)))
			}
		case storage.ClassBool:
			b = appendUvarint(b, uint64(a.Sum))
			b = append(b, byte(a.First&1|(a.Last&1)<<1))
		}
		e.prev = *m
	}
	e.keys = b
	e.nkeys++
	e.prevSeries = uint64(k.Series)
}

// appendIndex appends the index payload: the field name table, then the key count and the entries.
func (e *indexEncoder) appendIndex(dst []byte) []byte {
	dst = appendUvarint(dst, uint64(len(e.fields)))
	for _, f := range e.fields {
		dst = appendUvarint(dst, uint64(len(f)))
		dst = append(dst, f...)
	}
	dst = appendUvarint(dst, uint64(e.nkeys))
	return append(dst, e.keys...)
}

// minKeySize and minMetaSize bound counts by the bytes that remain: a key entry takes at least
// series(1) field(1) type(1) nblocks(1), a block meta at least flags(1) size(1) min time(1).
const (
	minKeySize  = 4
	minMetaSize = 3
)

// decodeIndex checks an index payload (without its CRC) and returns what a Reader keeps of it (see
// fileIndex), calling onBlock (if not nil) with each block meta. Block offsets start at HeaderSize
// and follow from the sizes; every block must end by blocksEnd, and together they must fill
// [HeaderSize, blocksEnd). Blocks hold at most maxPoints points (blockLimit of the file's version).
// It returns the position after the key entries, or on error where decoding failed.
func decodeIndex(b []byte, blocksEnd int64, maxPoints uint64, onBlock func(*BlockMeta)) (ix *fileIndex, pos int, err error) {
	d := decoder{b: b}
	ix, err = decodeIndexFrom(&d, blocksEnd, maxPoints, onBlock)
	if err == nil {
		err = d.err
	}
	if err != nil {
		return nil, d.pos, err
	}
	return ix, d.pos, nil
}

// blockLimit is the most points a block of a file of the given version may hold.
func blockLimit(version byte) uint64 {
	if version >= FormatV4 {
		return MaxBlockPoints
	}
	return fullBlockPoints
}

// fileIndex is the index as an open Reader holds it: the key entries in their encoded form, and
// for each series where its keys start with the decoder's state there. Entries are decoded when
// asked for (a series' keys at a time), so an open file costs about its index bytes instead of
// 112 bytes per block meta: tens of MB for the small-block files of a load in progress.
type fileIndex struct {
	fields    []string
	raw       []byte // the key entries
	series    []seriesStart
	nkeys     int
	blocksEnd int64
	maxPoints uint64
}

// seriesStart locates the keys of one series in fileIndex.raw.
type seriesStart struct {
	id    storage.SeriesID
	pos   int // in raw
	first int // the index of its first key in the file
	nkeys int
	st    metaState // before its first key
}

// metaState is the delta state of the block-meta decoder between keys (FORMAT.md "Block meta").
type metaState struct {
	prevSeries             uint64
	prevKeyMin             int64
	prevMax                int64  // the previous block's MaxTime (file order)
	prevDur                uint64 // and its MaxTime - MinTime
	minVersion, maxVersion uint64
	minSeq, maxSeq         uint64
	offset                 int64 // of the next block
}

func decodeIndexFrom(d *decoder, blocksEnd int64, maxPoints uint64, onBlock func(*BlockMeta)) (*fileIndex, error) {
	nfields := d.uvarint()
	if nfields > uint64(d.remaining()) {
		return nil, fmt.Errorf("index field count: got %d; want <= %d", nfields, d.remaining())
	}
	fields := make([]string, nfields)
	for i := range fields {
		l := d.uvarint()
		if l > storage.MaxFieldNameLen {
			return nil, fmt.Errorf("index field name %d: got %d bytes; want <= %d", i, l, storage.MaxFieldNameLen)
		}
		fields[i] = string(d.bytes(l))
	}
	nkeys := d.uvarint()
	if d.err != nil {
		return nil, d.err
	}
	if nkeys > uint64(d.remaining()/minKeySize) {
		return nil, fmt.Errorf("index key count: got %d; want <= %d", nkeys, d.remaining()/minKeySize)
	}
	ix := &fileIndex{fields: fields, nkeys: int(nkeys), blocksEnd: blocksEnd, maxPoints: maxPoints}
	start := d.pos
	st := metaState{offset: HeaderSize}
	var prevKey Key
	var metas []BlockMeta
	for ki := 0; ki < int(nkeys); ki++ {
		before, pos := st, d.pos
		var k Key
		var err error
		k, metas, err = st.decodeKey(d, ix, ki, metas[:0])
		if err != nil {
			return nil, err
		}
		if ki > 0 && CompareKeys(prevKey, k) >= 0 {
			return nil, fmt.Errorf("key %d: %v not after %v", ki, k, prevKey)
		}
		if ki == 0 || k.Series != prevKey.Series {
			ix.series = append(ix.series, seriesStart{id: k.Series, pos: pos - start, first: ki, st: before})
		}
		ix.series[len(ix.series)-1].nkeys++
		if onBlock != nil {
			for i := range metas {
				onBlock(&metas[i])
			}
		}
		prevKey = k
	}
	if st.offset != blocksEnd {
		return nil, fmt.Errorf("index blocks end at %d; want %d", st.offset, blocksEnd)
	}
	ix.raw = bytes.Clone(d.b[start:d.pos])
	return ix, nil
}

// decodeKey decodes key entry ki at d, appending its block metas to dst, and advances st.
func (st *metaState) decodeKey(d *decoder, ix *fileIndex, ki int, dst []BlockMeta) (Key, []BlockMeta, error) {
	nfields := uint64(len(ix.fields))
	delta := d.uvarint()
	series := st.prevSeries + delta
	fi := d.uvarint()
	typ := storage.FieldType(d.byte())
	nblocks := d.uvarint()
	if d.err != nil {
		return Key{}, dst, d.err
	}
	if series < st.prevSeries {
		return Key{}, dst, fmt.Errorf("key %d: series delta %d overflows", ki, delta)
	}
	if fi >= nfields {
		return Key{}, dst, fmt.Errorf("key %d: field index got %d; want < %d", ki, fi, nfields)
	}
	if !typ.Valid() {
		return Key{}, dst, fmt.Errorf("key %d: invalid field type %#x", ki, uint8(typ))
	}
	if nblocks == 0 || nblocks > uint64(d.remaining()/minMetaSize) {
		return Key{}, dst, fmt.Errorf("key %d: block count got %d; want 1..%d", ki, nblocks, d.remaining()/minMetaSize)
	}
	k := Key{Series: storage.SeriesID(series), Field: ix.fields[fi], Type: typ}
	class := typ.Class()
	var prevIntMin int64
	for bi := uint64(0); bi < nblocks; bi++ {
		var m BlockMeta
		flags := d.byte()
		if flags&^metaKnownFlags != 0 {
			return k, dst, fmt.Errorf("key %d block %d: meta flags %#02x: unknown bits", ki, bi, flags)
		}
		if flags&metaFull != 0 {
			m.Agg.Count = fullBlockPoints
		} else {
			c := d.uvarint()
			if c == 0 || c > ix.maxPoints {
				return k, dst, fmt.Errorf("key %d block %d: count got %d; want 1..%d", ki, bi, c, ix.maxPoints)
			}
			m.Agg.Count = uint32(c)
		}
		size := d.uvarint()
		if size < minBlockSize || size > uint64(ix.blocksEnd-st.offset) {
			return k, dst, fmt.Errorf("key %d block %d: size got %d; want %d..%d", ki, bi, size, minBlockSize, ix.blocksEnd-st.offset)
		}
		m.Offset, m.Size = st.offset, uint32(size)
		st.offset += int64(size)
		if bi == 0 {
			m.MinTime = int64(uint64(st.prevKeyMin) + uint64(d.varint()))
			st.prevKeyMin = m.MinTime
		} else {
			gap := d.decUvarint()
			m.MinTime = int64(uint64(st.prevMax) + gap)
			if gap == 0 || m.MinTime < st.prevMax {
				return k, dst, fmt.Errorf("key %d block %d: time gap %d after %d", ki, bi, gap, st.prevMax)
			}
		}
		dur := st.prevDur
		if flags&metaSameDur == 0 {
			dur = d.decUvarint()
		}
		m.MaxTime = int64(uint64(m.MinTime) + dur)
		if m.MaxTime < m.MinTime {
			return k, dst, fmt.Errorf("key %d block %d: duration %d overflows", ki, bi, dur)
		}
		m.MinVersion, m.MaxVersion = st.minVersion, st.maxVersion
		if flags&metaSameVersions == 0 {
			m.MinVersion = st.minVersion + uint64(d.varint())
			m.MaxVersion = m.MinVersion + d.uvarint()
		}
		m.MinSeq, m.MaxSeq = st.minSeq, st.maxSeq
		if flags&metaSameSeqs == 0 {
			m.MinSeq = st.minSeq + uint64(d.varint())
			m.MaxSeq = m.MinSeq + d.uvarint()
		}
		if flags&metaSumOverflow != 0 && class != storage.ClassInt {
			return k, dst, fmt.Errorf("key %d block %d: sum overflow flag on class %d", ki, bi, class)
		}
		if err := decodeAgg(d, &m.Agg, class, &prevIntMin); err != nil {
			return k, dst, fmt.Errorf("key %d block %d: %w", ki, bi, err)
		}
		m.Agg.SumOverflow = flags&metaSumOverflow != 0
		m.timesImplied = flags&metaTimesImplied != 0
		m.hourSums = flags&metaHourSums != 0
		if d.err != nil {
			return k, dst, fmt.Errorf("key %d block %d: %w", ki, bi, d.err)
		}
		if err := checkMeta(&m); err != nil {
			return k, dst, fmt.Errorf("key %d block %d: %w", ki, bi, err)
		}
		dst = append(dst, m)
		st.prevMax, st.prevDur = m.MaxTime, dur
		st.minVersion, st.maxVersion, st.minSeq, st.maxSeq = m.MinVersion, m.MaxVersion, m.MinSeq, m.MaxSeq
	}
	st.prevSeries = series
	return k, dst, nil
}

// appendSeries decodes the keys of series i, appending the entries to dst and their block metas
// to blocks (the entries' Blocks point into the returned blocks).
func (ix *fileIndex) appendSeries(i int, dst []Entry, blocks []BlockMeta) ([]Entry, []BlockMeta, error) {
	s := &ix.series[i]
	st := s.st
	d := decoder{b: ix.raw, pos: s.pos}
	first := len(dst)
	starts := make([]int, 0, 16)
	for ki := 0; ki < s.nkeys; ki++ {
		starts = append(starts, len(blocks))
		k, b, err := st.decodeKey(&d, ix, ki, blocks)
		if err != nil {
			return dst, blocks, err
		}
		blocks = b
		dst = append(dst, Entry{Key: k})
	}
	starts = append(starts, len(blocks))
	for j := first; j < len(dst); j++ {
		lo, hi := starts[j-first], starts[j-first+1]
		dst[j].Blocks = blocks[lo:hi:hi]
	}
	return dst, blocks, nil
}

// findSeries returns the position of series s in ix.series.
func (ix *fileIndex) findSeries(s storage.SeriesID) (int, bool) {
	i := sort.Search(len(ix.series), func(i int) bool { return ix.series[i].id >= s })
	return i, i < len(ix.series) && ix.series[i].id == s
}

func decodeAgg(d *decoder, a *Agg, class storage.Class, prevIntMin *int64) error {
	switch class {
	case storage.ClassInt:
		a.Min = int64(uint64(*prevIntMin) + uint64(d.varint()))
		span := d.uvarint()
		first, last := d.uvarint(), d.uvarint()
		a.Sum = d.varint()
		a.Max = int64(uint64(a.Min) + span)
		if a.Max < a.Min || first > span || last > span {
			return fmt.Errorf("int aggregates: min %d span %d first %d last %d out of range", a.Min, span, first, last)
		}
		a.First, a.Last = int64(uint64(a.Min)+first), int64(uint64(a.Min)+last)
		*prevIntMin = a.Min
	case storage.ClassFloat:
		for _, p := range [...]*int64{&a.Sum, &a.Min, &a.Max, &a.First, &a.Last} { // float bits
			*p = int64(bits.ReverseBytes64(d.uvarint()))
		}
	case storage.ClassBool:
		sum := d.uvarint()
		fl := d.byte()
		if sum > uint64(a.Count) || fl > 3 {
			return fmt.Errorf("bool aggregates: sum %d of %d, first/last %#x", sum, a.Count, fl)
		}
		a.Sum, a.First, a.Last = int64(sum), int64(fl&1), int64(fl>>1)
		a.Min, a.Max = boolMinMax(a.Sum, a.Count)
	}
	return nil
}
