package mql

import (
	"math"
	"regexp"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// valueSource enumerates the values a path reaches (see queryValues).
type valueSource func(fn func(v bson.RawValue, expanded bool) bool)

// valueOp is one operator applied to the values of a path.
type valueOp interface {
	test(src valueSource, env *evalEnv) (bool, error)
}

// compileValueOps compiles the value of a field in a filter: an operator document, a regex, or
// a value for implicit equality.
func compileValueOps(v bson.RawValue, env *exprEnv) ([]valueOp, error) {
	if v.Type == bson.TypeRegex {
		op, err := regexOpOf(v)
		if err != nil {
			return nil, err
		}
		return []valueOp{op}, nil
	}
	if !isOperatorDoc(v) {
		return []valueOp{&cmpOp{op: "$eq", val: v}}, nil
	}
	els, _ := elements(v.Value)
	var ops []valueOp
	var regex, options *bson.RawValue
	for i := range els {
		e := els[i]
		switch e.key {
		case "$regex":
			regex = &els[i].val
			continue
		case "$options":
			options = &els[i].val
			continue
		}
		op, err := compileOp(e.key, e.val, env)
		if err != nil {
			return nil, err
		}
		ops = append(ops, op)
	}
	if options != nil && regex == nil {
		return nil, errf(codeBadValue, "$options needs a $regex")
	}
	if regex != nil {
		op, err := regexFromParts(*regex, options)
		if err != nil {
			return nil, err
		}
		ops = append(ops, op)
	}
	return ops, nil
}

func compileOp(name string, v bson.RawValue, env *exprEnv) (valueOp, error) {
	switch name {
	case "$eq", "$gt", "$gte", "$lt", "$lte":
		if v.Type == bson.TypeRegex && name != "$eq" {
			return nil, errf(codeBadValue, "Can't have RegEx as arg to predicate over field")
		}
		return &cmpOp{op: name, val: v}, nil
	case "$ne":
		return notOp{[]valueOp{&cmpOp{op: "$eq", val: v}}}, nil
	case "$in", "$nin":
		if v.Type != bson.TypeArray {
			return nil, errf(codeBadValue, "%s needs an array", name)
		}
		in, err := newInOp(values(v.Value))
		if err != nil {
			return nil, err
		}
		if name == "$nin" {
			return notOp{[]valueOp{in}}, nil
		}
		return in, nil
	case "$exists":
		return existsOp(truthy(v)), nil
	case "$type":
		return newTypeOp(v)
	case "$size":
		n, ok := exactInt(v)
		if !ok {
			return nil, errf(codeBadValue, "$size needs a number")
		}
		if n < 0 {
			return nil, errf(codeBadValue, "$size may not be negative")
		}
		return sizeOp(n), nil
	case "$mod":
		return newModOp(v)
	case "$all":
		if v.Type != bson.TypeArray {
			return nil, errf(codeBadValue, "$all needs an array")
		}
		return newAllOp(values(v.Value), env)
	case "$elemMatch":
		if v.Type != bson.TypeEmbeddedDocument {
			return nil, errf(codeBadValue, "$elemMatch needs an Object")
		}
		return newElemMatch(v, env)
	case "$not":
		switch {
		case v.Type == bson.TypeRegex:
			op, err := regexOpOf(v)
			if err != nil {
				return nil, err
			}
			return notOp{[]valueOp{op}}, nil
		case v.Type != bson.TypeEmbeddedDocument:
			return nil, errf(codeBadValue, "$not needs a regex or a document")
		case len(v.Value) <= 5:
			return nil, errf(codeBadValue, "$not cannot be empty")
		case !isOperatorDoc(v):
			return nil, errf(codeBadValue, "unknown operator: %s", firstKey(v.Value))
		}
		inner, err := compileValueOps(v, env)
		if err != nil {
			return nil, err
		}
		return notOp{inner}, nil
	case "$comment":
		return trueOp{}, nil
	}
	return nil, errf(codeBadValue, "unknown operator: %s", name)
}

func firstKey(doc []byte) string {
	k := ""
	_ = forEach(doc, func(key []byte, _ bson.RawValue) bool { k = string(key); return false })
	return k
}

// exactInt converts an integral number to int64.
func exactInt(v bson.RawValue) (int64, bool) {
	switch v.Type {
	case bson.TypeInt32, bson.TypeInt64:
		return intOf(v)
	case bson.TypeDouble, bson.TypeDecimal128:
		f := toFloat(v)
		if f != math.Trunc(f) || math.IsInf(f, 0) || math.Abs(f) > 1<<62 {
			return 0, false
		}
		return int64(f), true
	}
	return 0, false
}

type trueOp struct{}

func (trueOp) test(valueSource, *evalEnv) (bool, error) { return true, nil }

// cmpOp is $eq, $gt, $gte, $lt or $lte with MongoDB's type bracketing.
type cmpOp struct {
	op  string
	val bson.RawValue
}

func (o *cmpOp) test(src valueSource, _ *evalEnv) (bool, error) {
	found := false
	src(func(v bson.RawValue, _ bool) bool {
		found = compareMatches(o.op, v, o.val)
		return !found
	})
	return found, nil
}

func isNaNValue(v bson.RawValue) bool {
	switch v.Type {
	case bson.TypeDouble:
		return math.IsNaN(v.Double())
	case bson.TypeDecimal128:
		return v.Decimal128().IsNaN()
	}
	return false
}

// compareMatches applies a comparison operator to one value.
func compareMatches(op string, v, x bson.RawValue) bool {
	if x.Type == bson.TypeNull {
		switch op {
		case "$eq", "$gte", "$lte":
			return isNullish(v)
		}
		return false
	}
	if x.Type == bson.TypeMinKey || x.Type == bson.TypeMaxKey {
		if isMissing(v) {
			return false
		}
		return cmpResult(op, CompareValues(v, x))
	}
	if isMissing(v) || typeRank(v.Type) != typeRank(x.Type) {
		return false
	}
	if typeRank(x.Type) == 10 {
		vn, xn := isNaNValue(v), isNaNValue(x)
		if vn || xn {
			return vn && xn && (op == "$eq" || op == "$gte" || op == "$lte")
		}
	}
	return cmpResult(op, CompareValues(v, x))
}

func cmpResult(op string, c int) bool {
	switch op {
	case "$eq":
		return c == 0
	case "$gt":
		return c > 0
	case "$gte":
		return c >= 0
	case "$lt":
		return c < 0
	case "$lte":
		return c <= 0
	}
	return false
}

// notOp negates the conjunction of its operators ($ne, $nin, $not).
type notOp struct{ ops []valueOp }

func (o notOp) test(src valueSource, env *evalEnv) (bool, error) {
	for _, op := range o.ops {
		ok, err := op.test(src, env)
		if err != nil {
			return false, err
		}
		if !ok {
			return true, nil
		}
	}
	return false, nil
}

// inOp is $in: equality with any value, or a match of any regex.
type inOp struct {
	vals    []bson.RawValue
	regexes []*regexOp
}

func newInOp(vals []bson.RawValue) (*inOp, error) {
	o := &inOp{}
	for _, v := range vals {
		if v.Type == bson.TypeRegex {
			r, err := regexOpOf(v)
			if err != nil {
				return nil, err
			}
			o.regexes = append(o.regexes, r)
			continue
		}
		if isOperatorDoc(v) {
			return nil, errf(codeBadValue, "cannot nest $ under $in")
		}
		o.vals = append(o.vals, v)
	}
	return o, nil
}

func (o *inOp) test(src valueSource, _ *evalEnv) (bool, error) {
	found := false
	src(func(v bson.RawValue, _ bool) bool {
		for _, x := range o.vals {
			if compareMatches("$eq", v, x) {
				found = true
				return false
			}
		}
		for _, r := range o.regexes {
			if r.matchValue(v) {
				found = true
				return false
			}
		}
		return true
	})
	return found, nil
}

type existsOp bool

func (o existsOp) test(src valueSource, _ *evalEnv) (bool, error) {
	exists := false
	src(func(v bson.RawValue, _ bool) bool {
		exists = !isMissing(v)
		return !exists
	})
	return exists == bool(o), nil
}

// typeOp is $type.
type typeOp struct {
	types  map[bson.Type]bool
	number bool
}

var typeAliases = map[string]bson.Type{
	"double": bson.TypeDouble, "string": bson.TypeString, "object": bson.TypeEmbeddedDocument,
	"array": bson.TypeArray, "binData": bson.TypeBinary, "undefined": bson.TypeUndefined,
	"objectId": bson.TypeObjectID, "bool": bson.TypeBoolean, "date": bson.TypeDateTime,
	"null": bson.TypeNull, "regex": bson.TypeRegex, "dbPointer": bson.TypeDBPointer,
	"javascript": bson.TypeJavaScript, "symbol": bson.TypeSymbol, "javascriptWithScope": bson.TypeCodeWithScope,
	"int": bson.TypeInt32, "timestamp": bson.TypeTimestamp, "long": bson.TypeInt64,
	"decimal": bson.TypeDecimal128, "minKey": bson.TypeMinKey, "maxKey": bson.TypeMaxKey,
}

func newTypeOp(v bson.RawValue) (*typeOp, error) {
	o := &typeOp{types: map[bson.Type]bool{}}
	specs := []bson.RawValue{v}
	if v.Type == bson.TypeArray {
		specs = values(v.Value)
	}
	for _, s := range specs {
		if s.Type == bson.TypeString {
			name := s.StringValue()
			if name == "number" {
				o.number = true
				continue
			}
			t, ok := typeAliases[name]
			if !ok {
				return nil, errf(codeBadValue, "Unknown type name alias: %s", name)
			}
			o.types[t] = true
			continue
		}
		n, ok := exactInt(s)
		if !ok {
			return nil, errf(codeTypeMismatch, "type must be represented as a number or a string")
		}
		if n == -1 {
			o.types[bson.TypeMinKey] = true
			continue
		}
		if n == 127 || (n >= 1 && n <= 19) {
			o.types[bson.Type(byte(n))] = true
			continue
		}
		return nil, errf(codeBadValue, "Invalid numerical type code: %d", n)
	}
	return o, nil
}

func (o *typeOp) test(src valueSource, _ *evalEnv) (bool, error) {
	found := false
	src(func(v bson.RawValue, _ bool) bool {
		found = !isMissing(v) && (o.types[v.Type] || (o.number && isNumber(v.Type)))
		return !found
	})
	return found, nil
}

type sizeOp int64

func (o sizeOp) test(src valueSource, _ *evalEnv) (bool, error) {
	found := false
	src(func(v bson.RawValue, expanded bool) bool {
		if !expanded && v.Type == bson.TypeArray {
			found = int64(len(values(v.Value))) == int64(o)
		}
		return !found
	})
	return found, nil
}

type modOp struct{ div, rem int64 }

func newModOp(v bson.RawValue) (*modOp, error) {
	if v.Type != bson.TypeArray {
		return nil, errf(codeBadValue, "malformed mod, needs to be an array")
	}
	vs := values(v.Value)
	if len(vs) < 2 {
		return nil, errf(codeBadValue, "malformed mod, not enough elements")
	}
	if len(vs) > 2 {
		return nil, errf(codeBadValue, "malformed mod, too many elements")
	}
	if !isNumber(vs[0].Type) || !isNumber(vs[1].Type) {
		return nil, errf(codeBadValue, "malformed mod, divisor and remainder not numbers")
	}
	d, r := truncInt(vs[0]), truncInt(vs[1])
	if d == 0 {
		return nil, errf(codeBadValue, "divisor cannot be 0")
	}
	return &modOp{div: d, rem: r}, nil
}

func truncInt(v bson.RawValue) int64 {
	if n, ok := intOf(v); ok {
		return n
	}
	f := toFloat(v)
	switch {
	case math.IsNaN(f):
		return 0
	case f >= 9.2e18:
		return math.MaxInt64
	case f <= -9.2e18:
		return math.MinInt64
	}
	return int64(f)
}

func (o *modOp) test(src valueSource, _ *evalEnv) (bool, error) {
	found := false
	src(func(v bson.RawValue, _ bool) bool {
		if isNumber(v.Type) && !isNaNValue(v) && !math.IsInf(toFloat(v), 0) {
			n := truncInt(v)
			if o.div == -1 {
				found = o.rem == 0
			} else {
				found = n%o.div == o.rem
			}
		}
		return !found
	})
	return found, nil
}

// regexOp is $regex: string values matched by the pattern, or regex values with the same pattern.
type regexOp struct {
	re               *regexp.Regexp
	pattern, options string
}

func regexOpOf(v bson.RawValue) (*regexOp, error) {
	p, o := v.Regex()
	re, err := compileRegex(p, o)
	if err != nil {
		return nil, err
	}
	return &regexOp{re: re, pattern: p, options: o}, nil
}

func regexFromParts(r bson.RawValue, options *bson.RawValue) (*regexOp, error) {
	var p, o string
	switch r.Type {
	case bson.TypeString:
		p = r.StringValue()
	case bson.TypeRegex:
		p, o = r.Regex()
	default:
		return nil, errf(codeBadValue, "$regex has to be a string")
	}
	if options != nil {
		if options.Type != bson.TypeString {
			return nil, errf(codeBadValue, "$options has to be a string")
		}
		if o != "" && options.StringValue() != "" {
			return nil, errf(codeBadValue, "options set in both $regex and $options")
		}
		o += options.StringValue()
	}
	if strings.ContainsRune(p, 0) {
		return nil, errf(codeBadValue, "Regular expression cannot contain an embedded null byte")
	}
	re, err := compileRegex(p, o)
	if err != nil {
		return nil, err
	}
	return &regexOp{re: re, pattern: p, options: o}, nil
}

func (o *regexOp) matchValue(v bson.RawValue) bool {
	switch v.Type {
	case bson.TypeString, bson.TypeSymbol:
		return o.re.Match(stringBytes(v))
	case bson.TypeRegex:
		p, opts := v.Regex()
		return p == o.pattern && opts == o.options
	}
	return false
}

func (o *regexOp) test(src valueSource, _ *evalEnv) (bool, error) {
	found := false
	src(func(v bson.RawValue, _ bool) bool {
		found = o.matchValue(v)
		return !found
	})
	return found, nil
}

// allOp is $all: every value (or $elemMatch) must match.
type allOp struct{ ops []valueOp }

func newAllOp(vals []bson.RawValue, env *exprEnv) (*allOp, error) {
	o := &allOp{}
	for _, v := range vals {
		if v.Type == bson.TypeEmbeddedDocument && firstKey(v.Value) == "$elemMatch" {
			em, err := newElemMatch(lookup(v.Value, "$elemMatch"), env)
			if err != nil {
				return nil, err
			}
			o.ops = append(o.ops, em)
			continue
		}
		if isOperatorDoc(v) {
			return nil, errf(codeBadValue, "no $ expressions in $all")
		}
		if v.Type == bson.TypeRegex {
			r, err := regexOpOf(v)
			if err != nil {
				return nil, err
			}
			o.ops = append(o.ops, r)
			continue
		}
		o.ops = append(o.ops, &cmpOp{op: "$eq", val: v})
	}
	return o, nil
}

func (o *allOp) test(src valueSource, env *evalEnv) (bool, error) {
	if len(o.ops) == 0 {
		return false, nil
	}
	for _, op := range o.ops {
		ok, err := op.test(src, env)
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

// elemMatchOp is $elemMatch: some element of an array value matches either value operators
// ({$gt: 1}) or a filter on the element document ({a: 1}).
type elemMatchOp struct {
	ops    []valueOp // value form
	filter matcher   // document form
}

func newElemMatch(v bson.RawValue, env *exprEnv) (*elemMatchOp, error) {
	if v.Type != bson.TypeEmbeddedDocument {
		return nil, errf(codeBadValue, "$elemMatch needs an Object")
	}
	k := firstKey(v.Value)
	if strings.HasPrefix(k, "$") && k != "$and" && k != "$or" && k != "$nor" && k != "$expr" {
		ops, err := compileValueOps(v, env)
		if err != nil {
			return nil, err
		}
		return &elemMatchOp{ops: ops}, nil
	}
	m, err := compileAnd(v.Value, env)
	if err != nil {
		return nil, err
	}
	return &elemMatchOp{filter: m}, nil
}

func (o *elemMatchOp) test(src valueSource, env *evalEnv) (bool, error) {
	found := false
	var ferr error
	src(func(v bson.RawValue, expanded bool) bool {
		if expanded || v.Type != bson.TypeArray {
			return true
		}
		for _, e := range values(v.Value) {
			ok, err := o.element(e, env)
			if err != nil {
				ferr = err
				return false
			}
			if ok {
				found = true
				return false
			}
		}
		return true
	})
	return found, ferr
}

func (o *elemMatchOp) element(e bson.RawValue, env *evalEnv) (bool, error) {
	if o.filter != nil {
		if e.Type != bson.TypeEmbeddedDocument {
			return false, nil
		}
		return o.filter.match(e.Value, env)
	}
	single := func(fn func(bson.RawValue, bool) bool) {
		if !fn(e, false) {
			return
		}
		if e.Type == bson.TypeArray {
			for _, x := range values(e.Value) {
				if !fn(x, true) {
					return
				}
			}
		}
	}
	for _, op := range o.ops {
		ok, err := op.test(single, env)
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}
