package tsdoc

import (
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/storage"
)

// ErrBadTime is returned for a document whose time field is missing or not a BSON date.
var ErrBadTime = errors.New("time field missing or not a BSON UTC datetime")

// Nanoseconds per BSON datetime millisecond: rows are stored with ns timestamps (the line protocol's
// precision), so dates between 1677-10-21 and 2262-03-12 (storage.MinTime..MaxTime) are accepted.
const nsPerMs = 1_000_000

// TimeOf returns the row timestamp (ns) of a document, or ErrBadTime.
func TimeOf(doc bson.Raw, timeField string) (int64, error) {
	v, err := doc.LookupErr(timeField)
	if err != nil || v.Type != bson.TypeDateTime {
		return 0, ErrBadTime
	}
	ms := v.DateTime()
	if ms > storage.MaxTime/nsPerMs || ms < storage.MinTime/nsPerMs {
		return 0, fmt.Errorf("%w: date %s is outside %s..%s", ErrBadTime, time.UnixMilli(ms).UTC().Format(time.RFC3339),
			time.Unix(0, storage.MinTime).UTC().Format(time.RFC3339), time.Unix(0, storage.MaxTime).UTC().Format(time.RFC3339))
	}
	return ms * nsPerMs, nil
}

// Builder turns documents of one collection into a columnar batch, grouping rows by series.
// It keeps its buffers between batches and does not allocate per document for series and
// columns it has seen: documents of the same series are recognised by the raw bytes of their meta
// value. Byte values (strings, documents, ObjectIds) alias the documents, which must outlive the batch.
type Builder struct {
	c        *meta.Collection
	bySeries map[string]int                   // encoded series key -> index in batch.Series
	byMeta   map[bsoncore.Type]map[string]int // meta value type, raw bytes -> index in batch.Series
	batch    storage.Batch
	arena    storage.BatchArena
	tags     []storage.Tag
	key      []byte
	memoKey  []byte
	names    map[string]string // field names seen, kept across batches
	elems    []element         // the measurement fields of the document being added
}

// element is a field of a document: its type, name and value bytes.
type element struct {
	typ      bsoncore.Type
	key, val []byte
}

// NewBuilder returns a builder for collection c.
func NewBuilder(c *meta.Collection) *Builder {
	return &Builder{c: c, bySeries: map[string]int{}, byMeta: map[bsoncore.Type]map[string]int{}, names: map[string]string{}}
}

// Add appends one document. Documents must have passed TimeOf; other problems (a field of a type
// the engine does not store) are returned as errors and leave the batch unchanged.
func (b *Builder) Add(doc bson.Raw) error {
	ts, err := TimeOf(doc, b.c.TimeField)
	if err != nil {
		return err
	}
	body, err := elementsOf(doc)
	if err != nil {
		return err
	}
	// First pass: validate every field and find the meta value, so a bad document changes nothing;
	// the elements are kept for the second.
	var metaVal bsoncore.Value
	hasMeta := false
	b.elems = b.elems[:0]
	for rest := body; len(rest) > 1; {
		t, k, v, r, ok := NextElement(rest)
		if !ok {
			return errors.New("decode document: malformed element")
		}
		rest = r
		switch {
		case string(k) == b.c.TimeField:
		case b.c.MetaField != "" && string(k) == b.c.MetaField:
			metaVal, hasMeta = bsoncore.Value{Type: t, Data: v}, true
		case !storage.FieldType(t).Valid():
			return fmt.Errorf("field %q has BSON type %s, which time-series collections in ChronoGo do not store", k, bson.Type(t))
		default:
			b.elems = append(b.elems, element{t, k, v})
		}
	}
	si, err := b.series(metaVal, hasMeta)
	if err != nil {
		return err
	}
	s := &b.batch.Series[si]
	row := b.arena.AppendRow(s, ts)
	next := 0 // where the next field's column probably is: documents repeat their field order
	for _, e := range b.elems {
		var col *storage.FieldColumn
		col, next = b.column(s, e.key, storage.FieldType(e.typ), len(b.elems), next)
		if col.LastRow() == int(row) {
			continue // a repeated field name: the first one wins
		}
		b.arena.TakeRow(col, row)
		b.appendValue(col, bsoncore.Value{Type: e.typ, Data: e.val})
	}
	return nil
}

// elementsOf returns the element bytes of a document (without length prefix and terminator).
func elementsOf(doc bson.Raw) ([]byte, error) {
	if len(doc) < 5 || int(int32(uint32(doc[0])|uint32(doc[1])<<8|uint32(doc[2])<<16|uint32(doc[3])<<24)) != len(doc) || doc[len(doc)-1] != 0 {
		return nil, errors.New("decode document: bad length")
	}
	return doc[4:], nil
}

// series returns the index of the document's series in the batch, adding it if new.
func (b *Builder) series(metaVal bsoncore.Value, hasMeta bool) (int, error) {
	if si, ok := b.byMeta[metaVal.Type][string(metaVal.Data)]; ok && hasMeta {
		return si, nil
	}
	if err := b.seriesKey(metaVal, hasMeta); err != nil {
		return 0, err
	}
	si, ok := b.bySeries[string(b.key)]
	if !ok {
		si = len(b.batch.Series)
		b.bySeries[string(b.key)] = si
		b.batch.Series = append(b.batch.Series, storage.SeriesRows{Key: append([]byte(nil), b.key...)})
	}
	if hasMeta {
		m := b.byMeta[metaVal.Type]
		if m == nil {
			m = map[string]int{}
			b.byMeta[metaVal.Type] = m
		}
		m[string(metaVal.Data)] = si
	}
	return si, nil
}

// column finds or adds the column (name, type) of a series; a series that must grow its columns
// gets room for as many as the document has fields.
// seriesKey sets b.key to the encoded series key of a document with meta value metaVal (or none),
// from the memo when the value was seen before (by any command).
func (b *Builder) seriesKey(metaVal bsoncore.Value, hasMeta bool) error {
	b.memoKey = b.memoKey[:0]
	if hasMeta {
		b.memoKey = memoKey(b.memoKey, b.c.TableName(), b.c.MetaField, byte(metaVal.Type), metaVal.Data)
		if key, ok := seriesKeys.get(b.memoKey); ok {
			b.key = append(b.key[:0], key...)
			return nil
		}
	}
	b.tags = b.tags[:0]
	if hasMeta {
		var err error
		b.tags, err = FlattenMeta(b.tags, b.c.MetaField, bson.RawValue{Type: bson.Type(metaVal.Type), Value: metaVal.Data})
		if err != nil {
			return err
		}
	}
	sk := storage.SeriesKey{Table: b.c.TableName(), Tags: b.tags}
	if err := sk.Normalize(); err != nil {
		return err
	}
	b.key = sk.Marshal(b.key[:0])
	if len(b.key) > storage.MaxSeriesKeyLen {
		return fmt.Errorf("the value of metaField '%s' is too large: %d bytes as a series key; ChronoGo allows at most %d", b.c.MetaField, len(b.key), storage.MaxSeriesKeyLen)
	}
	if hasMeta {
		seriesKeys.put(b.memoKey, b.key)
	}
	return nil
}

// column returns the series' column of field name and type t (added if new) and the position
// after it; the search starts at hint, where the column of the same field of the series' previous
// document usually is.
func (b *Builder) column(s *storage.SeriesRows, name []byte, t storage.FieldType, fields int, hint int) (*storage.FieldColumn, int) {
	n := len(s.Fields)
	for j := range n {
		i := hint + j
		if i >= n {
			i -= n
		}
		if s.Fields[i].Values.Type == t && s.Fields[i].Name == string(name) {
			return &s.Fields[i], i + 1
		}
	}
	return b.arena.AddColumn(s, b.name(name), t, func() int { return fields }), len(s.Fields)
}

// name returns a field name as a string shared by every column of that name the builder made.
func (b *Builder) name(k []byte) string {
	if s, ok := b.names[string(k)]; ok {
		return s
	}
	if len(b.names) >= maxNames {
		clear(b.names)
	}
	s := string(k)
	b.names[s] = s
	return s
}

// maxNames bounds a builder's field names: documents with ever new field names start it afresh.
const maxNames = 4096

func (b *Builder) appendValue(col *storage.FieldColumn, v bsoncore.Value) {
	switch v.Type {
	case bsoncore.TypeDouble:
		b.arena.AppendFloat(col, v.Double())
	case bsoncore.TypeInt32:
		b.arena.AppendInt(col, int64(v.Int32()))
	case bsoncore.TypeInt64:
		b.arena.AppendInt(col, v.Int64())
	case bsoncore.TypeDateTime:
		b.arena.AppendInt(col, v.DateTime())
	case bsoncore.TypeTimestamp:
		t, i := v.Timestamp()
		b.arena.AppendInt(col, int64(uint64(t)<<32|uint64(i)))
	case bsoncore.TypeBoolean:
		b.arena.AppendBool(col, v.Boolean())
	case bsoncore.TypeString:
		b.arena.AppendBytes(col, v.Data[4:len(v.Data)-1]) // int32 length, bytes, NUL
	default: // document, array, binary, ObjectId, null, decimal: the raw value bytes
		b.arena.AppendBytes(col, v.Data)
	}
}

// Batch returns the batch built so far, with row lists dropped where a column covers every row;
// the builder must be Reset before reuse.
func (b *Builder) Batch() *storage.Batch {
	clear(b.elems[:cap(b.elems)]) // they point into the last document
	b.elems = b.elems[:0]
	for i := range b.batch.Series {
		storage.FinishRows(&b.batch.Series[i])
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
	clear(b.byMeta)
	b.batch = storage.Batch{}
}

// FlattenMeta appends the tags of a meta value named metaField (see the package comment).
func FlattenMeta(dst []storage.Tag, metaField string, v bson.RawValue) ([]storage.Tag, error) {
	if v.Type != bson.TypeEmbeddedDocument {
		if !storage.FieldType(v.Type).Valid() {
			return dst, &metaError{path: metaField, typ: v.Type}
		}
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
