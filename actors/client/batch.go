package client

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/chronogo/chronogo/storage"
)

// Batch builds the columnar batch of one time-series collection on the client: one series per
// distinct set of tags (the collection's meta field, as a MongoDB client sees it), each with its
// times and one column per field and type.
type Batch struct {
	collection string
	b          storage.Batch
	series     map[string]int // encoded series key -> index in b.Series
	values     int
	keyBuf     []byte
}

// NewBatch starts a batch for a collection.
func NewBatch(collection string) *Batch {
	return &Batch{collection: collection, series: map[string]int{}}
}

// Collection is the batch's collection.
func (b *Batch) Collection() string { return b.collection }

// Values counts the field values added.
func (b *Batch) Values() int { return b.values }

// Add adds one point: its time, its tags (the meta field's string subfields) and its fields.
// A field value is a float64, float32, int, int32, int64, bool, string or time.Time (a date);
// anything else is an error and adds nothing.
func (b *Batch) Add(t time.Time, tags map[string]string, fields map[string]any) error {
	if len(fields) == 0 {
		return fmt.Errorf("point at %s has no fields", t.Format(time.RFC3339Nano))
	}
	names := make([]string, 0, len(fields))
	for name, v := range fields {
		if _, _, err := fieldType(v); err != nil {
			return fmt.Errorf("field %q: %w", name, err)
		}
		if name == "" || strings.HasPrefix(name, "$") {
			return fmt.Errorf("field name %q: empty or starting with $", name)
		}
		names = append(names, name)
	}
	sort.Strings(names)
	k := storage.SeriesKey{Table: b.collection}
	for key, v := range tags {
		k.Tags = append(k.Tags, storage.Tag{Key: key, Value: storage.StringTag(v)})
	}
	if err := k.Normalize(); err != nil {
		return fmt.Errorf("tags: %w", err)
	}
	b.keyBuf = k.Marshal(b.keyBuf[:0])
	si, ok := b.series[string(b.keyBuf)]
	if !ok {
		si = len(b.b.Series)
		b.series[string(b.keyBuf)] = si
		b.b.Series = append(b.b.Series, storage.SeriesRows{Key: append([]byte(nil), b.keyBuf...)})
	}
	s := &b.b.Series[si]
	row := uint32(len(s.Times))
	s.Times = append(s.Times, t.UnixNano())
	for _, name := range names {
		typ, _, _ := fieldType(fields[name])
		ci := -1
		for i := range s.Fields {
			if s.Fields[i].Name == name && s.Fields[i].Values.Type == typ {
				ci = i
				break
			}
		}
		if ci < 0 {
			ci = len(s.Fields)
			s.Fields = append(s.Fields, storage.FieldColumn{Name: name, Rows: []uint32{}, Values: storage.Values{Type: typ}})
		}
		c := &s.Fields[ci]
		c.Rows = append(c.Rows, row)
		appendValue(&c.Values, fields[name])
		b.values++
	}
	return nil
}

// fieldType is the storage type of a Go value.
func fieldType(v any) (storage.FieldType, bool, error) {
	switch v.(type) {
	case float64, float32:
		return storage.TypeDouble, true, nil
	case int, int32, int64:
		return storage.TypeInt64, true, nil
	case bool:
		return storage.TypeBool, true, nil
	case string:
		return storage.TypeString, true, nil
	case time.Time:
		return storage.TypeDateTime, true, nil
	}
	return 0, false, fmt.Errorf("unsupported value type %T", v)
}

func appendValue(dst *storage.Values, v any) {
	switch x := v.(type) {
	case float64:
		dst.Floats = append(dst.Floats, x)
	case float32:
		dst.Floats = append(dst.Floats, float64(x))
	case int:
		dst.Ints = append(dst.Ints, int64(x))
	case int32:
		dst.Ints = append(dst.Ints, int64(x))
	case int64:
		dst.Ints = append(dst.Ints, x)
	case bool:
		dst.Bools = append(dst.Bools, x)
	case string:
		dst.Bytes = append(dst.Bytes, []byte(x))
	case time.Time:
		dst.Ints = append(dst.Ints, x.UnixMilli())
	}
}

// build returns the storage batch: columns that hold every row lose their row list.
func (b *Batch) build() *storage.Batch {
	out := &storage.Batch{Series: make([]storage.SeriesRows, len(b.b.Series))}
	for i, s := range b.b.Series {
		s.Fields = append([]storage.FieldColumn(nil), s.Fields...)
		for ci := range s.Fields {
			if len(s.Fields[ci].Rows) == len(s.Times) {
				s.Fields[ci].Rows = nil
			}
		}
		out.Series[i] = s
	}
	return out
}

// Reset empties the batch for reuse.
func (b *Batch) Reset() {
	b.b.Series = b.b.Series[:0]
	clear(b.series)
	b.values = 0
}
