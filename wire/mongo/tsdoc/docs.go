package tsdoc

import (
	"errors"
	"fmt"
	"math"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/storage"
)

// ErrBadTime is returned for a document whose time field is missing or not a BSON date.
var ErrBadTime = errors.New("time field missing or not a BSON UTC datetime")

// Nanoseconds per BSON datetime millisecond: rows are stored with ns timestamps (the line protocol's
// precision), so dates between the years 1677 and 2262 are accepted.
const nsPerMs = 1_000_000

// TimeOf returns the row timestamp (ns) of a document, or ErrBadTime.
func TimeOf(doc bson.Raw, timeField string) (int64, error) {
	v, err := doc.LookupErr(timeField)
	if err != nil || v.Type != bson.TypeDateTime {
		return 0, ErrBadTime
	}
	ms := v.DateTime()
	if ms > math.MaxInt64/nsPerMs || ms < math.MinInt64/nsPerMs {
		return 0, fmt.Errorf("%w: date %d ms is outside the years 1677..2262", ErrBadTime, ms)
	}
	return ms * nsPerMs, nil
}

// Builder turns documents of one collection into a columnar batch, grouping rows by series.
// It keeps its buffers between batches.
type Builder struct {
	c        *meta.Collection
	bySeries map[string]int
	batch    storage.Batch
	tags     []storage.Tag
	key      []byte
}

// NewBuilder returns a builder for collection c.
func NewBuilder(c *meta.Collection) *Builder {
	return &Builder{c: c, bySeries: map[string]int{}}
}

// Add appends one document. Documents must have passed TimeOf; other problems (a field of a type
// the engine does not store) are returned as errors and leave the batch unchanged.
func (b *Builder) Add(doc bson.Raw) error {
	ts, err := TimeOf(doc, b.c.TimeField)
	if err != nil {
		return err
	}
	elems, err := doc.Elements()
	if err != nil {
		return fmt.Errorf("decode document: %w", err)
	}
	// Check every field first so a bad document changes nothing.
	for _, e := range elems {
		k := e.Key()
		if k == b.c.TimeField || k == b.c.MetaField {
			continue
		}
		if !storage.FieldType(e.Value().Type).Valid() {
			return fmt.Errorf("field %q has BSON type %s, which time-series collections in ChronoGo do not store", k, e.Value().Type)
		}
	}
	b.tags = b.tags[:0]
	if b.c.MetaField != "" {
		if v, err := doc.LookupErr(b.c.MetaField); err == nil {
			b.tags, err = FlattenMeta(b.tags, b.c.MetaField, v)
			if err != nil {
				return err
			}
		}
	}
	sk := storage.SeriesKey{Table: b.c.Name, Tags: b.tags}
	if err := sk.Normalize(); err != nil {
		return err
	}
	b.key = sk.Marshal(b.key[:0])
	si, ok := b.bySeries[string(b.key)]
	if !ok {
		si = len(b.batch.Series)
		b.bySeries[string(b.key)] = si
		b.batch.Series = append(b.batch.Series, storage.SeriesRows{Key: append([]byte(nil), b.key...)})
	}
	s := &b.batch.Series[si]
	row := uint32(len(s.Times))
	s.Times = append(s.Times, ts)
	seen := map[string]bool{}
	for _, e := range elems {
		k := e.Key()
		if k == b.c.TimeField || k == b.c.MetaField || seen[k] {
			continue
		}
		seen[k] = true
		v := e.Value()
		col := column(s, k, storage.FieldType(v.Type))
		col.Rows = append(col.Rows, row)
		appendValue(&col.Values, v)
	}
	return nil
}

// column finds or adds the column (name, type) of a series.
func column(s *storage.SeriesRows, name string, t storage.FieldType) *storage.FieldColumn {
	for i := range s.Fields {
		if s.Fields[i].Name == name && s.Fields[i].Values.Type == t {
			return &s.Fields[i]
		}
	}
	s.Fields = append(s.Fields, storage.FieldColumn{Name: name, Rows: []uint32{}, Values: storage.Values{Type: t}})
	return &s.Fields[len(s.Fields)-1]
}

func appendValue(dst *storage.Values, v bson.RawValue) {
	switch v.Type {
	case bson.TypeDouble:
		dst.Floats = append(dst.Floats, v.Double())
	case bson.TypeInt32:
		dst.Ints = append(dst.Ints, int64(v.Int32()))
	case bson.TypeInt64:
		dst.Ints = append(dst.Ints, v.Int64())
	case bson.TypeDateTime:
		dst.Ints = append(dst.Ints, v.DateTime())
	case bson.TypeTimestamp:
		t, i := v.Timestamp()
		dst.Ints = append(dst.Ints, int64(uint64(t)<<32|uint64(i)))
	case bson.TypeBoolean:
		dst.Bools = append(dst.Bools, v.Boolean())
	case bson.TypeString:
		s, _ := v.StringValueOK()
		dst.Bytes = append(dst.Bytes, []byte(s))
	default: // document, array, binary, ObjectId, null, decimal: the raw value bytes
		dst.Bytes = append(dst.Bytes, v.Value)
	}
}

// Batch returns the batch built so far, with row lists dropped where a column covers every row;
// the builder must be Reset before reuse.
func (b *Builder) Batch() *storage.Batch {
	for i := range b.batch.Series {
		s := &b.batch.Series[i]
		for j := range s.Fields {
			if len(s.Fields[j].Rows) == len(s.Times) {
				s.Fields[j].Rows = nil
			}
		}
	}
	return &b.batch
}

// Len is the number of documents added.
func (b *Builder) Len() int {
	n := 0
	for i := range b.batch.Series {
		n += len(b.batch.Series[i].Times)
	}
	return n
}

// Reset empties the builder and points it at collection c.
func (b *Builder) Reset(c *meta.Collection) {
	b.c = c
	clear(b.bySeries)
	b.batch = storage.Batch{}
}

// FlattenMeta appends the tags of a meta value named metaField (see the package comment).
func FlattenMeta(dst []storage.Tag, metaField string, v bson.RawValue) ([]storage.Tag, error) {
	if v.Type != bson.TypeEmbeddedDocument {
		return append(dst, storage.Tag{Key: metaField, Value: TagValueOf(v)}), nil
	}
	doc := v.Document()
	elems, err := doc.Elements()
	if err != nil {
		return dst, fmt.Errorf("decode meta field %q: %w", metaField, err)
	}
	if len(elems) == 0 {
		return append(dst, storage.Tag{Key: metaField, Value: TagValueOf(v)}), nil
	}
	for _, e := range elems {
		dst, err = FlattenMeta(dst, metaField+"."+e.Key(), e.Value())
		if err != nil {
			return dst, err
		}
	}
	return dst, nil
}
