package mql

import (
	"slices"
	"sort"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/wire/mongoerr"
)

// The array update operators ($pull, $pullAll, $bit on integers, $push's $position, $sort and
// $slice) and positional paths: "$" (the element the query matched), "$[]" (every element) and
// "$[id]" (the elements an arrayFilters entry matches).

// UpdateContext is what an update statement gives its update beside u: the query (for "$") and
// the arrayFilters (for "$[id]").
type UpdateContext struct {
	Query        bson.Raw
	ArrayFilters []bson.RawValue
}

// CompileUpdateIn compiles u with the statement's query and arrayFilters.
func CompileUpdateIn(u bson.RawValue, now time.Time, uc UpdateContext) (up *Update, err error) {
	if up, err = CompileUpdate(u, now); err != nil {
		return nil, err
	}
	defer recoverErr(&err)
	if len(uc.Query) > 0 {
		if up.query, err = CompileFilter(uc.Query); err != nil {
			return nil, err
		}
		up.rawQuery = uc.Query
	}
	up.arrayFilters = map[string]*Filter{}
	for _, af := range uc.ArrayFilters {
		if af.Type != bson.TypeEmbeddedDocument {
			return nil, errf(mongoerr.TypeMismatch, "BSON field 'update.updates.arrayFilters' is the wrong type '%s', expected type 'object'", typeName(af.Type))
		}
		els, _ := elements(af.Value)
		if len(els) == 0 {
			return nil, errf(mongoerr.FailedToParse, "Cannot use an expression without a top-level field name in arrayFilters")
		}
		id := ""
		for _, e := range els {
			top, _, _ := strings.Cut(e.key, ".")
			if !validFilterID(top) {
				return nil, errf(mongoerr.BadValue, "Error parsing array filter :: caused by :: The top-level field name must be an alphanumeric string beginning with a lowercase letter, found '%s'", top)
			}
			if id != "" && top != id {
				return nil, errf(mongoerr.FailedToParse, "Error parsing array filter :: caused by :: Expected a single top-level field name, found '%s' and '%s'", id, top)
			}
			id = top
		}
		if up.arrayFilters[id] != nil {
			return nil, errf(mongoerr.FailedToParse, "Found multiple array filters with the same top-level field name %s", id)
		}
		if up.arrayFilters[id], err = CompileFilter(af.Value); err != nil {
			return nil, err
		}
	}
	used := map[string]bool{}
	for _, op := range up.ops {
		for _, p := range op.path {
			if id, ok := filterID(p); ok && id != "" {
				if up.arrayFilters[id] == nil {
					return nil, errf(mongoerr.BadValue, "No array filter found for identifier '%s' in path '%s'", id, strings.Join(op.path, "."))
				}
				used[id] = true
			}
		}
	}
	for id := range up.arrayFilters {
		if !used[id] {
			return nil, errf(mongoerr.FailedToParse, "The array filter for identifier '%s' was not used in the update %s", id, bson.Raw(u.Value).String())
		}
	}
	return up, nil
}

// validFilterID reports whether s can name an array filter: a lowercase letter, then letters and
// digits.
func validFilterID(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// filterID reports whether p is "$[]" (id "") or "$[id]".
func filterID(p string) (string, bool) {
	if strings.HasPrefix(p, "$[") && strings.HasSuffix(p, "]") {
		return p[2 : len(p)-1], true
	}
	return "", false
}

// positional reports whether a path has a positional part.
func positional(path []string) bool {
	return slices.ContainsFunc(path, func(p string) bool { return p == "$" || strings.HasPrefix(p, "$[") })
}

// expandPath returns the concrete paths a positional path names in doc.
func (up *Update) expandPath(doc []byte, path []string) ([][]string, error) {
	out := [][]string{nil}
	for i, p := range path {
		id, isFilter := filterID(p)
		if p != "$" && !isFilter {
			for k := range out {
				out[k] = append(out[k], p)
			}
			continue
		}
		var next [][]string
		for _, pre := range out {
			arr := getAt(vDoc(doc), pre)
			if arr.Type != bson.TypeArray {
				return nil, errf(mongoerr.BadValue, "The path '%s' must exist in the document in order to apply array updates.", strings.Join(path[:i], "."))
			}
			els := values(arr.Value)
			var idx []int
			switch {
			case p == "$":
				j, err := up.matchedIndex(doc, pre, els)
				if err != nil {
					return nil, err
				}
				idx = []int{j}
			case id == "":
				for j := range els {
					idx = append(idx, j)
				}
			default:
				f := up.arrayFilters[id]
				for j, e := range els {
					ok, err := f.Match(bson.Raw(single(id, e)))
					if err != nil {
						return nil, err
					}
					if ok {
						idx = append(idx, j)
					}
				}
			}
			for _, j := range idx {
				next = append(next, append(slices.Clone(pre), itoa(j)))
			}
		}
		out = next
	}
	return out, nil
}

// matchedIndex is the index of the first element of the array at pre that the statement's query
// matches when the array holds only that element: MongoDB's positional "$".
func (up *Update) matchedIndex(doc []byte, pre []string, els []bson.RawValue) (int, error) {
	if up.query != nil && queryTouches(up.rawQuery, strings.Join(pre, "."), 0) {
		for j, e := range els {
			probe, err := setAtRoot(doc, pre, arrayOf([]bson.RawValue{e}))
			if err != nil {
				return 0, err
			}
			if ok, err := up.query.Match(bson.Raw(probe)); err != nil {
				return 0, err
			} else if ok {
				return j, nil
			}
		}
	}
	return 0, errf(mongoerr.BadValue, "The positional operator did not find the match needed from the query.")
}

// itoa formats a small non-negative int.
func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

// checkArrayArg checks the argument of $pull, $pullAll and $bit.
func checkArrayArg(op, field string, v bson.RawValue) error {
	switch op {
	case "$pullAll":
		if v.Type != bson.TypeArray {
			return errf(mongoerr.BadValue, "$pullAll requires an array argument but was given a %s", typeName(v.Type))
		}
	case "$bit":
		if v.Type != bson.TypeEmbeddedDocument {
			return errf(mongoerr.BadValue, "The $bit modifier is not compatible with a %s. You must pass in an embedded document: {$bit: {field: {and/or/xor: #}}", typeName(v.Type))
		}
		els, _ := elements(v.Value)
		if len(els) == 0 {
			return errf(mongoerr.BadValue, "You must pass in at least one bitwise operation. The format is: {$bit: {field: {and/or/xor: #}}")
		}
		for _, e := range els {
			if e.key != "and" && e.key != "or" && e.key != "xor" {
				return errf(mongoerr.BadValue, "The $bit modifier only supports 'and', 'or', and 'xor', not '%s' which is an unknown operator: {%s: %s}", e.key, e.key, e.val.String())
			}
			if e.val.Type != bson.TypeInt32 && e.val.Type != bson.TypeInt64 {
				return errf(mongoerr.BadValue, "The $bit modifier field must be an Integer(32/64 bit); a '%s' is not supported here: {%s: %s}", typeName(e.val.Type), e.key, e.val.String())
			}
		}
	}
	return nil
}

// pullMatcher returns whether an array element matches a $pull condition: a query on the
// element (operators on its value, or fields of a document element), or a value it equals.
func pullMatcher(cond bson.RawValue) (func(bson.RawValue) (bool, error), error) {
	switch {
	case cond.Type == bson.TypeEmbeddedDocument && isOperatorDoc(cond) || cond.Type == bson.TypeRegex:
		f, err := CompileFilter(bson.Raw(single("x", cond)))
		if err != nil {
			return nil, err
		}
		return func(e bson.RawValue) (bool, error) {
			return f.Match(bson.Raw(single("x", e)))
		}, nil
	case cond.Type == bson.TypeEmbeddedDocument:
		f, err := CompileFilter(bson.Raw(cond.Value))
		if err != nil {
			return nil, err
		}
		return func(e bson.RawValue) (bool, error) {
			if e.Type != bson.TypeEmbeddedDocument {
				return false, nil
			}
			return f.Match(bson.Raw(e.Value))
		}, nil
	}
	return func(e bson.RawValue) (bool, error) { return CompareValues(e, cond) == 0, nil }, nil
}

// applyArrayOp applies $pull, $pullAll or $bit at op.path of doc, whose current value is cur.
func applyArrayOp(doc []byte, op updateOp, cur bson.RawValue) ([]byte, error) {
	if op.op == "$bit" {
		return applyBit(doc, op, cur)
	}
	if isMissing(cur) {
		return doc, nil
	}
	if cur.Type != bson.TypeArray {
		return nil, errf(mongoerr.BadValue, "Cannot apply %s to a non-array value", op.op)
	}
	var match func(bson.RawValue) (bool, error)
	if op.op == "$pullAll" {
		all := values(op.arg.Value)
		match = func(e bson.RawValue) (bool, error) {
			return slices.ContainsFunc(all, func(x bson.RawValue) bool { return CompareValues(e, x) == 0 }), nil
		}
	} else {
		var err error
		if match, err = pullMatcher(op.arg); err != nil {
			return nil, err
		}
	}
	var keep []bson.RawValue
	for _, e := range values(cur.Value) {
		ok, err := match(e)
		if err != nil {
			return nil, err
		}
		if !ok {
			keep = append(keep, e)
		}
	}
	return setAtRoot(doc, op.path, arrayOf(keep))
}

// applyBit applies $bit's and/or/xor in order to the integer at op.path (missing is 0).
func applyBit(doc []byte, op updateOp, cur bson.RawValue) ([]byte, error) {
	var n int64
	long := false
	switch cur.Type {
	case bson.TypeInt32:
		n = int64(cur.Int32())
	case bson.TypeInt64:
		n, long = cur.Int64(), true
	case 0:
	default:
		return nil, errf(mongoerr.BadValue, "Cannot apply $bit to a value of non-integral type.{_id: %s} has the field %s of non-integer type %s",
			lookup(doc, "_id").String(), strings.Join(op.path, "."), typeName(cur.Type))
	}
	els, _ := elements(op.arg.Value)
	for _, e := range els {
		var m int64
		if e.val.Type == bson.TypeInt64 {
			m, long = e.val.Int64(), true
		} else {
			m = int64(e.val.Int32())
		}
		switch e.key {
		case "and":
			n &= m
		case "or":
			n |= m
		case "xor":
			n ^= m
		}
	}
	if long {
		return setAtRoot(doc, op.path, vInt64(n))
	}
	return setAtRoot(doc, op.path, vInt32(int32(n)))
}

// pushModifiers applies $push's $position, $sort and $slice (with $each) to elems, after add.
func pushModifiers(elems, add []bson.RawValue, mods bson.RawValue) ([]bson.RawValue, error) {
	pos := len(elems)
	if p := lookup(mods.Value, "$position"); !isMissing(p) {
		n, ok := wholeNumber(p)
		if !ok {
			return nil, errf(mongoerr.BadValue, "The value for $position must be an integer value, not of type: %s", typeName(p.Type))
		}
		if n < 0 {
			n = max(int64(len(elems))+n, 0)
		}
		pos = int(min(n, int64(len(elems))))
	}
	out := make([]bson.RawValue, 0, len(elems)+len(add))
	out = append(append(append(out, elems[:pos]...), add...), elems[pos:]...)
	if s := lookup(mods.Value, "$sort"); !isMissing(s) {
		switch {
		case s.Type == bson.TypeEmbeddedDocument:
			sorter, err := CompileSort(bson.Raw(s.Value))
			if err != nil {
				return nil, err
			}
			for _, e := range out {
				if e.Type != bson.TypeEmbeddedDocument {
					return nil, errf(mongoerr.BadValue, "$sort by field requires every element to be a document")
				}
			}
			sort.SliceStable(out, func(i, j int) bool { return sorter.Compare(out[i].Value, out[j].Value) < 0 })
		case isNumber(s.Type) && (toFloat(s) == 1 || toFloat(s) == -1):
			dir := int(toFloat(s))
			sort.SliceStable(out, func(i, j int) bool { return dir*CompareValues(out[i], out[j]) < 0 })
		default:
			return nil, errf(mongoerr.BadValue, "The $sort is invalid: use 1/-1 to sort the whole element, or {field:1/-1} to sort embedded fields")
		}
	}
	if s := lookup(mods.Value, "$slice"); !isMissing(s) {
		n, ok := wholeNumber(s)
		if !ok {
			return nil, errf(mongoerr.BadValue, "The value for $slice must be an integer value but was given type: %s", typeName(s.Type))
		}
		switch {
		case n >= 0 && int(n) < len(out):
			out = out[:n]
		case n < 0 && int(-n) < len(out):
			out = out[len(out)+int(n):]
		}
	}
	return out, nil
}

// single is the document {key: v}.
func single(key string, v bson.RawValue) []byte {
	b := newBuilder(len(key) + len(v.Value) + 16)
	b.add(key, v)
	return b.finish()
}

// wholeNumber reads an integer given as any numeric type (mongosh sends doubles).
func wholeNumber(v bson.RawValue) (int64, bool) {
	if n, ok := intOf(v); ok {
		return n, true
	}
	if v.Type == bson.TypeDouble && v.Double() == float64(int64(v.Double())) {
		return int64(v.Double()), true
	}
	return 0, false
}

// queryTouches reports whether a query has a condition on path or below it (at the top level or
// under $and, $or, $nor).
func queryTouches(q []byte, path string, depth int) bool {
	els, _ := elements(q)
	for _, e := range els {
		switch {
		case e.key == "$and" || e.key == "$or" || e.key == "$nor":
			if e.val.Type == bson.TypeArray && depth < 20 {
				for _, c := range values(e.val.Value) {
					if c.Type == bson.TypeEmbeddedDocument && queryTouches(c.Value, path, depth+1) {
						return true
					}
				}
			}
		case e.key == path || strings.HasPrefix(e.key, path+"."):
			return true
		}
	}
	return false
}
