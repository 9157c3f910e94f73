package tsm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/tsm/codec"
)

// EncodeBlock appends one encoded block (FORMAT.md, "Block") of the given points to dst and returns it
// with the block's meta: Size, times, version and seq ranges and Agg are set, Offset is left 0.
// All slices must have the same length 1..MaxBlockPoints and times must be strictly increasing.
func EncodeBlock(dst []byte, times []int64, vals *storage.Values, versions, seqs []uint64) ([]byte, BlockMeta, error) {
	var e blockEncoder
	return e.appendBlock(dst, times, vals, versions, seqs)
}

// blockEncoder keeps scratch space between blocks so encoding does not allocate. With a table
// (a Writer's), blocks whose versions or seqs differ store ids into it.
type blockEncoder struct {
	scratch []byte
	sums    []byte
	runs    [][2]int
	ids     []uint64
	table   *tableBuilder
}

func (e *blockEncoder) appendBlock(dst []byte, times []int64, vals *storage.Values, versions, seqs []uint64) ([]byte, BlockMeta, error) {
	var m BlockMeta
	n := len(times)
	if n == 0 || n > MaxBlockPoints {
		return dst, m, fmt.Errorf("encode block: got %d points; want 1..%d", n, MaxBlockPoints)
	}
	class := vals.Type.Class()
	if class == storage.ClassInvalid {
		return dst, m, fmt.Errorf("encode block: invalid field type %#x", uint8(vals.Type))
	}
	if vals.Len() != n || len(versions) != n || len(seqs) != n {
		return dst, m, fmt.Errorf("encode block: got %d values, %d versions, %d seqs; want %d each",
			vals.Len(), len(versions), len(seqs), n)
	}
	implied := true
	for i := 1; i < n; i++ {
		if times[i] <= times[i-1] {
			return dst, m, fmt.Errorf("encode block: time %d at %d not after %d", times[i], i, times[i-1])
		}
		if uint64(times[i])-uint64(times[i-1]) != uint64(times[1])-uint64(times[0]) {
			implied = false
		}
	}
	m.MinTime, m.MaxTime = times[0], times[n-1]
	m.MinVersion, m.MaxVersion = minMax(versions)
	m.MinSeq, m.MaxSeq = minMax(seqs)
	m.Agg = computeAgg(vals)
	m.timesImplied = implied

	start := len(dst)
	flags := byte(class-1) << blockClassShift
	if implied {
		flags |= blockTimesImplied
	}
	if m.MinVersion == m.MaxVersion {
		flags |= blockVersionsConst
	}
	if m.MinSeq == m.MaxSeq {
		flags |= blockSeqsConst
	}
	byID := false
	if e.table != nil && flags&(blockVersionsConst|blockSeqsConst) != blockVersionsConst|blockSeqsConst {
		e.ids, byID = e.table.idsFor(e.ids[:0], versions, seqs)
	}
	if byID {
		flags = flags&^(blockVersionsConst|blockSeqsConst) | blockVersionsByID
	}
	e.runs = hourRuns(e.runs[:0], times)
	e.sums, m.hourSums = appendHourSums(e.sums[:0], e.runs, vals, &m.Agg)
	if m.hourSums {
		flags |= blockHourSums
	}
	dst = append(dst, flags)
	if !implied {
		e.scratch = codec.EncodeTimestamps(e.scratch[:0], times)
		dst = appendSection(dst, e.scratch)
	}
	if m.hourSums {
		dst = appendSection(dst, e.sums)
	}
	if byID {
		e.scratch = codec.EncodeUints(e.scratch[:0], e.ids)
		dst = appendSection(dst, e.scratch)
	} else {
		if flags&blockVersionsConst == 0 {
			e.scratch = codec.EncodeUints(e.scratch[:0], versions)
			dst = appendSection(dst, e.scratch)
		}
		if flags&blockSeqsConst == 0 {
			e.scratch = codec.EncodeUints(e.scratch[:0], seqs)
			dst = appendSection(dst, e.scratch)
		}
	}
	switch class {
	case storage.ClassFloat:
		dst = codec.EncodeFloats(dst, vals.Floats)
	case storage.ClassInt:
		dst = codec.EncodeInts(dst, vals.Ints)
	case storage.ClassBool:
		dst = codec.EncodeBools(dst, vals.Bools)
	case storage.ClassBytes:
		dst = codec.EncodeBytes(dst, vals.Bytes)
	}
	dst = binary.BigEndian.AppendUint32(dst, checksum(dst[start:]))
	size := len(dst) - start
	if size > 1<<32-1 {
		return dst[:start], m, fmt.Errorf("encode block: got %d bytes; want < 4 GiB", size)
	}
	m.Size = uint32(size)
	return dst, m, nil
}

func appendSection(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

func minMax(x []uint64) (lo, hi uint64) {
	lo, hi = x[0], x[0]
	for _, v := range x[1:] {
		lo = min(lo, v)
		hi = max(hi, v)
	}
	return lo, hi
}

// DecodeBlock decodes a whole block (raw is Size bytes including its CRC32) of a key of type typ into
// dst, reusing dst's slices. It checks the CRC and that the content matches m. A block that stores
// version ids (format 3) needs its file's version table: read it with Reader.ReadBlock.
func DecodeBlock(m BlockMeta, typ storage.FieldType, raw []byte, dst *Block) error {
	return decodeBlock(m, typ, raw, dst, nil, false)
}

// DecodeBlockValues is DecodeBlock without the versions and seqs: dst.Versions and dst.Seqs are
// left empty. Readers that do not merge overlapping data (no last-write-wins to decide) use it.
func DecodeBlockValues(m BlockMeta, typ storage.FieldType, raw []byte, dst *Block) error {
	return decodeBlock(m, typ, raw, dst, nil, true)
}

// decodeBlock is DecodeBlock with the file's version table (nil before format 3).
func decodeBlock(m BlockMeta, typ storage.FieldType, raw []byte, dst *Block, tab *versionTable, noVersions bool) error {
	body, err := checkBlockCRC(m, raw)
	if err != nil {
		return err
	}
	return decodeBlockBodyOpts(&m, typ, body, dst, false, noVersions, tab)
}

var errBlockCRC = errors.New("block checksum mismatch")

// checkBlockCRC verifies raw's trailing CRC32 and returns the body before it.
func checkBlockCRC(m BlockMeta, raw []byte) ([]byte, error) {
	if uint64(len(raw)) != uint64(m.Size) {
		return nil, fmt.Errorf("block size: got %d bytes; want %d", len(raw), m.Size)
	}
	if len(raw) < minBlockSize {
		return nil, fmt.Errorf("block size: got %d bytes; want >= %d", len(raw), minBlockSize)
	}
	body := raw[:len(raw)-crcSize]
	if got, want := checksum(body), binary.BigEndian.Uint32(raw[len(body):]); got != want {
		return nil, fmt.Errorf("%w: got %#08x; want %#08x", errBlockCRC, got, want)
	}
	return body, nil
}

// checkMeta validates the parts of a block meta that decoding relies on.
func checkMeta(m *BlockMeta) error {
	if m.Agg.Count == 0 || m.Agg.Count > MaxBlockPoints {
		return fmt.Errorf("block count: got %d; want 1..%d", m.Agg.Count, MaxBlockPoints)
	}
	if m.MinTime > m.MaxTime {
		return fmt.Errorf("block time range: got [%d, %d]", m.MinTime, m.MaxTime)
	}
	if m.Agg.Count == 1 && m.MinTime != m.MaxTime {
		return fmt.Errorf("block time range: got [%d, %d] for one point", m.MinTime, m.MaxTime)
	}
	if m.MinVersion > m.MaxVersion || m.MinSeq > m.MaxSeq {
		return fmt.Errorf("block version/seq range: got [%d, %d] [%d, %d]", m.MinVersion, m.MaxVersion, m.MinSeq, m.MaxSeq)
	}
	return nil
}

// decodeBlockBody decodes a block body (without its CRC). With timesOnly only dst.Times is filled.
func decodeBlockBody(m *BlockMeta, typ storage.FieldType, body []byte, dst *Block, timesOnly bool) error {
	return decodeBlockBodyOpts(m, typ, body, dst, timesOnly, false, nil)
}

// decodeBlockBodyOpts is decodeBlockBody; with noVersions the version and seq columns are skipped.
// tab is the file's version table (nil before format 3, where blocks cannot use ids).
func decodeBlockBodyOpts(m *BlockMeta, typ storage.FieldType, body []byte, dst *Block, timesOnly, noVersions bool, tab *versionTable) error {
	if err := checkMeta(m); err != nil {
		return err
	}
	class := typ.Class()
	if class == storage.ClassInvalid && !timesOnly {
		return fmt.Errorf("block: invalid field type %#x", uint8(typ))
	}
	n := int(m.Agg.Count)
	if len(body) < 1 {
		return fmt.Errorf("block flags: %w", errShort)
	}
	flags := body[0]
	if flags&^blockKnownFlags != 0 {
		return fmt.Errorf("block flags %#02x: unknown bits", flags)
	}
	if got := blockClass(flags); got != class && !timesOnly {
		return fmt.Errorf("block value class: got %d; want %d", got, class)
	}
	if flags&blockVersionsByID != 0 && flags&(blockVersionsConst|blockSeqsConst) != 0 {
		return fmt.Errorf("block flags %#02x: version ids with a constant column", flags)
	}
	if m.timesImplied && flags&blockTimesImplied == 0 {
		return errors.New("block times: index says implied, block stores them")
	}
	d := decoder{b: body, pos: 1}
	var err error

	// Timestamps.
	if flags&blockTimesImplied != 0 {
		dst.Times, err = impliedTimes(dst.Times[:0], m)
	} else {
		dst.Times, err = decodeColumn(dst.Times[:0], d.section(), n, codec.DecodeTimestamps)
		if err == nil {
			err = checkTimes(dst.Times, m)
		}
	}
	if err = firstErr(d.err, err); err != nil {
		return fmt.Errorf("block times: %w", err)
	}
	if m.hourSums != (flags&blockHourSums != 0) {
		return fmt.Errorf("block hour sums: index says %t, block flags %#02x", m.hourSums, flags)
	}
	if flags&blockHourSums != 0 {
		if d.section(); d.err != nil {
			return fmt.Errorf("block hour sums: %w", d.err)
		}
	}
	if timesOnly {
		return nil
	}

	// Versions and seqs.
	if flags&blockVersionsByID != 0 {
		if tab == nil {
			return errors.New("block versions: ids, but the file has no version table")
		}
		src := d.section()
		if d.err != nil {
			return fmt.Errorf("block version ids: %w", d.err)
		}
		dst.Versions, dst.Seqs = dst.Versions[:0], dst.Seqs[:0]
		if !noVersions {
			if dst.Seqs, err = decodeColumn(dst.Seqs, src, n, codec.DecodeUints); err == nil {
				dst.Versions, err = idsToPairs(tab, m, dst.Seqs, dst.Versions)
			}
			if err != nil {
				return fmt.Errorf("block version ids: %w", err)
			}
		}
	} else if noVersions {
		dst.Versions, dst.Seqs = dst.Versions[:0], dst.Seqs[:0]
		if flags&blockVersionsConst == 0 {
			d.section()
		}
		if flags&blockSeqsConst == 0 {
			d.section()
		}
		if d.err != nil {
			return fmt.Errorf("block versions: %w", d.err)
		}
	} else {
		dst.Versions, err = decodeUintColumn(&d, dst.Versions[:0], flags&blockVersionsConst != 0, m.MinVersion, m.MaxVersion, n)
		if err != nil {
			return fmt.Errorf("block versions: %w", err)
		}
		dst.Seqs, err = decodeUintColumn(&d, dst.Seqs[:0], flags&blockSeqsConst != 0, m.MinSeq, m.MaxSeq, n)
		if err != nil {
			return fmt.Errorf("block seqs: %w", err)
		}
	}

	// Values: the rest of the body.
	vb := body[d.pos:]
	v := &dst.Values
	v.Type = typ
	v.Reset()
	switch class {
	case storage.ClassFloat:
		v.Floats, err = decodeColumn(v.Floats, vb, n, codec.DecodeFloats)
	case storage.ClassInt:
		v.Ints, err = decodeColumn(v.Ints, vb, n, codec.DecodeInts)
	case storage.ClassBool:
		v.Bools, err = decodeColumn(v.Bools, vb, n, codec.DecodeBools)
	case storage.ClassBytes:
		clear(v.Bytes[:cap(v.Bytes)]) // drop references to the previous block's values
		v.Bytes, err = decodeColumn(v.Bytes, vb, n, codec.DecodeBytes)
	}
	if err != nil {
		return fmt.Errorf("block values: %w", err)
	}
	return nil
}

func firstErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// section reads uvarint(len) and that many bytes.
func (d *decoder) section() []byte {
	return d.bytes(d.uvarint())
}

// decodeColumn checks the column's count before decoding it, so a bad block cannot make the codec
// allocate more than n values.
func decodeColumn[T any](dst []T, src []byte, n int, dec func([]T, []byte) ([]T, error)) ([]T, error) {
	c, err := codec.Count(src)
	if err != nil {
		return dst, err
	}
	if c != n {
		return dst, fmt.Errorf("column count: got %d; want %d", c, n)
	}
	l := len(dst)
	dst, err = dec(dst, src)
	if err != nil {
		return dst, err
	}
	if len(dst)-l != n {
		return dst, fmt.Errorf("column decoded: got %d values; want %d", len(dst)-l, n)
	}
	return dst, nil
}

func decodeUintColumn(d *decoder, dst []uint64, isConst bool, lo, hi uint64, n int) ([]uint64, error) {
	if isConst {
		if lo != hi {
			return dst, fmt.Errorf("constant column: meta range [%d, %d] not a single value", lo, hi)
		}
		dst = slices.Grow(dst, n)[:n]
		for i := range dst {
			dst[i] = lo
		}
		return dst, nil
	}
	src := d.section()
	if d.err != nil {
		return dst, d.err
	}
	dst, err := decodeColumn(dst, src, n, codec.DecodeUints)
	if err != nil {
		return dst, err
	}
	for _, x := range dst {
		if x < lo || x > hi {
			return dst, fmt.Errorf("value %d outside meta range [%d, %d]", x, lo, hi)
		}
	}
	return dst, nil
}

// impliedTimes appends the Count timestamps evenly spaced from MinTime to MaxTime.
func impliedTimes(dst []int64, m *BlockMeta) ([]int64, error) {
	n := int(m.Agg.Count)
	span := uint64(m.MaxTime) - uint64(m.MinTime)
	var step uint64
	if n > 1 {
		step = span / uint64(n-1)
		if step == 0 || step*uint64(n-1) != span {
			return dst, fmt.Errorf("implied times: span %d not divisible into %d steps", span, n-1)
		}
	}
	dst = slices.Grow(dst, n)
	t := m.MinTime
	for i := 0; i < n; i++ {
		dst = append(dst, t)
		t = int64(uint64(t) + step)
	}
	return dst, nil
}

func checkTimes(t []int64, m *BlockMeta) error {
	if t[0] != m.MinTime || t[len(t)-1] != m.MaxTime {
		return fmt.Errorf("time range: got [%d, %d]; want [%d, %d]", t[0], t[len(t)-1], m.MinTime, m.MaxTime)
	}
	for i := 1; i < len(t); i++ {
		if t[i] <= t[i-1] {
			return fmt.Errorf("time %d at %d not after %d", t[i], i, t[i-1])
		}
	}
	return nil
}

// blockClass is the value class recorded in a block's flags.
func blockClass(flags byte) storage.Class {
	return storage.Class(flags&blockClassMask)>>blockClassShift + 1
}
