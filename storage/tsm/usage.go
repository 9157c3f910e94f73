package tsm

import (
	"encoding/binary"
	"fmt"
)

// Usage splits a file's bytes by what they store, for reports of where the disk goes
// (chronogo inspect reportdisk). Every byte of the file is in exactly one field.
type Usage struct {
	Points, Blocks int64
	Times          int64 // timestamp columns (absent when implied)
	Versions       int64 // version ids, or version and seq columns, with their length prefixes
	Values         int64 // value columns
	HourSums       int64 // hour-sums sections with their length prefixes (format 5)
	BlockOverhead  int64 // flags bytes, CRCs and the length prefixes of time columns
	Index          int64 // header, index (with the version and series-key tables), bloom filter, footer
}

// Total is the file's size.
func (u Usage) Total() int64 {
	return u.Times + u.Versions + u.Values + u.HourSums + u.BlockOverhead + u.Index
}

// Add sums usages.
func (u *Usage) Add(o Usage) {
	u.Points += o.Points
	u.Blocks += o.Blocks
	u.Times += o.Times
	u.Versions += o.Versions
	u.Values += o.Values
	u.HourSums += o.HourSums
	u.BlockOverhead += o.BlockOverhead
	u.Index += o.Index
}

// Usage reads every block (checking its CRC) and splits the file's bytes.
func (r *Reader) Usage() (Usage, error) {
	var u Usage
	var blocks int64
	for _, e := range r.Entries() {
		for _, m := range e.Blocks {
			raw, err := r.ReadRawBlock(m)
			if err != nil {
				return u, err
			}
			if err := splitBlock(&u, raw); err != nil {
				return u, corrupt(r.path, m.Offset, err)
			}
			u.Points += int64(m.Agg.Count)
			u.Blocks++
			blocks += int64(len(raw))
		}
	}
	u.Index = r.info.Size - blocks
	return u, nil
}

// splitBlock adds one raw block's sections to u.
func splitBlock(u *Usage, raw []byte) error {
	flags := raw[0]
	pos := 1
	section := func() (head, body int, err error) {
		n, k := binary.Uvarint(raw[pos:])
		if k <= 0 || n > uint64(len(raw)-crcSize-pos-k) {
			return 0, 0, fmt.Errorf("block section at %d: bad length", pos)
		}
		pos += k + int(n)
		return k, int(n), nil
	}
	u.BlockOverhead += 1 + crcSize
	if flags&blockTimesImplied == 0 {
		h, b, err := section()
		if err != nil {
			return err
		}
		u.BlockOverhead += int64(h)
		u.Times += int64(b)
	}
	if flags&blockHourSums != 0 {
		h, b, err := section()
		if err != nil {
			return err
		}
		u.HourSums += int64(h + b)
	}
	var versionSections []byte
	switch {
	case flags&blockVersionsByID != 0:
		versionSections = []byte{blockVersionsByID}
	default:
		for _, f := range []byte{blockVersionsConst, blockSeqsConst} {
			if flags&f == 0 {
				versionSections = append(versionSections, f)
			}
		}
	}
	for range versionSections {
		h, b, err := section()
		if err != nil {
			return err
		}
		u.Versions += int64(h + b)
	}
	u.Values += int64(len(raw) - crcSize - pos)
	return nil
}
