package mql

import (
	"math"
	"slices"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/wire/mongoerr"
)

// The accumulators over n values (MongoDB 5.2+): $firstN, $lastN, $maxN and $minN take
// {input, n}; $top and $bottom take {sortBy, output}, $topN and $bottomN {sortBy, output, n}.

var multiAccumulators = map[string]bool{"$firstN": true, "$lastN": true, "$maxN": true, "$minN": true,
	"$top": true, "$bottom": true, "$topN": true, "$bottomN": true, "$percentile": true, "$median": true}

// compileMulti fills spec for one of multiAccumulators from its argument object.
func compileMulti(spec *accSpec, arg bson.RawValue, env *exprEnv) error {
	op := spec.op
	if op == "$percentile" || op == "$median" {
		return compilePercentile(spec, arg, env)
	}
	sorted := op == "$top" || op == "$bottom" || op == "$topN" || op == "$bottomN"
	withN := op != "$top" && op != "$bottom"
	if arg.Type != bson.TypeEmbeddedDocument {
		if sorted {
			return errf(5788001, "specification must be an object; found %s", typeName(arg.Type))
		}
		return errf(5787801, "specification must be an object; found %s", typeName(arg.Type))
	}
	els, _ := elements(arg.Value)
	var input, n, sortBy bson.RawValue
	for _, e := range els {
		switch {
		case e.key == "n" && withN:
			n = e.val
		case e.key == "input" && !sorted, e.key == "output" && sorted:
			input = e.val
		case e.key == "sortBy" && sorted:
			sortBy = e.val
		default:
			if sorted {
				return errf(5788002, "Unknown argument to %s '%s'", op, e.key)
			}
			return errf(5787901, "Unknown argument for 'n' operator: %s", e.key)
		}
	}
	switch {
	case withN && n.Type == 0:
		return errf(5787906, "Missing value for 'n'")
	case sorted && sortBy.Type == 0:
		return errf(5788003, "Missing value for 'sortBy'")
	case sorted && input.Type == 0:
		return errf(5788004, "Missing value for 'output'")
	case input.Type == 0:
		return errf(5787907, "Missing value for 'input'")
	}
	x, err := compileExpr(input, env)
	if err != nil {
		return err
	}
	spec.e = x
	if withN {
		if spec.n, err = compileExpr(n, env); err != nil {
			return err
		}
	}
	if sorted {
		if sortBy.Type != bson.TypeEmbeddedDocument {
			return errf(5788001, "expected an object for 'sortBy', found %s", typeName(sortBy.Type))
		}
		if spec.sortBy, err = CompileSort(sortBy.Value); err != nil {
			return err
		}
	}
	return nil
}

// multiAcc is the state of one of multiAccumulators for one group.
type multiAcc struct {
	op   string
	n    int64 // 0 until the first document sets it
	vals []bson.RawValue
	keys [][]bson.RawValue // sort keys of vals ($top...), in vals' order
	sort *Sort
	// $percentile, $median
	ps         []float64
	continuous bool
	nums       []float64
}

// setN evaluates n on the group's first document: a positive integer.
func (a *multiAcc) setN(v bson.RawValue) error {
	n, ok := exactInt(v)
	if !ok {
		return errf(5787902, "Value for 'n' must be of integral type, but found %s", v.String())
	}
	if n <= 0 {
		return errf(5787908, "'n' must be greater than 0, found %d", n)
	}
	a.n = n
	return nil
}

// addMulti adds one document's value (and sort keys).
func (a *multiAcc) addMulti(v bson.RawValue, keys []bson.RawValue) {
	if isMissing(v) {
		v = vNull()
	}
	switch a.op {
	case "$percentile", "$median":
		if isNumber(v.Type) {
			a.nums = append(a.nums, toFloat(v))
		}
	case "$firstN":
		if int64(len(a.vals)) < a.n {
			a.vals = append(a.vals, cloneValue(v))
		}
	case "$lastN":
		a.vals = append(a.vals, cloneValue(v))
		if int64(len(a.vals)) > a.n {
			a.vals = slices.Delete(a.vals, 0, 1)
		}
	case "$maxN", "$minN":
		if v.Type == bson.TypeNull || v.Type == bson.TypeUndefined {
			return // ignored, as by $max and $min
		}
		sign := 1
		if a.op == "$minN" {
			sign = -1
		}
		i, _ := slices.BinarySearchFunc(a.vals, v, func(e, t bson.RawValue) int { return -sign * CompareValues(e, t) })
		for i < len(a.vals) && CompareValues(a.vals[i], v) == 0 {
			i++ // after equal values: the first seen stays first
		}
		if int64(i) < a.n {
			a.vals = slices.Insert(a.vals, i, cloneValue(v))
			if int64(len(a.vals)) > a.n {
				a.vals = a.vals[:a.n]
			}
		}
	default: // $top, $bottom, $topN, $bottomN: keep the n first (top) or last (bottom) in sort order
		limit := a.n
		if a.op == "$top" || a.op == "$bottom" {
			limit = 1
		}
		bottom := a.op == "$bottom" || a.op == "$bottomN"
		i := len(a.keys)
		for i > 0 && a.sort.compareKeys(a.keys[i-1], keys) > 0 {
			i-- // stable: after equal keys
		}
		if !bottom && int64(i) >= limit {
			return
		}
		ck := make([]bson.RawValue, len(keys))
		for j, k := range keys {
			ck[j] = cloneValue(k)
		}
		a.keys = slices.Insert(a.keys, i, ck)
		a.vals = slices.Insert(a.vals, i, cloneValue(v))
		if int64(len(a.vals)) > limit {
			if bottom {
				a.keys, a.vals = a.keys[1:], a.vals[1:]
			} else {
				a.keys, a.vals = a.keys[:limit], a.vals[:limit]
			}
		}
	}
}

func (a *multiAcc) add(bson.RawValue) {} // unused: groupState calls addMulti

func (a *multiAcc) result() bson.RawValue {
	if a.op == "$percentile" || a.op == "$median" {
		return a.percentiles()
	}
	if a.op == "$top" || a.op == "$bottom" {
		if len(a.vals) == 0 {
			return vNull()
		}
		return a.vals[0]
	}
	b := newBuilder(64)
	for _, v := range a.vals {
		b.push(v)
	}
	return b.array()
}

// compilePercentile compiles {$percentile: {input, p: [..], method}} and {$median: {input,
// method}} (MongoDB 7.0): "approximate" and "discrete" give the nearest-rank value of the group
// (a value of the data), "continuous" interpolates between the two nearest values.
func compilePercentile(spec *accSpec, arg bson.RawValue, env *exprEnv) error {
	op := spec.op
	if arg.Type != bson.TypeEmbeddedDocument {
		return errf(7436100, "specification of %s must be an object, found %s", op, typeName(arg.Type))
	}
	els, _ := elements(arg.Value)
	var input, p, method bson.RawValue
	for _, e := range els {
		switch {
		case e.key == "input":
			input = e.val
		case e.key == "p" && op == "$percentile":
			p = e.val
		case e.key == "method":
			method = e.val
		default:
			return errf(mongoerr.IDLUnknownField, "BSON field '%s.%s' is an unknown field.", op, e.key)
		}
	}
	switch {
	case input.Type == 0:
		return errf(mongoerr.IDLFailedToParse, "BSON field '%s.input' is missing but a required field", op)
	case method.Type == 0:
		return errf(mongoerr.IDLFailedToParse, "BSON field '%s.method' is missing but a required field", op)
	case op == "$percentile" && p.Type == 0:
		return errf(mongoerr.IDLFailedToParse, "BSON field '$percentile.p' is missing but a required field")
	}
	switch method.StringValue() {
	case "approximate", "discrete":
	case "continuous":
		spec.continuous = true
	default:
		return errf(mongoerr.BadValue, "Currently only 'approximate', 'discrete' and 'continuous' can be used as percentile 'method'")
	}
	if op == "$median" {
		spec.ps = []float64{0.5}
	} else {
		if p.Type != bson.TypeArray {
			return errf(7750301, "The $percentile 'p' field must be an array of numbers from [0.0, 1.0], but found: %s", p.String())
		}
		ps, _ := elements(p.Value)
		if len(ps) == 0 {
			return errf(7750301, "The $percentile 'p' field must be an array of numbers from [0.0, 1.0], but found: %s", p.String())
		}
		for _, e := range ps {
			f := toFloat(e.val)
			if !isNumber(e.val.Type) || f < 0 || f > 1 || f != f {
				return errf(7750301, "The $percentile 'p' field must be an array of numbers from [0.0, 1.0], but found: %s", p.String())
			}
			spec.ps = append(spec.ps, f)
		}
	}
	x, err := compileExpr(input, env)
	if err != nil {
		return err
	}
	spec.e = x
	return nil
}

// percentiles is the $percentile array (or the $median value) of the numbers seen; null without
// any.
func (a *multiAcc) percentiles() bson.RawValue {
	slices.Sort(a.nums)
	n := len(a.nums)
	one := func(p float64) bson.RawValue {
		if n == 0 {
			return vNull()
		}
		if a.continuous {
			r := p * float64(n-1)
			lo := int(math.Floor(r))
			hi := min(lo+1, n-1)
			return vDouble(a.nums[lo] + (a.nums[hi]-a.nums[lo])*(r-float64(lo)))
		}
		i := int(math.Ceil(p*float64(n))) - 1
		return vDouble(a.nums[min(max(i, 0), n-1)])
	}
	if a.op == "$median" {
		return one(0.5)
	}
	b := newBuilder(16 * len(a.ps))
	for _, p := range a.ps {
		b.push(one(p))
	}
	return b.array()
}
