package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Batch encoding (the payload of a WAL write record; docs/format/batch.md, docs/format/wal.md):
//
//	uvarint(version) uvarint(nseries) { series }
//	series: uvarint(len(key)) key uvarint(nrows) nrows × int64 LE times uvarint(nfields) { field }
//	field:  uvarint(len(name)) name type(1) hasRows(1) uvarint(nvalues)
//	        [nvalues uvarint deltas of row indexes if hasRows] values
//	values: double/int class: 8-byte LE each; bool: 1 byte each; bytes class: uvarint(len) bytes each
//
// Fixed widths keep encoding a memory copy: the WAL is written at millions of values per second.

// AppendBatch appends the encoding of b to dst.
func AppendBatch(dst []byte, b *Batch) []byte {
	dst = binary.AppendUvarint(dst, b.Version)
	dst = binary.AppendUvarint(dst, uint64(len(b.Series)))
	for si := range b.Series {
		s := &b.Series[si]
		dst = binary.AppendUvarint(dst, uint64(len(s.Key)))
		dst = append(dst, s.Key...)
		dst = binary.AppendUvarint(dst, uint64(len(s.Times)))
		for _, t := range s.Times {
			dst = binary.LittleEndian.AppendUint64(dst, uint64(t))
		}
		dst = binary.AppendUvarint(dst, uint64(len(s.Fields)))
		for ci := range s.Fields {
			c := &s.Fields[ci]
			dst = appendString(dst, c.Name)
			dst = append(dst, byte(c.Values.Type))
			n := c.Values.Len()
			if c.Rows == nil {
				dst = append(dst, 0)
			} else {
				dst = append(dst, 1)
			}
			dst = binary.AppendUvarint(dst, uint64(n))
			prev := uint32(0)
			for _, r := range c.Rows {
				dst = binary.AppendUvarint(dst, uint64(r-prev))
				prev = r
			}
			switch c.Values.Type.Class() {
			case ClassFloat:
				for _, f := range c.Values.Floats {
					dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(f))
				}
			case ClassInt:
				for _, v := range c.Values.Ints {
					dst = binary.LittleEndian.AppendUint64(dst, uint64(v))
				}
			case ClassBool:
				for _, v := range c.Values.Bools {
					if v {
						dst = append(dst, 1)
					} else {
						dst = append(dst, 0)
					}
				}
			case ClassBytes:
				for _, v := range c.Values.Bytes {
					dst = binary.AppendUvarint(dst, uint64(len(v)))
					dst = append(dst, v...)
				}
			}
		}
	}
	return dst
}

type batchDecoder struct {
	src []byte
	err error
}

func (d *batchDecoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := readUvarint(d.src)
	if n == 0 {
		d.err = errBatchShort
		return 0
	}
	if n < 0 {
		d.err = errors.New("batch: overflowing or overlong uvarint")
		return 0
	}
	d.src = d.src[n:]
	return v
}

// count reads a count of items that take at least minSize bytes each, bounded by what remains.
func (d *batchDecoder) count(minSize int) int {
	n := d.uvarint()
	if d.err == nil && n > uint64(len(d.src)/minSize) {
		d.err = fmt.Errorf("batch: count %d exceeds the %d bytes left", n, len(d.src))
		return 0
	}
	return int(n)
}

func (d *batchDecoder) bytes(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n > len(d.src) {
		d.err = errBatchShort
		return nil
	}
	b := d.src[:n:n]
	d.src = d.src[n:]
	return b
}

// DecodeBatch decodes a batch made by AppendBatch and validates it. Byte values and keys alias src.
func DecodeBatch(src []byte) (*Batch, error) {
	d := &batchDecoder{src: src}
	b := &Batch{Version: d.uvarint()}
	ns := d.count(3)
	b.Series = make([]SeriesRows, 0, ns)
	for i := 0; i < ns && d.err == nil; i++ {
		var s SeriesRows
		s.Key = d.bytes(d.count(1))
		nr := d.count(8)
		raw := d.bytes(nr * 8)
		if d.err != nil {
			break
		}
		s.Times = make([]int64, nr)
		for j := range s.Times {
			s.Times[j] = int64(binary.LittleEndian.Uint64(raw[j*8:]))
		}
		nf := d.count(4)
		s.Fields = make([]FieldColumn, 0, nf)
		for j := 0; j < nf && d.err == nil; j++ {
			var c FieldColumn
			c.Name = string(d.bytes(d.count(1)))
			hdr := d.bytes(2)
			if d.err != nil {
				break
			}
			c.Values.Type = FieldType(hdr[0])
			if hdr[1] > 1 {
				d.err = fmt.Errorf("batch: bad row flag %d", hdr[1])
				break
			}
			n := d.count(1)
			if hdr[1] == 1 {
				c.Rows = make([]uint32, n)
				prev := uint64(0)
				for k := range c.Rows {
					prev += d.uvarint()
					if prev > math.MaxUint32 {
						d.err = fmt.Errorf("batch: row index %d out of range", prev)
						break
					}
					c.Rows[k] = uint32(prev)
				}
				if d.err != nil {
					break
				}
			}
			switch c.Values.Type.Class() {
			case ClassFloat:
				raw := d.bytes(n * 8)
				if d.err == nil {
					c.Values.Floats = make([]float64, n)
					for k := range c.Values.Floats {
						c.Values.Floats[k] = math.Float64frombits(binary.LittleEndian.Uint64(raw[k*8:]))
					}
				}
			case ClassInt:
				raw := d.bytes(n * 8)
				if d.err == nil {
					c.Values.Ints = make([]int64, n)
					for k := range c.Values.Ints {
						c.Values.Ints[k] = int64(binary.LittleEndian.Uint64(raw[k*8:]))
					}
				}
			case ClassBool:
				raw := d.bytes(n)
				if d.err == nil {
					c.Values.Bools = make([]bool, n)
					for k, v := range raw {
						if v > 1 {
							d.err = fmt.Errorf("batch: bad bool byte %d", v)
						}
						c.Values.Bools[k] = v == 1
					}
				}
			case ClassBytes:
				c.Values.Bytes = make([][]byte, 0, n)
				for k := 0; k < n && d.err == nil; k++ {
					c.Values.Bytes = append(c.Values.Bytes, d.bytes(d.count(1)))
				}
			default:
				d.err = fmt.Errorf("batch: unsupported type %#02x", uint8(c.Values.Type))
			}
			s.Fields = append(s.Fields, c)
		}
		b.Series = append(b.Series, s)
	}
	if d.err != nil {
		return nil, d.err
	}
	if len(d.src) != 0 {
		return nil, fmt.Errorf("batch: %d trailing bytes", len(d.src))
	}
	if err := b.Validate(); err != nil {
		return nil, err
	}
	return b, nil
}
