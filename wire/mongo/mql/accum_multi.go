package mql

import (
	"slices"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// The accumulators over n values (MongoDB 5.2+): $firstN, $lastN, $maxN and $minN take
// {input, n}; $top and $bottom take {sortBy, output}, $topN and $bottomN {sortBy, output, n}.

var multiAccumulators = map[string]bool{"$firstN": true, "$lastN": true, "$maxN": true, "$minN": true,
	"$top": true, "$bottom": true, "$topN": true, "$bottomN": true}

// compileMulti fills spec for one of multiAccumulators from its argument object.
func compileMulti(spec *accSpec, arg bson.RawValue, env *exprEnv) error {
	op := spec.op
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
