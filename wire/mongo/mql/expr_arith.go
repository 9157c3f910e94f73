package mql

import (
	"math"
	"math/big"

	"go.mongodb.org/mongo-driver/v2/bson"
)

func arithOps() map[string]opCompiler {
	unary := func(name string, f func(float64) float64, keepInt bool) opCompiler {
		return fixed(name, 1, func(v []bson.RawValue) (bson.RawValue, error) {
			x := v[0]
			if isNullish(x) {
				return vNull(), nil
			}
			if !isNumber(x.Type) {
				return missing, errf(28765, "%s only supports numeric types, not %s", name, typeName(x.Type))
			}
			if keepInt && (x.Type == bson.TypeInt32 || x.Type == bson.TypeInt64) {
				return x, nil
			}
			return numResult(x.Type, f(toFloat(x))), nil
		})
	}
	return map[string]opCompiler{
		"$add":      variadic("$add", addValues),
		"$multiply": variadic("$multiply", mulValues),
		"$subtract": fixed("$subtract", 2, subValues),
		"$divide":   fixed("$divide", 2, divValues),
		"$mod":      fixed("$mod", 2, modValues),
		"$abs": fixed("$abs", 1, func(v []bson.RawValue) (bson.RawValue, error) {
			x := v[0]
			switch {
			case isNullish(x):
				return vNull(), nil
			case x.Type == bson.TypeInt32:
				n := int64(x.Int32())
				return intValue(max(n, -n)), nil
			case x.Type == bson.TypeInt64:
				n := x.Int64()
				if n == math.MinInt64 {
					return missing, errf(28680, "can't take $abs of long long min")
				}
				return vInt64(max(n, -n)), nil
			case isNumber(x.Type):
				return numResult(x.Type, math.Abs(toFloat(x))), nil
			}
			return missing, errf(28765, "$abs only supports numeric types, not %s", typeName(x.Type))
		}),
		"$floor": unary("$floor", math.Floor, true),
		"$ceil":  unary("$ceil", math.Ceil, true),
		"$sqrt":  unary("$sqrt", math.Sqrt, false),
		"$exp":   unary("$exp", math.Exp, false),
		"$ln":    unary("$ln", math.Log, false),
		"$log10": unary("$log10", math.Log10, false),
		"$round": roundOp("$round", roundHalfEven),
		"$trunc": roundOp("$trunc", math.Trunc),
		"$pow": fixed("$pow", 2, func(v []bson.RawValue) (bson.RawValue, error) {
			if isNullish(v[0]) || isNullish(v[1]) {
				return vNull(), nil
			}
			if !isNumber(v[0].Type) || !isNumber(v[1].Type) {
				return missing, errf(28762, "$pow only supports numeric types")
			}
			r := math.Pow(toFloat(v[0]), toFloat(v[1]))
			if isIntType(v[0].Type) && isIntType(v[1].Type) && toFloat(v[1]) >= 0 && math.Abs(r) < 1<<53 {
				return intResult(widestInt(v[0].Type, v[1].Type), int64(r)), nil
			}
			return vDouble(r), nil
		}),
	}
}

func isIntType(t bson.Type) bool { return t == bson.TypeInt32 || t == bson.TypeInt64 }

func widestInt(a, b bson.Type) bson.Type {
	if a == bson.TypeInt64 || b == bson.TypeInt64 {
		return bson.TypeInt64
	}
	return bson.TypeInt32
}

func intResult(t bson.Type, n int64) bson.RawValue {
	if t == bson.TypeInt32 {
		return intValue(n)
	}
	return vInt64(n)
}

// numResult returns f as the given numeric type's float form (decimal stays decimal).
func numResult(t bson.Type, f float64) bson.RawValue {
	if t == bson.TypeDecimal128 {
		return decimalOf(new(big.Float).SetFloat64(f))
	}
	return vDouble(f)
}

func decimalOf(f *big.Float) bson.RawValue {
	d, err := bson.ParseDecimal128(f.Text('g', 34))
	if err != nil {
		return vDouble(math.NaN())
	}
	return vDecimal(d)
}

func variadic(name string, fn func(name string, vals []bson.RawValue) (bson.RawValue, error)) opCompiler {
	return func(args bson.RawValue, env *exprEnv) (expr, error) {
		a, err := argList(args, env)
		if err != nil {
			return nil, err
		}
		return &fnExpr{args: a, fn: func(v []bson.RawValue) (bson.RawValue, error) { return fn(name, v) }}, nil
	}
}

// numAcc accumulates a sum or product with MongoDB's type promotion.
type numAcc struct {
	kind bson.Type // Int32, Int64, Double or Decimal128
	i    int64
	f    float64
	d    *big.Float
}

func newNumAcc(mul bool) *numAcc {
	a := &numAcc{kind: bson.TypeInt32}
	if mul {
		a.i, a.f = 1, 1
	}
	return a
}

func (a *numAcc) toDecimal() {
	if a.kind == bson.TypeDecimal128 {
		return
	}
	if a.kind == bson.TypeDouble {
		a.d = new(big.Float).SetPrec(128).SetFloat64(a.f)
	} else {
		a.d = new(big.Float).SetPrec(128).SetInt64(a.i)
	}
	a.kind = bson.TypeDecimal128
}

func (a *numAcc) add(v bson.RawValue, mul bool) {
	switch {
	case v.Type == bson.TypeDecimal128 || a.kind == bson.TypeDecimal128:
		a.toDecimal()
		x, nan := bigOf(v)
		if nan {
			x = new(big.Float)
		}
		if mul {
			a.d.Mul(a.d, x)
		} else {
			a.d.Add(a.d, x)
		}
	case v.Type == bson.TypeDouble || a.kind == bson.TypeDouble:
		if a.kind != bson.TypeDouble {
			a.f = float64(a.i)
			a.kind = bson.TypeDouble
		}
		if mul {
			a.f *= toFloat(v)
		} else {
			a.f += toFloat(v)
		}
	default:
		n, _ := intOf(v)
		if v.Type == bson.TypeInt64 {
			a.kind = bson.TypeInt64
		}
		var r int64
		var over bool
		if mul {
			r = a.i * n
			over = a.i != 0 && (r/a.i != n || (a.i == -1 && n == math.MinInt64) || (n == -1 && a.i == math.MinInt64))
		} else {
			r = a.i + n
			over = (n > 0 && r < a.i) || (n < 0 && r > a.i)
		}
		if over {
			a.kind = bson.TypeDouble
			if mul {
				a.f = float64(a.i) * float64(n)
			} else {
				a.f = float64(a.i) + float64(n)
			}
			return
		}
		a.i = r
		if a.kind == bson.TypeInt32 && (r > math.MaxInt32 || r < math.MinInt32) {
			a.kind = bson.TypeInt64
		}
	}
}

func (a *numAcc) value() bson.RawValue {
	switch a.kind {
	case bson.TypeInt32:
		return vInt32(int32(a.i))
	case bson.TypeInt64:
		return vInt64(a.i)
	case bson.TypeDouble:
		return vDouble(a.f)
	}
	return decimalOf(a.d)
}

func (a *numAcc) float() float64 {
	switch a.kind {
	case bson.TypeInt32, bson.TypeInt64:
		return float64(a.i)
	case bson.TypeDouble:
		return a.f
	}
	f, _ := a.d.Float64()
	return f
}

func addValues(name string, vals []bson.RawValue) (bson.RawValue, error) {
	acc := newNumAcc(false)
	date, hasDate := int64(0), false
	for _, v := range vals {
		switch {
		case isNullish(v):
			return vNull(), nil
		case v.Type == bson.TypeDateTime:
			if hasDate {
				return missing, errf(16612, "only one date allowed in an $add expression")
			}
			date, hasDate = v.DateTime(), true
		case isNumber(v.Type):
			acc.add(v, false)
		default:
			return missing, errf(16554, "$add only supports numeric or date types, not %s", typeName(v.Type))
		}
	}
	if hasDate {
		return vDate(date + roundMs(acc)), nil
	}
	return acc.value(), nil
}

func roundMs(acc *numAcc) int64 {
	if acc.kind == bson.TypeInt32 || acc.kind == bson.TypeInt64 {
		return acc.i
	}
	return int64(math.Round(acc.float()))
}

func mulValues(name string, vals []bson.RawValue) (bson.RawValue, error) {
	acc := newNumAcc(true)
	for _, v := range vals {
		switch {
		case isNullish(v):
			return vNull(), nil
		case isNumber(v.Type):
			acc.add(v, true)
		default:
			return missing, errf(16555, "$multiply only supports numeric types, not %s", typeName(v.Type))
		}
	}
	return acc.value(), nil
}

func negate(v bson.RawValue) bson.RawValue {
	switch v.Type {
	case bson.TypeInt32:
		return intValue(-int64(v.Int32()))
	case bson.TypeInt64:
		if v.Int64() == math.MinInt64 {
			return vDouble(-float64(v.Int64()))
		}
		return vInt64(-v.Int64())
	case bson.TypeDouble:
		return vDouble(-v.Double())
	}
	f, _ := bigOf(v)
	if f == nil {
		return v
	}
	return decimalOf(f.Neg(f))
}

func subValues(v []bson.RawValue) (bson.RawValue, error) {
	a, b := v[0], v[1]
	switch {
	case isNullish(a) || isNullish(b):
		return vNull(), nil
	case a.Type == bson.TypeDateTime && b.Type == bson.TypeDateTime:
		return vInt64(a.DateTime() - b.DateTime()), nil
	case a.Type == bson.TypeDateTime && isNumber(b.Type):
		acc := newNumAcc(false)
		acc.add(b, false)
		return vDate(a.DateTime() - roundMs(acc)), nil
	case isIntType(a.Type) && isIntType(b.Type):
		x, _ := intOf(a)
		y, _ := intOf(b)
		r := x - y
		if (y > 0 && r > x) || (y < 0 && r < x) {
			return vDouble(float64(x) - float64(y)), nil
		}
		return intResult(widestInt(a.Type, b.Type), r), nil
	case isNumber(a.Type) && isNumber(b.Type):
		acc := newNumAcc(false)
		acc.add(a, false)
		acc.add(negate(b), false)
		return acc.value(), nil
	}
	return missing, errf(16556, "cant $subtract a %s from a %s", typeName(b.Type), typeName(a.Type))
}

func divValues(v []bson.RawValue) (bson.RawValue, error) {
	a, b := v[0], v[1]
	if isNullish(a) || isNullish(b) {
		return vNull(), nil
	}
	if !isNumber(a.Type) || !isNumber(b.Type) {
		return missing, errf(16609, "$divide only supports numeric types, not %s and %s", typeName(a.Type), typeName(b.Type))
	}
	if toFloat(b) == 0 {
		return missing, errf(codeBadValue, "can't $divide by zero")
	}
	if a.Type == bson.TypeDecimal128 || b.Type == bson.TypeDecimal128 {
		x, _ := bigOf(a)
		y, _ := bigOf(b)
		if x == nil || y == nil {
			return decimalOf(new(big.Float)), nil
		}
		return decimalOf(new(big.Float).SetPrec(128).Quo(x, y)), nil
	}
	return vDouble(toFloat(a) / toFloat(b)), nil
}

func modValues(v []bson.RawValue) (bson.RawValue, error) {
	a, b := v[0], v[1]
	if isNullish(a) || isNullish(b) {
		return vNull(), nil
	}
	if !isNumber(a.Type) || !isNumber(b.Type) {
		return missing, errf(16611, "$mod only supports numeric types, not %s and %s", typeName(a.Type), typeName(b.Type))
	}
	if toFloat(b) == 0 {
		return missing, errf(16610, "can't $mod by 0")
	}
	if isIntType(a.Type) && isIntType(b.Type) {
		x, _ := intOf(a)
		y, _ := intOf(b)
		if y == -1 {
			return intResult(widestInt(a.Type, b.Type), 0), nil
		}
		return intResult(widestInt(a.Type, b.Type), x%y), nil
	}
	t := bson.TypeDouble
	if a.Type == bson.TypeDecimal128 || b.Type == bson.TypeDecimal128 {
		t = bson.TypeDecimal128
	}
	return numResult(t, math.Mod(toFloat(a), toFloat(b))), nil
}

func roundHalfEven(f float64) float64 { return math.RoundToEven(f) }

// roundOp is $round / $trunc with an optional place in [-20, 100].
func roundOp(name string, fn func(float64) float64) opCompiler {
	return func(args bson.RawValue, env *exprEnv) (expr, error) {
		a, err := argList(args, env)
		if err != nil {
			return nil, err
		}
		if len(a) < 1 || len(a) > 2 {
			return nil, errf(28667, "Expression %s takes at least 1 argument, and at most 2, but %d were passed in.", name, len(a))
		}
		return &fnExpr{args: a, fn: func(v []bson.RawValue) (bson.RawValue, error) {
			x := v[0]
			place := int64(0)
			if len(v) == 2 {
				if isNullish(v[1]) {
					return vNull(), nil
				}
				p, ok := exactInt(v[1])
				if !ok || p < -20 || p > 100 {
					return missing, errf(51083, "%s requires \"place\" argument to be an integer between -20 and 100", name)
				}
				place = p
			}
			if isNullish(x) {
				return vNull(), nil
			}
			if !isNumber(x.Type) {
				return missing, errf(51081, "%s only supports numeric types, not %s", name, typeName(x.Type))
			}
			if isIntType(x.Type) {
				if place >= 0 {
					return x, nil
				}
				n, _ := intOf(x)
				p := math.Pow(10, float64(-place))
				r := fn(float64(n)/p) * p
				if math.Abs(r) >= 9.2e18 {
					return vDouble(r), nil
				}
				return intResult(x.Type, int64(r)), nil
			}
			f := toFloat(x)
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return x, nil
			}
			p := math.Pow(10, float64(place))
			r := fn(f*p) / p
			if math.IsInf(f*p, 0) {
				r = f
			}
			return numResult(x.Type, r), nil
		}}, nil
	}
}
