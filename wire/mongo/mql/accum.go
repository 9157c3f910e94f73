package mql

import (
	"encoding/binary"
	"math"
	"math/big"
	"strconv"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// accumulator is a $group / $timeWindow accumulator state.
type accumulator interface {
	add(v bson.RawValue)
	result() bson.RawValue
}

var accumulatorNames = map[string]bool{"$sum": true, "$avg": true, "$min": true, "$max": true, "$first": true,
	"$last": true, "$push": true, "$addToSet": true, "$count": true, "$stdDevPop": true, "$stdDevSamp": true,
	"$mergeObjects": true}

func newAccumulator(op string) accumulator {
	switch op {
	case "$sum":
		return &sumAcc{n: newNumAcc(false)}
	case "$count":
		return &countAcc{}
	case "$avg":
		return &avgAcc{}
	case "$min":
		return &minMaxAcc{sign: -1}
	case "$max":
		return &minMaxAcc{sign: 1}
	case "$first":
		return &firstAcc{}
	case "$last":
		return &lastAcc{}
	case "$push":
		return &pushAcc{}
	case "$addToSet":
		return &pushAcc{set: map[string]bool{}}
	case "$stdDevPop":
		return &stdDevAcc{}
	case "$stdDevSamp":
		return &stdDevAcc{sample: true}
	case "$mergeObjects":
		return &mergeAcc{doc: emptyDoc}
	}
	return nil
}

type sumAcc struct{ n *numAcc }

func (a *sumAcc) add(v bson.RawValue) {
	if isNumber(v.Type) {
		a.n.add(v, false)
	}
}
func (a *sumAcc) result() bson.RawValue { return a.n.value() }

type countAcc struct{ n int64 }

func (a *countAcc) add(bson.RawValue)     { a.n++ }
func (a *countAcc) result() bson.RawValue { return intValue(a.n) }

type avgAcc struct {
	sum   *numAcc
	count int64
}

func (a *avgAcc) add(v bson.RawValue) {
	if !isNumber(v.Type) {
		return
	}
	if a.sum == nil {
		a.sum = newNumAcc(false)
	}
	a.sum.add(v, false)
	a.count++
}

func (a *avgAcc) result() bson.RawValue {
	if a.count == 0 {
		return vNull()
	}
	if a.sum.kind == bson.TypeDecimal128 {
		return decimalOf(new(big.Float).SetPrec(128).Quo(a.sum.d, new(big.Float).SetInt64(a.count)))
	}
	if a.sum.kind != bson.TypeDouble {
		return vDouble(float64(a.sum.i) / float64(a.count))
	}
	return vDouble(a.sum.f / float64(a.count))
}

type minMaxAcc struct {
	sign int
	v    bson.RawValue
}

func (a *minMaxAcc) add(v bson.RawValue) {
	if isNullish(v) {
		return
	}
	if isMissing(a.v) || CompareValues(v, a.v)*a.sign > 0 {
		a.v = cloneValue(v)
	}
}

func (a *minMaxAcc) result() bson.RawValue {
	if isMissing(a.v) {
		return vNull()
	}
	return a.v
}

type firstAcc struct {
	v    bson.RawValue
	seen bool
}

func (a *firstAcc) add(v bson.RawValue) {
	if !a.seen {
		a.v, a.seen = cloneValue(v), true
	}
}

func (a *firstAcc) result() bson.RawValue {
	if isMissing(a.v) {
		return vNull()
	}
	return a.v
}

type lastAcc struct{ v bson.RawValue }

func (a *lastAcc) add(v bson.RawValue) { a.v = cloneValue(v) }

func (a *lastAcc) result() bson.RawValue {
	if isMissing(a.v) {
		return vNull()
	}
	return a.v
}

type pushAcc struct {
	vals []bson.RawValue
	set  map[string]bool
}

func (a *pushAcc) add(v bson.RawValue) {
	if isMissing(v) {
		return
	}
	if a.set != nil {
		k := string(appendKey(nil, v))
		if a.set[k] {
			return
		}
		a.set[k] = true
	}
	a.vals = append(a.vals, cloneValue(v))
}

func (a *pushAcc) result() bson.RawValue { return arrayOf(a.vals) }

type stdDevAcc struct {
	sample   bool
	n        int64
	mean, m2 float64
}

func (a *stdDevAcc) add(v bson.RawValue) {
	if !isNumber(v.Type) {
		return
	}
	x := toFloat(v)
	a.n++
	d := x - a.mean
	a.mean += d / float64(a.n)
	a.m2 += d * (x - a.mean)
}

func (a *stdDevAcc) result() bson.RawValue {
	n := a.n
	if a.sample {
		n--
	}
	if n <= 0 {
		return vNull()
	}
	return vDouble(math.Sqrt(a.m2 / float64(n)))
}

type mergeAcc struct{ doc []byte }

func (a *mergeAcc) add(v bson.RawValue) {
	if v.Type != bson.TypeEmbeddedDocument {
		return
	}
	els, _ := elements(v.Value)
	for _, e := range els {
		a.doc = setPath(a.doc, []string{e.key}, e.val)
	}
}

func (a *mergeAcc) result() bson.RawValue { return vDoc(a.doc) }

// appendKey appends a canonical encoding of v such that values comparing equal (1, 1.0 and
// NumberLong(1); documents with equal fields) encode identically. Used for grouping and sets.
func appendKey(dst []byte, v bson.RawValue) []byte {
	r := typeRank(v.Type)
	if v.Type == 0 || v.Type == bson.TypeUndefined {
		r = 5 // missing groups with null
	}
	dst = append(dst, byte(r))
	switch r {
	case 5, -1, 100:
		return dst
	case 10:
		if isNaNValue(v) {
			return append(dst, 'N')
		}
		if n, ok := intOf(v); ok {
			return strconv.AppendInt(append(dst, 'i'), n, 10)
		}
		f := toFloat(v)
		if f == math.Trunc(f) && math.Abs(f) < 9e18 {
			return strconv.AppendInt(append(dst, 'i'), int64(f), 10)
		}
		if v.Type == bson.TypeDecimal128 {
			if b, nan := bigOf(v); !nan {
				return append(append(dst, 'd'), b.Text('g', 40)...)
			}
		}
		return binary.BigEndian.AppendUint64(append(dst, 'f'), math.Float64bits(f))
	case 15:
		b := stringBytes(v)
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(b)))
		return append(dst, b...)
	case 20, 25:
		els, _ := elements(v.Value)
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(els)))
		for _, e := range els {
			if r == 20 {
				dst = binary.BigEndian.AppendUint32(dst, uint32(len(e.key)))
				dst = append(dst, e.key...)
			}
			dst = appendKey(dst, e.val)
		}
		return dst
	}
	dst = append(dst, byte(v.Type))
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(v.Value)))
	return append(dst, v.Value...)
}

// AppendKey appends the canonical encoding of v: values MongoDB compares equal (1, 1.0 and
// NumberLong(1); documents with equal fields) encode identically. Plain collections key their
// documents by it.
func AppendKey(dst []byte, v bson.RawValue) []byte { return appendKey(dst, v) }
