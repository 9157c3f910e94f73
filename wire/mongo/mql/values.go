package mql

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"strconv"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// missing is the value of an absent field (BSON type 0, never written to a document).
var missing = bson.RawValue{}

var errCorrupt = errors.New("corrupt BSON document")

func isMissing(v bson.RawValue) bool { return v.Type == 0 }

func isNullish(v bson.RawValue) bool {
	return v.Type == 0 || v.Type == bson.TypeNull || v.Type == bson.TypeUndefined
}

func vInt32(n int32) bson.RawValue {
	return bson.RawValue{Type: bson.TypeInt32, Value: binary.LittleEndian.AppendUint32(nil, uint32(n))}
}

func vInt64(n int64) bson.RawValue {
	return bson.RawValue{Type: bson.TypeInt64, Value: binary.LittleEndian.AppendUint64(nil, uint64(n))}
}

func vDouble(f float64) bson.RawValue {
	return bson.RawValue{Type: bson.TypeDouble, Value: binary.LittleEndian.AppendUint64(nil, math.Float64bits(f))}
}

func vDate(ms int64) bson.RawValue {
	return bson.RawValue{Type: bson.TypeDateTime, Value: binary.LittleEndian.AppendUint64(nil, uint64(ms))}
}

func vString(s string) bson.RawValue {
	return bson.RawValue{Type: bson.TypeString, Value: bsoncore.AppendString(nil, s)}
}

func vBool(b bool) bson.RawValue {
	if b {
		return bson.RawValue{Type: bson.TypeBoolean, Value: []byte{1}}
	}
	return bson.RawValue{Type: bson.TypeBoolean, Value: []byte{0}}
}

func vNull() bson.RawValue { return bson.RawValue{Type: bson.TypeNull} }

func vDoc(d []byte) bson.RawValue { return bson.RawValue{Type: bson.TypeEmbeddedDocument, Value: d} }

func vArray(a []byte) bson.RawValue { return bson.RawValue{Type: bson.TypeArray, Value: a} }

func vDecimal(d bson.Decimal128) bson.RawValue {
	h, l := d.GetBytes()
	return bson.RawValue{Type: bson.TypeDecimal128, Value: bsoncore.AppendDecimal128(nil, h, l)}
}

// intValue returns an integer as int32 when it fits, else int64.
func intValue(n int64) bson.RawValue {
	if n >= math.MinInt32 && n <= math.MaxInt32 {
		return vInt32(int32(n))
	}
	return vInt64(n)
}

// cloneValue copies a value out of a document that may be reused.
func cloneValue(v bson.RawValue) bson.RawValue {
	return bson.RawValue{Type: v.Type, Value: bytes.Clone(v.Value)}
}

// builder appends elements to a BSON document or array.
type builder struct {
	buf []byte
	n   int
}

func newBuilder(capacity int) *builder {
	b := &builder{buf: make([]byte, 4, max(capacity, 16))}
	return b
}

func (b *builder) add(key string, v bson.RawValue) {
	if isMissing(v) {
		return
	}
	b.buf = append(b.buf, byte(v.Type))
	b.buf = append(b.buf, key...)
	b.buf = append(b.buf, 0)
	b.buf = append(b.buf, v.Value...)
	b.n++
}

// push appends an array element.
func (b *builder) push(v bson.RawValue) {
	if isMissing(v) {
		v = vNull()
	}
	b.buf = append(b.buf, byte(v.Type))
	b.buf = strconv.AppendInt(b.buf, int64(b.n), 10)
	b.buf = append(b.buf, 0)
	b.buf = append(b.buf, v.Value...)
	b.n++
}

func (b *builder) finish() []byte {
	b.buf = append(b.buf, 0)
	binary.LittleEndian.PutUint32(b.buf, uint32(len(b.buf)))
	return b.buf
}

func (b *builder) doc() bson.RawValue   { return vDoc(b.finish()) }
func (b *builder) array() bson.RawValue { return vArray(b.finish()) }

func arrayOf(vs []bson.RawValue) bson.RawValue {
	b := newBuilder(16 * len(vs))
	for _, v := range vs {
		b.push(v)
	}
	return b.array()
}

// forEach calls fn for each element of a BSON document or array, in order; fn returns false to stop.
func forEach(doc []byte, fn func(key []byte, v bson.RawValue) bool) error {
	if len(doc) < 5 || int(binary.LittleEndian.Uint32(doc)) != len(doc) || doc[len(doc)-1] != 0 {
		return errCorrupt
	}
	rem := doc[4 : len(doc)-1]
	for len(rem) > 0 {
		el, rest, ok := bsoncore.ReadElement(rem)
		if !ok {
			return errCorrupt
		}
		k := bytes.IndexByte(el[1:], 0)
		if k < 0 {
			return errCorrupt
		}
		val, err := el.ValueErr()
		if err != nil {
			return errCorrupt
		}
		if !fn(el[1:1+k], bson.RawValue{Type: bson.Type(val.Type), Value: val.Data}) {
			return nil
		}
		rem = rest
	}
	return nil
}

// lookup returns the top-level field key of doc, or missing.
func lookup(doc []byte, key string) bson.RawValue {
	out := missing
	_ = forEach(doc, func(k []byte, v bson.RawValue) bool {
		if string(k) == key {
			out = v
			return false
		}
		return true
	})
	return out
}

// values returns the elements of an array (or document) value.
func values(arr []byte) []bson.RawValue {
	var out []bson.RawValue
	_ = forEach(arr, func(_ []byte, v bson.RawValue) bool {
		out = append(out, v)
		return true
	})
	return out
}

// element is one key/value of a document.
type element struct {
	key string
	val bson.RawValue
}

func elements(doc []byte) ([]element, error) {
	var out []element
	err := forEach(doc, func(k []byte, v bson.RawValue) bool {
		out = append(out, element{string(k), v})
		return true
	})
	return out, err
}

// isNumber reports whether t is a numeric BSON type.
func isNumber(t bson.Type) bool {
	return t == bson.TypeInt32 || t == bson.TypeInt64 || t == bson.TypeDouble || t == bson.TypeDecimal128
}

// toFloat converts a numeric value to float64.
func toFloat(v bson.RawValue) float64 {
	switch v.Type {
	case bson.TypeInt32:
		return float64(v.Int32())
	case bson.TypeInt64:
		return float64(v.Int64())
	case bson.TypeDouble:
		return v.Double()
	case bson.TypeDecimal128:
		f, err := strconv.ParseFloat(decString(v.Decimal128()), 64)
		if err != nil {
			return math.NaN()
		}
		return f
	}
	return math.NaN()
}

func decString(d bson.Decimal128) string {
	s := d.String()
	switch s {
	case "Infinity":
		return "+Inf"
	case "-Infinity":
		return "-Inf"
	}
	return s
}

// truthy is MongoDB's expression truthiness.
func truthy(v bson.RawValue) bool {
	switch v.Type {
	case 0, bson.TypeNull, bson.TypeUndefined:
		return false
	case bson.TypeBoolean:
		return v.Boolean()
	case bson.TypeInt32, bson.TypeInt64, bson.TypeDouble, bson.TypeDecimal128:
		return toFloat(v) != 0
	}
	return true
}
