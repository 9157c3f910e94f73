package storage

import (
	"bytes"
	"math"
)

// FieldType is the BSON type of a value. The numeric codes are BSON's own element type bytes, so a
// value keeps its exact BSON type from insert to read.
type FieldType uint8

// BSON element types that the engine stores.
const (
	TypeDouble     FieldType = 0x01 // float64
	TypeString     FieldType = 0x02 // UTF-8 bytes
	TypeDocument   FieldType = 0x03 // a whole BSON document, as bytes
	TypeArray      FieldType = 0x04 // a whole BSON array, as bytes
	TypeBinary     FieldType = 0x05 // BSON binary: subtype byte + data
	TypeObjectID   FieldType = 0x07 // 12 bytes
	TypeBool       FieldType = 0x08
	TypeDateTime   FieldType = 0x09 // int64 ms since the Unix epoch
	TypeNull       FieldType = 0x0A // no payload; stored in the bytes class with empty values
	TypeInt32      FieldType = 0x10 // stored widened to int64
	TypeTimestamp  FieldType = 0x11 // BSON timestamp, uint64 stored as int64 bits
	TypeInt64      FieldType = 0x12
	TypeDecimal128 FieldType = 0x13 // 16 bytes
)

// Class is how a FieldType is held in memory and encoded on disk.
type Class uint8

// Storage classes.
const (
	ClassInvalid Class = iota
	ClassFloat         // []float64
	ClassInt           // []int64
	ClassBool          // []bool
	ClassBytes         // [][]byte
)

// Class returns the storage class of t, or ClassInvalid for a type the engine does not store.
func (t FieldType) Class() Class {
	switch t {
	case TypeDouble:
		return ClassFloat
	case TypeInt32, TypeInt64, TypeDateTime, TypeTimestamp:
		return ClassInt
	case TypeBool:
		return ClassBool
	case TypeString, TypeDocument, TypeArray, TypeBinary, TypeObjectID, TypeNull, TypeDecimal128:
		return ClassBytes
	}
	return ClassInvalid
}

// Valid reports whether t is a type the engine stores.
func (t FieldType) Valid() bool { return t.Class() != ClassInvalid }

// Numeric reports whether values of t take part in sum and avg.
func (t FieldType) Numeric() bool {
	return t == TypeDouble || t == TypeInt32 || t == TypeInt64
}

// Values is one typed column of values; exactly the slice of Type's class is used.
type Values struct {
	Type   FieldType
	Floats []float64
	Ints   []int64
	Bools  []bool
	Bytes  [][]byte
}

// Len is the number of values.
func (v *Values) Len() int {
	switch v.Type.Class() {
	case ClassFloat:
		return len(v.Floats)
	case ClassInt:
		return len(v.Ints)
	case ClassBool:
		return len(v.Bools)
	case ClassBytes:
		return len(v.Bytes)
	}
	return 0
}

// AppendFrom appends src's value at index i; src must have the same class.
func (v *Values) AppendFrom(src *Values, i int) {
	switch v.Type.Class() {
	case ClassFloat:
		v.Floats = append(v.Floats, src.Floats[i])
	case ClassInt:
		v.Ints = append(v.Ints, src.Ints[i])
	case ClassBool:
		v.Bools = append(v.Bools, src.Bools[i])
	case ClassBytes:
		v.Bytes = append(v.Bytes, src.Bytes[i])
	}
}

// Reset empties the column and keeps its capacity.
func (v *Values) Reset() {
	v.Floats, v.Ints, v.Bools, v.Bytes = v.Floats[:0], v.Ints[:0], v.Bools[:0], v.Bytes[:0]
}

// Float returns value i as a float64 for aggregates; ok is false for non-numeric classes.
func (v *Values) Float(i int) (f float64, ok bool) {
	switch v.Type.Class() {
	case ClassFloat:
		return v.Floats[i], true
	case ClassInt:
		return float64(v.Ints[i]), true
	}
	return math.NaN(), false
}

// EqualAt reports whether value i of a equals value j of b (same type, same bits or bytes).
func EqualAt(a *Values, i int, b *Values, j int) bool {
	if a.Type != b.Type {
		return false
	}
	switch a.Type.Class() {
	case ClassFloat:
		return math.Float64bits(a.Floats[i]) == math.Float64bits(b.Floats[j])
	case ClassInt:
		return a.Ints[i] == b.Ints[j]
	case ClassBool:
		return a.Bools[i] == b.Bools[j]
	case ClassBytes:
		return bytes.Equal(a.Bytes[i], b.Bytes[j])
	}
	return false
}
