package tsdoc

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/storage"
)

// Column is one field column of a series, sorted by time (one value per time).
type Column struct {
	Field  string
	Times  []int64
	Values storage.Values
}

// Documents rebuilds the documents of one series from its columns and calls fn for each, in time
// order. A document holds `_id` (if stored) first, then the time field, the meta field and the other
// fields in name order. fn's document is only valid during the call.
func Documents(c *meta.Collection, key storage.SeriesKey, cols []Column, fn func(bson.Raw) error) error {
	metaVal, err := metaValue(c.MetaField, key.Tags)
	if err != nil {
		return err
	}
	order := make([]int, len(cols))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		fa, fb := cols[a].Field, cols[b].Field
		if (fa == "_id") != (fb == "_id") {
			if fa == "_id" {
				return -1
			}
			return 1
		}
		return cmp.Compare(fa, fb)
	})
	pos := make([]int, len(cols))
	var doc []byte
	seriesHash := fnv.New64a()
	key.Table = c.Name // the same _id wherever the collection keeps its points ($out, restore)
	_, _ = seriesHash.Write(key.Marshal(nil))
	idSeries := seriesHash.Sum64()
	for {
		ts := int64(math.MaxInt64)
		found := false
		for i, c := range cols {
			if pos[i] < len(c.Times) && c.Times[pos[i]] <= ts {
				ts, found = c.Times[pos[i]], true
			}
		}
		if !found {
			return nil
		}
		idx, d := bsoncore.AppendDocumentStart(doc[:0])
		wroteID := false
		emit := func(i int) {
			col := &cols[i]
			d = appendField(d, col.Field, &col.Values, pos[i])
		}
		last := ""
		for _, i := range order {
			if cols[i].Field != "_id" {
				continue
			}
			if pos[i] < len(cols[i].Times) && cols[i].Times[pos[i]] == ts && !wroteID {
				emit(i)
				wroteID = true
			}
		}
		if !wroteID {
			d = bsoncore.AppendObjectIDElement(d, "_id", SyntheticID(ts, idSeries))
		}
		d = bsoncore.AppendDateTimeElement(d, c.TimeField, storage.FloorDiv(ts, nsPerMs))
		if metaVal.Type != 0 {
			d = bsoncore.AppendValueElement(d, c.MetaField, bsoncore.Value{Type: bsoncore.Type(metaVal.Type), Data: metaVal.Value})
		}
		for _, i := range order {
			f := cols[i].Field
			if f == "_id" || f == c.TimeField || f == c.MetaField {
				continue
			}
			if pos[i] < len(cols[i].Times) && cols[i].Times[pos[i]] == ts && f != last {
				emit(i)
				last = f // a field stored with several types at the same time: the first type wins
			}
		}
		for i := range cols {
			if pos[i] < len(cols[i].Times) && cols[i].Times[pos[i]] == ts {
				pos[i]++
			}
		}
		d, err := bsoncore.AppendDocumentEnd(d, idx)
		if err != nil {
			return err
		}
		doc = d
		if err := fn(bson.Raw(doc)); err != nil {
			return err
		}
	}
}

func appendField(dst []byte, name string, v *storage.Values, i int) []byte {
	switch v.Type {
	case storage.TypeDouble:
		return bsoncore.AppendDoubleElement(dst, name, v.Floats[i])
	case storage.TypeInt32:
		return bsoncore.AppendInt32Element(dst, name, int32(v.Ints[i]))
	case storage.TypeInt64:
		return bsoncore.AppendInt64Element(dst, name, v.Ints[i])
	case storage.TypeDateTime:
		return bsoncore.AppendDateTimeElement(dst, name, v.Ints[i])
	case storage.TypeTimestamp:
		u := uint64(v.Ints[i])
		return bsoncore.AppendTimestampElement(dst, name, uint32(u>>32), uint32(u))
	case storage.TypeBool:
		return bsoncore.AppendBooleanElement(dst, name, v.Bools[i])
	case storage.TypeString:
		return bsoncore.AppendStringElement(dst, name, string(v.Bytes[i]))
	}
	return bsoncore.AppendValueElement(dst, name, bsoncore.Value{Type: bsoncore.Type(v.Type), Data: v.Bytes[i]})
}

// MetaValue returns the metaField value of the documents of a series with tags (a zero RawValue
// when they have none).
func MetaValue(metaField string, tags []storage.Tag) (bson.RawValue, error) {
	return metaValue(metaField, tags)
}

// metaValue rebuilds the meta field's value from the series tags (zero RawValue when absent).
func metaValue(metaField string, tags []storage.Tag) (bson.RawValue, error) {
	if metaField == "" || len(tags) == 0 {
		return bson.RawValue{}, nil
	}
	if len(tags) == 1 && tags[0].Key == metaField {
		return RawValueOf(tags[0].Value)
	}
	doc, err := buildDoc(nil, metaField+".", tags)
	if err != nil {
		return bson.RawValue{}, err
	}
	return bson.RawValue{Type: bson.TypeEmbeddedDocument, Value: doc}, nil
}

// buildDoc appends a document of the tags under prefix (tags sorted by key, all with the prefix).
func buildDoc(dst []byte, prefix string, tags []storage.Tag) ([]byte, error) {
	idx, dst := bsoncore.AppendDocumentStart(dst)
	for i := 0; i < len(tags); {
		rest, ok := strings.CutPrefix(tags[i].Key, prefix)
		if !ok || rest == "" {
			return nil, fmt.Errorf("tag %q is not under %q", tags[i].Key, prefix)
		}
		name, _, nested := strings.Cut(rest, ".")
		if !nested {
			v, err := RawValueOf(tags[i].Value)
			if err != nil {
				return nil, err
			}
			dst = bsoncore.AppendValueElement(dst, name, bsoncore.Value{Type: bsoncore.Type(v.Type), Data: v.Value})
			i++
			continue
		}
		sub := prefix + name + "."
		j := i
		for j < len(tags) && strings.HasPrefix(tags[j].Key, sub) {
			j++
		}
		dst = bsoncore.AppendHeader(dst, bsoncore.TypeEmbeddedDocument, name)
		var err error
		dst, err = buildDoc(dst, sub, tags[i:j])
		if err != nil {
			return nil, err
		}
		i = j
	}
	return bsoncore.AppendDocumentEnd(dst, idx)
}

// SyntheticID is the _id of a row stored without one (line protocol, Prometheus): an ObjectId
// made of the row's time and series, so the same point always has the same _id. Its first four
// bytes are the time's unix seconds, as in any ObjectId; then five bytes of the series key's
// 64-bit FNV-1a and three of the time's sub-second part (in 60 ns steps).
func SyntheticID(ts int64, series uint64) bson.ObjectID {
	var id bson.ObjectID
	sec := storage.FloorDiv(ts, 1_000_000_000)
	binary.BigEndian.PutUint32(id[0:4], uint32(sec))
	var h [8]byte
	binary.BigEndian.PutUint64(h[:], series)
	copy(id[4:9], h[:5])
	sub := uint32((ts - sec*1_000_000_000) / 60)
	id[9], id[10], id[11] = byte(sub>>16), byte(sub>>8), byte(sub)
	return id
}
