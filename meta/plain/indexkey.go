package plain

import (
	"encoding/binary"
	"math"
	"strconv"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// Index keys encode BSON values so that byte order follows MongoDB's comparison order and values
// MongoDB calls equal (1, 1.0, NumberLong(1); -0.0 and 0.0) encode identically. Every encoding is
// prefix-free, so components concatenate and a descending component is its bytes inverted. The
// format is in meta/docs/plain.md ("Index keys").

// Class bytes, in MongoDB's order of types.
const (
	classEnd       byte = 0x00 // ends a document or array
	classMinKey    byte = 0x10
	classUndefined byte = 0x18 // an empty array, indexed as MongoDB does
	classNull      byte = 0x20 // null, and a missing field
	classNaN       byte = 0x28
	classNumber    byte = 0x29
	classString    byte = 0x30 // strings and symbols
	classObject    byte = 0x38
	classArray     byte = 0x40
	classBinary    byte = 0x48
	classObjectID  byte = 0x50
	classBool      byte = 0x58
	classDate      byte = 0x60
	classTimestamp byte = 0x68
	classRegex     byte = 0x70
	classDBPointer byte = 0x74
	classCode      byte = 0x78
	classCodeScope byte = 0x7c
	classMaxKey    byte = 0xf0
)

// valueClass is the class byte of v (a missing value, Type 0, is null).
func valueClass(v bson.RawValue) byte {
	switch v.Type {
	case bson.TypeMinKey:
		return classMinKey
	case bson.TypeUndefined:
		return classUndefined
	case 0, bson.TypeNull:
		return classNull
	case bson.TypeDouble, bson.TypeInt32, bson.TypeInt64, bson.TypeDecimal128:
		if f, _ := numberParts(v); math.IsNaN(f) {
			return classNaN
		}
		return classNumber
	case bson.TypeString, bson.TypeSymbol:
		return classString
	case bson.TypeEmbeddedDocument:
		return classObject
	case bson.TypeArray:
		return classArray
	case bson.TypeBinary:
		return classBinary
	case bson.TypeObjectID:
		return classObjectID
	case bson.TypeBoolean:
		return classBool
	case bson.TypeDateTime:
		return classDate
	case bson.TypeTimestamp:
		return classTimestamp
	case bson.TypeRegex:
		return classRegex
	case bson.TypeDBPointer:
		return classDBPointer
	case bson.TypeJavaScript:
		return classCode
	case bson.TypeCodeWithScope:
		return classCodeScope
	}
	return classMaxKey
}

// numberParts splits a number into the nearest float64 and the exact integer remainder of an
// int64 beyond 2^53, so that (float, remainder) orders every int64 and double exactly.
// Decimal128 values are rounded to the nearest double.
func numberParts(v bson.RawValue) (float64, int64) {
	switch v.Type {
	case bson.TypeInt32:
		return float64(v.Int32()), 0
	case bson.TypeInt64:
		i := v.Int64()
		f := float64(i)
		if f >= math.MaxInt64 { // 2^63: int64(f) would overflow
			return f, i - math.MaxInt64 - 1
		}
		return f, i - int64(f)
	case bson.TypeDouble:
		f := v.Double()
		if f == 0 {
			f = 0 // -0.0 equals 0.0
		}
		return f, 0
	case bson.TypeDecimal128:
		f, err := strconv.ParseFloat(v.Decimal128().String(), 64)
		if err != nil && !math.IsInf(f, 0) {
			return math.NaN(), 0
		}
		if f == 0 {
			f = 0
		}
		return f, 0
	}
	return 0, 0
}

// appendSortableFloat appends f so that byte order is numeric order.
func appendSortableFloat(dst []byte, f float64) []byte {
	bits := math.Float64bits(f)
	if bits>>63 == 1 {
		bits = ^bits
	} else {
		bits |= 1 << 63
	}
	return binary.BigEndian.AppendUint64(dst, bits)
}

// appendSortableInt appends i so that byte order is numeric order.
func appendSortableInt(dst []byte, i int64) []byte {
	return binary.BigEndian.AppendUint64(dst, uint64(i)^(1<<63))
}

// appendEscaped appends b with 0x00 escaped as 0x00 0xff and the terminator 0x00 0x01: byte
// order is preserved and no encoding is a prefix of another.
func appendEscaped(dst, b []byte) []byte {
	for _, c := range b {
		dst = append(dst, c)
		if c == 0 {
			dst = append(dst, 0xff)
		}
	}
	return append(dst, 0x00, 0x01)
}

// AppendIndexValue appends the index-key encoding of v (Type 0 is a missing field): its class,
// then its body.
func AppendIndexValue(dst []byte, v bson.RawValue) []byte {
	c := valueClass(v)
	return appendBody(append(dst, c), v, c)
}

// appendBody appends the encoding of v after its class byte c.
func appendBody(dst []byte, v bson.RawValue, c byte) []byte {
	switch c {
	case classNumber:
		f, r := numberParts(v)
		return appendSortableInt(appendSortableFloat(dst, f), r)
	case classString:
		s, _, _ := readString(v.Value)
		return appendEscaped(dst, s)
	case classObject, classArray:
		return appendIndexElems(dst, v.Value, c == classObject)
	case classBinary:
		if len(v.Value) < 5 {
			return dst
		}
		// MongoDB compares lengths first, then subtypes, then bytes
		dst = binary.BigEndian.AppendUint32(dst, binary.LittleEndian.Uint32(v.Value))
		return append(dst, v.Value[4:]...)
	case classObjectID:
		return append(dst, v.Value...)
	case classBool:
		return append(dst, v.Value...)
	case classDate:
		return appendSortableInt(dst, v.DateTime())
	case classTimestamp:
		t, i := v.Timestamp()
		return binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(dst, t), i)
	case classRegex:
		p, o := v.Regex()
		return appendEscaped(appendEscaped(dst, []byte(p)), []byte(o))
	case classDBPointer:
		ns, oid := v.DBPointer()
		return append(appendEscaped(dst, []byte(ns)), oid[:]...)
	case classCode:
		return appendEscaped(dst, []byte(v.JavaScript()))
	case classCodeScope:
		code, scope := v.CodeWithScope()
		return appendIndexElems(appendEscaped(dst, []byte(code)), scope, true)
	}
	return dst
}

// appendIndexElems encodes the elements of a document or array: per element its class, its name
// (documents only) and its value, then classEnd.
func appendIndexElems(dst []byte, body []byte, names bool) []byte {
	elems, err := bson.Raw(body).Elements()
	if err != nil {
		return append(dst, classEnd)
	}
	for _, e := range elems {
		v := e.Value()
		c := valueClass(v)
		dst = append(dst, c)
		if names {
			dst = appendEscaped(dst, []byte(e.Key()))
		}
		dst = appendBody(dst, v, c)
	}
	return append(dst, classEnd)
}

// readString reads a BSON string value's bytes without its terminator.
func readString(b []byte) ([]byte, bool, error) {
	if len(b) < 5 {
		return nil, false, nil
	}
	n := int(binary.LittleEndian.Uint32(b))
	if n < 1 || 4+n > len(b) {
		return nil, false, nil
	}
	return b[4 : 4+n-1], true, nil
}

// invert flips every byte of b in place: a descending component.
func invert(b []byte) {
	for i := range b {
		b[i] = ^b[i]
	}
}
