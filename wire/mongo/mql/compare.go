package mql

import (
	"bytes"
	"cmp"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
	"math"
	"math/big"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// typeRank is the canonical rank of a BSON type in MongoDB's comparison order. Numbers share a
// rank, as do strings and symbols; missing sorts with undefined, just below null.
func typeRank(t bson.Type) int {
	switch t {
	case bson.TypeMinKey:
		return -1
	case 0, bson.TypeUndefined:
		return 0
	case bson.TypeNull:
		return 5
	case bson.TypeInt32, bson.TypeInt64, bson.TypeDouble, bson.TypeDecimal128:
		return 10
	case bson.TypeString, bson.TypeSymbol:
		return 15
	case bson.TypeEmbeddedDocument:
		return 20
	case bson.TypeArray:
		return 25
	case bson.TypeBinary:
		return 30
	case bson.TypeObjectID:
		return 35
	case bson.TypeBoolean:
		return 40
	case bson.TypeDateTime:
		return 45
	case bson.TypeTimestamp:
		return 47
	case bson.TypeRegex:
		return 50
	case bson.TypeDBPointer:
		return 55
	case bson.TypeJavaScript:
		return 60
	case bson.TypeCodeWithScope:
		return 65
	case bson.TypeMaxKey:
		return 100
	}
	return 101
}

// CompareValues compares two BSON values in MongoDB's total order: MinKey < null < numbers <
// strings < objects < arrays < binary < ObjectId < bool < date < timestamp < regex < MaxKey.
// Numbers compare by value across int32, int64, double and decimal128 (NaN below all numbers).
// A zero RawValue stands for a missing field and sorts just below null.
func CompareValues(a, b bson.RawValue) int {
	ra, rb := typeRank(a.Type), typeRank(b.Type)
	if ra != rb {
		return cmp.Compare(ra, rb)
	}
	switch ra {
	case -1, 0, 5, 100, 101:
		return 0
	case 10:
		return compareNumbers(a, b)
	case 15:
		return bytes.Compare(stringBytes(a), stringBytes(b))
	case 20, 25:
		return compareDocs(a.Value, b.Value)
	case 30:
		sa, da, _ := a.BinaryOK()
		sb, db, _ := b.BinaryOK()
		if len(da) != len(db) {
			return cmp.Compare(len(da), len(db))
		}
		if sa != sb {
			return cmp.Compare(int(sa), int(sb))
		}
		return bytes.Compare(da, db)
	case 35:
		return bytes.Compare(a.Value, b.Value)
	case 40:
		ba, _ := a.BooleanOK()
		bb, _ := b.BooleanOK()
		return cmp.Compare(b2i(ba), b2i(bb))
	case 45:
		da, _ := a.DateTimeOK()
		db, _ := b.DateTimeOK()
		return cmp.Compare(da, db)
	case 47:
		ta, ia, _ := a.TimestampOK()
		tb, ib, _ := b.TimestampOK()
		if ta != tb {
			return cmp.Compare(uint64(ta), uint64(tb))
		}
		return cmp.Compare(uint64(ia), uint64(ib))
	case 50:
		pa, oa, _ := a.RegexOK()
		pb, ob, _ := b.RegexOK()
		if c := cmp.Compare(pa, pb); c != 0 {
			return c
		}
		return cmp.Compare(oa, ob)
	}
	return bytes.Compare(a.Value, b.Value)
}

func stringBytes(v bson.RawValue) []byte {
	if len(v.Value) < 5 {
		return nil
	}
	return v.Value[4 : len(v.Value)-1]
}

// compareDocs compares documents (or arrays) element by element: type rank, then field name,
// then value; a prefix sorts first. It walks both encodings in place (sorts call it a lot).
func compareDocs(a, b []byte) int {
	ra, rb := docBody(a), docBody(b)
	for {
		ea, restA, okA := bsoncore.ReadElement(ra)
		eb, restB, okB := bsoncore.ReadElement(rb)
		okA, okB = okA && len(ea) > 0, okB && len(eb) > 0
		switch {
		case !okA && !okB:
			return 0
		case !okA:
			return -1
		case !okB:
			return 1
		}
		va, vb := ea.Value(), eb.Value()
		if c := cmp.Compare(typeRank(bson.Type(va.Type)), typeRank(bson.Type(vb.Type))); c != 0 {
			return c
		}
		if c := bytes.Compare(ea.KeyBytes(), eb.KeyBytes()); c != 0 {
			return c
		}
		if c := CompareValues(bson.RawValue{Type: bson.Type(va.Type), Value: va.Data}, bson.RawValue{Type: bson.Type(vb.Type), Value: vb.Data}); c != 0 {
			return c
		}
		ra, rb = restA, restB
	}
}

// docBody is a document's elements without its length prefix and terminating zero (nil when the
// encoding is too short).
func docBody(d []byte) []byte {
	if len(d) < 5 {
		return nil
	}
	return d[4 : len(d)-1]
}

// compareNumbers compares numeric values exactly; NaN equals NaN and sorts below all numbers.
func compareNumbers(a, b bson.RawValue) int {
	if a.Type == bson.TypeDecimal128 || b.Type == bson.TypeDecimal128 {
		return compareBig(a, b)
	}
	ai, aInt := intOf(a)
	bi, bInt := intOf(b)
	if aInt && bInt {
		return cmp.Compare(ai, bi)
	}
	if aInt {
		return -compareFloatInt(toFloat(b), ai)
	}
	if bInt {
		return compareFloatInt(toFloat(a), bi)
	}
	return compareFloats(toFloat(a), toFloat(b))
}

func intOf(v bson.RawValue) (int64, bool) {
	switch v.Type {
	case bson.TypeInt32:
		n, ok := v.Int32OK()
		return int64(n), ok
	case bson.TypeInt64:
		return v.Int64OK()
	}
	return 0, false
}

func compareFloats(x, y float64) int {
	xn, yn := math.IsNaN(x), math.IsNaN(y)
	switch {
	case xn && yn:
		return 0
	case xn:
		return -1
	case yn:
		return 1
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// compareFloatInt compares a double with an int64 without losing precision.
func compareFloatInt(f float64, i int64) int {
	switch {
	case math.IsNaN(f):
		return -1
	case f >= 9223372036854775808.0:
		return 1
	case f < -9223372036854775808.0:
		return -1
	}
	t := math.Trunc(f)
	ti := int64(t)
	if ti != i {
		return cmp.Compare(ti, i)
	}
	return compareFloats(f, t)
}

func compareBig(a, b bson.RawValue) int {
	fa, na := bigOf(a)
	fb, nb := bigOf(b)
	switch {
	case na && nb:
		return 0
	case na:
		return -1
	case nb:
		return 1
	}
	return fa.Cmp(fb)
}

// bigOf converts a number to a big.Float; the bool reports NaN.
func bigOf(v bson.RawValue) (*big.Float, bool) {
	switch v.Type {
	case bson.TypeInt32, bson.TypeInt64:
		n, _ := intOf(v)
		return new(big.Float).SetInt64(n), false
	case bson.TypeDouble:
		f := v.Double()
		if math.IsNaN(f) {
			return nil, true
		}
		return new(big.Float).SetFloat64(f), false
	case bson.TypeDecimal128:
		d := v.Decimal128()
		if d.IsNaN() {
			return nil, true
		}
		if inf := d.IsInf(); inf != 0 {
			return new(big.Float).SetInf(inf < 0), false
		}
		bi, exp, err := d.BigInt()
		if err != nil {
			return nil, true
		}
		f := new(big.Float).SetPrec(256).SetInt(bi)
		if exp != 0 {
			p := new(big.Float).SetPrec(256).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(exp))), nil))
			if exp > 0 {
				f.Mul(f, p)
			} else {
				f.Quo(f, p)
			}
		}
		return f, false
	}
	return nil, true
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
