package tsdoc

import (
	"math"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/storage"
)

// Tag values are stored with their BSON type and canonical bytes:
//
//	string                    UTF-8 bytes
//	int32, int64, datetime    storage.EncodeTagInt (order-preserving 8 bytes); the type keeps them apart
//	double                    storage.EncodeTagFloat (order-preserving 8 bytes)
//	bool                      one byte, 0 or 1
//	null                      empty
//	anything else             the raw BSON value bytes (ObjectId: 12 bytes; document/array: the BSON)
//
// A meta field holding a document is flattened into one tag per leaf, named by its dotted path
// starting with the meta field's name ("tags.location"); an empty sub-document and an array are
// leaves. A scalar meta value is one tag named after the meta field.

// TagValueOf converts a BSON value to a tag value.
func TagValueOf(v bson.RawValue) storage.TagValue {
	t := storage.FieldType(v.Type)
	switch v.Type {
	case bson.TypeString:
		s, _ := v.StringValueOK()
		return storage.TagValue{Type: t, Raw: []byte(s)}
	case bson.TypeInt32:
		return storage.TagValue{Type: t, Raw: storage.EncodeTagInt(int64(v.Int32()))}
	case bson.TypeInt64:
		return storage.TagValue{Type: t, Raw: storage.EncodeTagInt(v.Int64())}
	case bson.TypeDateTime:
		return storage.TagValue{Type: t, Raw: storage.EncodeTagInt(v.DateTime())}
	case bson.TypeDouble:
		return storage.TagValue{Type: t, Raw: storage.EncodeTagFloat(v.Double())}
	case bson.TypeBoolean:
		if v.Boolean() {
			return storage.TagValue{Type: t, Raw: []byte{1}}
		}
		return storage.TagValue{Type: t, Raw: []byte{0}}
	case bson.TypeNull:
		return storage.TagValue{Type: t}
	}
	return storage.TagValue{Type: t, Raw: append([]byte(nil), v.Value...)}
}

// RawValueOf converts a tag value back to a BSON value.
func RawValueOf(tv storage.TagValue) (bson.RawValue, error) {
	rv := bson.RawValue{Type: bson.Type(tv.Type)}
	switch rv.Type {
	case bson.TypeString:
		rv.Value = bsonString(tv.Raw)
	case bson.TypeInt32:
		n, err := storage.DecodeTagInt(tv.Raw)
		if err != nil {
			return rv, err
		}
		rv.Value = le32(uint32(int32(n)))
	case bson.TypeInt64, bson.TypeDateTime:
		n, err := storage.DecodeTagInt(tv.Raw)
		if err != nil {
			return rv, err
		}
		rv.Value = le64(uint64(n))
	case bson.TypeDouble:
		f, err := storage.DecodeTagFloat(tv.Raw)
		if err != nil {
			return rv, err
		}
		rv.Value = le64(math.Float64bits(f))
	default:
		rv.Value = tv.Raw
	}
	return rv, nil
}

func bsonString(s []byte) []byte {
	out := le32(uint32(len(s) + 1))
	out = append(out, s...)
	return append(out, 0)
}

func le32(v uint32) []byte { return []byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)} }

func le64(v uint64) []byte {
	return []byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24), byte(v >> 32), byte(v >> 40), byte(v >> 48), byte(v >> 56)}
}
