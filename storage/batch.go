package storage

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Batch is one write to a vnode: rows of several series sharing one caller-supplied version.
// The version decides last-write-wins: the visible value for (series, field, type, time) is the one
// with the highest (version, seq_no); seq_no is assigned by the vnode per batch.
type Batch struct {
	Version uint64
	Series  []SeriesRows
}

// SeriesRows are the rows of one series, column by column.
type SeriesRows struct {
	Key    []byte  // encoded, normalized SeriesKey (SeriesKey.Marshal after Normalize)
	Times  []int64 // one timestamp (ns) per row, any order, duplicates allowed (the later row wins)
	Fields []FieldColumn
}

// FieldColumn holds the values of one field of one type. A field holding several types in one
// batch appears once per type.
type FieldColumn struct {
	Name   string
	Rows   []uint32 // row index (into Times) of each value, strictly ascending; nil means every row
	Values Values
}

// RowAt is the row index of value i.
func (c *FieldColumn) RowAt(i int) int {
	if c.Rows == nil {
		return i
	}
	return int(c.Rows[i])
}

// Limits that keep a malformed batch from exhausting memory.
const (
	MaxFieldNameLen = 1024
	MaxValueLen     = 16 << 20
)

// Validate checks the batch's structure; a batch that passes can be applied without further checks.
func (b *Batch) Validate() error {
	if err := b.validate(); err != nil {
		return &InvalidBatchError{Err: err}
	}
	return nil
}

// MinTime and MaxTime bound the row timestamps that clients may write (CheckTimes): the int64
// nanosecond range less 30 days at each end, so that no bucket (days to weeks long) around a row
// overflows int64. As dates: 1677-10-21T00:12:43.145224192Z and 2262-03-12T23:47:16.854775807Z.
// The engine itself stores any int64 time.
const (
	MinTime = math.MinInt64 + 30*24*3600*1_000_000_000
	MaxTime = math.MaxInt64 - 30*24*3600*1_000_000_000
)

type fieldKey struct {
	name string
	typ  FieldType
}

func (b *Batch) validate() error {
	for si := range b.Series {
		s := &b.Series[si]
		if err := CheckSeriesKey(s.Key); err != nil {
			return fmt.Errorf("series %d: %w", si, err)
		}
		if len(s.Times) == 0 {
			return fmt.Errorf("series %d: no rows", si)
		}
		var seen map[fieldKey]struct{} // for many fields: linear, not quadratic, duplicate check
		if len(s.Fields) > 32 {
			seen = make(map[fieldKey]struct{}, len(s.Fields))
		}
		for ci := range s.Fields {
			c := &s.Fields[ci]
			if c.Name == "" || len(c.Name) > MaxFieldNameLen {
				return fmt.Errorf("series %d field %d: name length %d out of range", si, ci, len(c.Name))
			}
			if !c.Values.Type.Valid() {
				return fmt.Errorf("series %d field %q: unsupported type %#02x", si, c.Name, uint8(c.Values.Type))
			}
			n := c.Values.Len()
			if c.Rows == nil {
				if n != len(s.Times) {
					return fmt.Errorf("series %d field %q: got %d values; want %d", si, c.Name, n, len(s.Times))
				}
			} else {
				if len(c.Rows) != n {
					return fmt.Errorf("series %d field %q: got %d row indexes for %d values", si, c.Name, len(c.Rows), n)
				}
				for i, r := range c.Rows {
					if int(r) >= len(s.Times) || (i > 0 && r <= c.Rows[i-1]) {
						return fmt.Errorf("series %d field %q: bad row index %d at %d", si, c.Name, r, i)
					}
				}
			}
			if c.Values.Type.Class() == ClassBytes {
				for _, v := range c.Values.Bytes {
					if len(v) > MaxValueLen {
						return fmt.Errorf("series %d field %q: value of %d bytes too long", si, c.Name, len(v))
					}
				}
			}
			if seen == nil { // few fields: compare with the earlier ones
				for cj := 0; cj < ci; cj++ {
					if s.Fields[cj].Name == c.Name && s.Fields[cj].Values.Type == c.Values.Type {
						return fmt.Errorf("series %d: field %q type %#02x appears twice", si, c.Name, uint8(c.Values.Type))
					}
				}
			} else if _, dup := seen[fieldKey{c.Name, c.Values.Type}]; dup {
				return fmt.Errorf("series %d: field %q type %#02x appears twice", si, c.Name, uint8(c.Values.Type))
			} else {
				seen[fieldKey{c.Name, c.Values.Type}] = struct{}{}
			}
		}
	}
	return nil
}

// CheckTimes refuses (an *InvalidBatchError) a batch with a row outside MinTime..MaxTime.
func (b *Batch) CheckTimes() error {
	for si := range b.Series {
		for _, t := range b.Series[si].Times {
			if t < MinTime || t > MaxTime {
				return &InvalidBatchError{Err: fmt.Errorf("series %d: time %d ns is outside %d..%d (1677-10-21 to 2262-03-12)", si, t, MinTime, MaxTime)}
			}
		}
	}
	return nil
}

// NumValues counts the field values in the batch.
func (b *Batch) NumValues() int {
	n := 0
	for i := range b.Series {
		for j := range b.Series[i].Fields {
			n += b.Series[i].Fields[j].Values.Len()
		}
	}
	return n
}

// MinMaxTime returns the smallest and largest timestamp in the batch.
func (b *Batch) MinMaxTime() (lo, hi int64) {
	first := true
	for i := range b.Series {
		for _, t := range b.Series[i].Times {
			if first || t < lo {
				lo = t
			}
			if first || t > hi {
				hi = t
			}
			first = false
		}
	}
	return lo, hi
}

var errBatchShort = errors.New("batch: unexpected end of data")

// Clone returns a deep copy (used where a batch must outlive its source buffer).
func (b *Batch) Clone() *Batch {
	c := &Batch{Version: b.Version, Series: make([]SeriesRows, len(b.Series))}
	for i, s := range b.Series {
		cs := SeriesRows{Key: slices.Clone(s.Key), Times: slices.Clone(s.Times), Fields: make([]FieldColumn, len(s.Fields))}
		for j, f := range s.Fields {
			cs.Fields[j] = FieldColumn{Name: f.Name, Rows: slices.Clone(f.Rows), Values: Values{
				Type: f.Values.Type, Floats: slices.Clone(f.Values.Floats), Ints: slices.Clone(f.Values.Ints),
				Bools: slices.Clone(f.Values.Bools), Bytes: cloneBytes(f.Values.Bytes)}}
		}
		c.Series[i] = cs
	}
	return c
}

func cloneBytes(v [][]byte) [][]byte {
	if v == nil {
		return nil
	}
	out := make([][]byte, len(v))
	for i, b := range v {
		out[i] = slices.Clone(b)
	}
	return out
}
