package mql

import (
	"math"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/index"
	"github.com/chronogo/chronogo/wire/mongo/tsdoc"
)

// Pushdown is the part of a filter the storage engine evaluates; it has the meaning of
// wire/mongo.Pushdown without Fields.
type Pushdown struct {
	MinTime, MaxTime int64      // BSON datetime ms, inclusive; math.MinInt64 / math.MaxInt64 when open
	Meta             index.Expr // nil: every series
	Exact            bool       // the pushdown is the whole filter
}

// PushdownOptions tunes ExtractPushdownWith.
type PushdownOptions struct {
	// ScalarMeta promises that no leaf of the meta field is an array, a decimal128 or a symbol
	// (for example because inserts reject them). Without it a condition on "<meta>.x" also selects
	// series whose x (or a parent) is an array, and numeric ones series with a decimal128 x, so
	// the pushdown never misses a document, but it is then not Exact.
	ScalarMeta bool
}

// ExtractPushdown extracts from a filter the time range on timeField and the predicate on the
// metaField's tags (see ExtractPushdownWith; this is the conservative variant). The pushdown
// never excludes a document the filter matches.
func ExtractPushdown(filter bson.Raw, timeField, metaField string) (Pushdown, error) {
	return ExtractPushdownWith(filter, timeField, metaField, PushdownOptions{})
}

// ExtractPushdownWith is ExtractPushdown with options.
//
// Top-level conditions (and those inside $and) on timeField with $eq/$gt/$gte/$lt/$lte on dates
// narrow [MinTime, MaxTime] (strict bounds ±1 ms). Conditions on the metaField itself (scalar
// meta) or on "<metaField>.path" with $eq/$ne/$in/$nin/$gt/$gte/$lt/$lte/$regex/$exists/$not and
// $or/$and/$nor of them become index expressions on the tags named by those paths, with values
// encoded by tsdoc.TagValueOf; numbers match all of int32/int64/double. Exact is true only when
// every condition was pushed down exactly.
func ExtractPushdownWith(filter bson.Raw, timeField, metaField string, o PushdownOptions) (p Pushdown, err error) {
	defer recoverErr(&err)
	p = Pushdown{MinTime: math.MinInt64, MaxTime: math.MaxInt64, Exact: true}
	if len(filter) == 0 {
		return p, nil
	}
	if _, err := CompileFilter(filter); err != nil {
		return p, err
	}
	x := &extractor{p: &p, time: timeField, meta: metaField, o: o}
	meta := x.top(filter)
	if !isAll(meta.over) {
		p.Meta = meta.over
	}
	p.Exact = p.Exact && meta.exact
	return p, nil
}

// approx brackets a condition by index expressions: over selects every series that may hold a
// matching document, under only series whose documents all match (for negations).
type approx struct {
	over, under index.Expr
	exact       bool
}

var (
	allSeries  index.Expr = index.And{}
	noSeries   index.Expr = index.Or{}
	unknown               = approx{over: allSeries, under: noSeries}
	alwaysTrue            = approx{over: allSeries, under: allSeries, exact: true}
)

func isAll(e index.Expr) bool  { a, ok := e.(index.And); return ok && len(a) == 0 }
func isNone(e index.Expr) bool { o, ok := e.(index.Or); return ok && len(o) == 0 }

func mkAnd(es ...index.Expr) index.Expr {
	var out index.And
	for _, e := range es {
		switch {
		case isNone(e):
			return noSeries
		case isAll(e):
		default:
			if a, ok := e.(index.And); ok {
				out = append(out, a...)
			} else {
				out = append(out, e)
			}
		}
	}
	if len(out) == 1 {
		return out[0]
	}
	return out
}

func mkOr(es ...index.Expr) index.Expr {
	var out index.Or
	for _, e := range es {
		switch {
		case isAll(e):
			return allSeries
		case isNone(e):
		default:
			if o, ok := e.(index.Or); ok {
				out = append(out, o...)
			} else {
				out = append(out, e)
			}
		}
	}
	if len(out) == 1 {
		return out[0]
	}
	return out
}

func mkNot(e index.Expr) index.Expr {
	switch {
	case isAll(e):
		return noSeries
	case isNone(e):
		return allSeries
	}
	if n, ok := e.(index.Not); ok {
		return n.E
	}
	return index.Not{E: e}
}

func andApprox(as []approx) approx {
	r := approx{exact: true}
	var overs, unders []index.Expr
	for _, a := range as {
		overs, unders = append(overs, a.over), append(unders, a.under)
		r.exact = r.exact && a.exact
	}
	r.over, r.under = mkAnd(overs...), mkAnd(unders...)
	return r
}

func orApprox(as []approx) approx {
	r := approx{exact: true}
	var overs, unders []index.Expr
	for _, a := range as {
		overs, unders = append(overs, a.over), append(unders, a.under)
		r.exact = r.exact && a.exact
	}
	r.over, r.under = mkOr(overs...), mkOr(unders...)
	return r
}

func notApprox(a approx) approx {
	return approx{over: mkNot(a.under), under: mkNot(a.over), exact: a.exact}
}

type extractor struct {
	p          *Pushdown
	time, meta string
	o          PushdownOptions
}

// top handles the top-level conjunction, where time conditions narrow the range.
func (x *extractor) top(doc []byte) approx {
	els, _ := elements(doc)
	var conj []approx
	for _, e := range els {
		switch {
		case e.key == "$and" && e.val.Type == bson.TypeArray:
			for _, it := range values(e.val.Value) {
				conj = append(conj, x.top(it.Value))
			}
		case x.time != "" && e.key == x.time:
			if !x.timeCond(e.val) {
				x.p.Exact = false
			}
		default:
			conj = append(conj, x.cond(e.key, e.val))
		}
	}
	return andApprox(conj)
}

// node is a nested filter document (inside $or/$nor): time conditions are not pushed there.
func (x *extractor) node(doc []byte) approx {
	els, _ := elements(doc)
	var conj []approx
	for _, e := range els {
		conj = append(conj, x.cond(e.key, e.val))
	}
	return andApprox(conj)
}

func (x *extractor) cond(key string, v bson.RawValue) approx {
	switch key {
	case "$and", "$or", "$nor":
		var parts []approx
		for _, it := range values(v.Value) {
			parts = append(parts, x.node(it.Value))
		}
		switch key {
		case "$and":
			return andApprox(parts)
		case "$or":
			return orApprox(parts)
		}
		return notApprox(orApprox(parts))
	case "$comment":
		return alwaysTrue
	}
	if x.meta == "" || (key != x.meta && !strings.HasPrefix(key, x.meta+".")) {
		return unknown
	}
	return x.metaCond(key, v)
}

// timeCond narrows the time range; it reports whether the condition was pushed down exactly.
func (x *extractor) timeCond(v bson.RawValue) bool {
	if v.Type == bson.TypeDateTime {
		x.narrow("$eq", v.DateTime())
		return true
	}
	if !isOperatorDoc(v) {
		return false
	}
	exact := true
	els, _ := elements(v.Value)
	for _, e := range els {
		switch e.key {
		case "$eq", "$gt", "$gte", "$lt", "$lte":
			if e.val.Type == bson.TypeDateTime {
				x.narrow(e.key, e.val.DateTime())
				continue
			}
		}
		exact = false
	}
	return exact
}

func (x *extractor) narrow(op string, t int64) {
	p := x.p
	switch op {
	case "$eq":
		p.MinTime, p.MaxTime = max(p.MinTime, t), min(p.MaxTime, t)
	case "$gte":
		p.MinTime = max(p.MinTime, t)
	case "$gt":
		if t == math.MaxInt64 {
			p.MinTime, p.MaxTime = 1, 0
			return
		}
		p.MinTime = max(p.MinTime, t+1)
	case "$lte":
		p.MaxTime = min(p.MaxTime, t)
	case "$lt":
		if t == math.MinInt64 {
			p.MinTime, p.MaxTime = 1, 0
			return
		}
		p.MaxTime = min(p.MaxTime, t-1)
	}
}

// metaCond approximates the conditions on one meta path.
func (x *extractor) metaCond(path string, v bson.RawValue) approx {
	if v.Type == bson.TypeRegex {
		p, o := v.Regex()
		return x.regex(path, p, o)
	}
	if !isOperatorDoc(v) {
		return x.eq(path, v)
	}
	els, _ := elements(v.Value)
	var conj []approx
	regex, options := "", ""
	hasRegex := false
	for _, e := range els {
		switch e.key {
		case "$eq":
			conj = append(conj, x.eq(path, e.val))
		case "$ne":
			conj = append(conj, notApprox(x.eq(path, e.val)))
		case "$in", "$nin":
			var parts []approx
			for _, it := range values(e.val.Value) {
				if it.Type == bson.TypeRegex {
					p, o := it.Regex()
					parts = append(parts, x.regex(path, p, o))
				} else {
					parts = append(parts, x.eq(path, it))
				}
			}
			a := orApprox(parts)
			if e.key == "$nin" {
				a = notApprox(a)
			}
			conj = append(conj, a)
		case "$gt", "$gte", "$lt", "$lte":
			conj = append(conj, x.rng(path, e.key, e.val))
		case "$exists":
			a := approx{over: allSeries, under: index.Match{Key: path, Op: index.OpExists}}
			if !truthy(e.val) {
				a = notApprox(a)
			}
			conj = append(conj, a)
		case "$regex":
			hasRegex = true
			if e.val.Type == bson.TypeRegex {
				regex, options = e.val.Regex()
			} else {
				regex = e.val.StringValue()
			}
		case "$options":
			options += e.val.StringValue()
		case "$not":
			if e.val.Type == bson.TypeRegex {
				p, o := e.val.Regex()
				conj = append(conj, notApprox(x.regex(path, p, o)))
			} else {
				conj = append(conj, notApprox(x.metaCond(path, e.val)))
			}
		case "$comment":
		default:
			conj = append(conj, unknown)
		}
	}
	if hasRegex {
		conj = append(conj, x.regex(path, regex, options))
	}
	return andApprox(conj)
}

// exotic returns the alternatives a condition on path must also select unless ScalarMeta: the
// path or a parent below the meta field being an array.
func (x *extractor) exotic(path string) []index.Expr {
	if x.o.ScalarMeta || path == x.meta {
		return nil
	}
	var out []index.Expr
	for i := len(x.meta) + 1; i <= len(path); i++ {
		if i == len(path) || path[i] == '.' {
			out = append(out, typeMatch(path[:i], storage.TypeArray))
		}
	}
	return out
}

// typeMatch selects series whose tag key holds any value of type t.
func typeMatch(key string, t storage.FieldType) index.Expr {
	return index.Match{Key: key, Op: index.OpGte, Value: storage.TagValue{Type: t}}
}

// withExotic builds the approximation of a condition whose scalar form is exact.
func (x *extractor) withExotic(path string, scalar index.Expr, extra ...index.Expr) approx {
	alts := append(x.exotic(path), extra...)
	return approx{over: mkOr(append([]index.Expr{scalar}, alts...)...), under: scalar, exact: len(alts) == 0}
}

func (x *extractor) eq(path string, v bson.RawValue) approx {
	switch v.Type {
	case bson.TypeString, bson.TypeBoolean, bson.TypeDateTime, bson.TypeObjectID:
		var extra []index.Expr
		if v.Type == bson.TypeString && !x.o.ScalarMeta {
			extra = append(extra, index.Match{Key: path, Op: index.OpEq, Value: storage.TagValue{Type: storage.FieldType(bson.TypeSymbol), Raw: v.Value}})
		}
		return x.withExotic(path, index.Match{Key: path, Op: index.OpEq, Value: tsdoc.TagValueOf(v)}, extra...)
	case bson.TypeInt32, bson.TypeInt64, bson.TypeDouble:
		if isNaNValue(v) {
			return unknown
		}
		var tvs []storage.TagValue
		for _, t := range []bson.Type{bson.TypeInt32, bson.TypeInt64, bson.TypeDouble} {
			if c, ok := convertExact(v, t); ok {
				tvs = append(tvs, tsdoc.TagValueOf(c))
			}
		}
		scalar := index.Expr(index.Match{Key: path, Op: index.OpIn, Values: tvs})
		if len(tvs) == 1 {
			scalar = index.Match{Key: path, Op: index.OpEq, Value: tvs[0]}
		}
		return x.withExotic(path, scalar, x.decimalAlt(path)...)
	case bson.TypeNull:
		scalar := index.Match{Key: path, Op: index.OpEq, Value: tsdoc.TagValueOf(v)}
		a := x.withExotic(path, scalar, index.Match{Key: path, Op: index.OpNotExists})
		a.exact = false
		return a
	}
	return unknown
}

func (x *extractor) decimalAlt(path string) []index.Expr {
	if x.o.ScalarMeta {
		return nil
	}
	return []index.Expr{typeMatch(path, storage.FieldType(bson.TypeDecimal128))}
}

// convertExact converts a number to another numeric type when the value is representable.
func convertExact(v bson.RawValue, t bson.Type) (bson.RawValue, bool) {
	if n, ok := intOf(v); ok {
		switch t {
		case bson.TypeInt32:
			return vInt32(int32(n)), n >= math.MinInt32 && n <= math.MaxInt32
		case bson.TypeInt64:
			return vInt64(n), true
		}
		f := float64(n)
		return vDouble(f), f < 9223372036854775808.0 && int64(f) == n
	}
	f := v.Double()
	if t == bson.TypeDouble {
		return v, true
	}
	if f != math.Trunc(f) || f < -9223372036854775808.0 || f >= 9223372036854775808.0 {
		return missing, false
	}
	n := int64(f)
	if t == bson.TypeInt32 {
		return vInt32(int32(n)), n >= math.MinInt32 && n <= math.MaxInt32
	}
	return vInt64(n), true
}

var opOf = map[string]index.Op{"$gt": index.OpGt, "$gte": index.OpGte, "$lt": index.OpLt, "$lte": index.OpLte}

func (x *extractor) rng(path, op string, v bson.RawValue) approx {
	switch v.Type {
	case bson.TypeString, bson.TypeBoolean, bson.TypeDateTime, bson.TypeObjectID:
		a := x.withExotic(path, index.Match{Key: path, Op: opOf[op], Value: tsdoc.TagValueOf(v)})
		if v.Type == bson.TypeString && !x.o.ScalarMeta {
			a.exact = false
			a.over = mkOr(a.over, typeMatch(path, storage.FieldType(bson.TypeSymbol)))
		}
		return a
	case bson.TypeNull:
		if op == "$gte" || op == "$lte" {
			return x.eq(path, v)
		}
		return approx{over: noSeries, under: noSeries, exact: true}
	case bson.TypeInt32, bson.TypeInt64, bson.TypeDouble:
		if isNaNValue(v) {
			return unknown
		}
		parts := []index.Expr{
			intRange(path, op, v, storage.TypeInt32, math.MinInt32, math.MaxInt32),
			intRange(path, op, v, storage.TypeInt64, math.MinInt64, math.MaxInt64),
		}
		f := toFloat(v)
		exact := true
		if n, ok := intOf(v); ok && (f >= 9223372036854775808.0 || int64(f) != n) {
			exact = false // the bound is not a double: round outwards
			if op == "$gt" {
				op = "$gte"
			} else if op == "$lt" {
				op = "$lte"
			}
		}
		bound := index.Match{Key: path, Op: opOf[op], Value: tsdoc.TagValueOf(vDouble(f))}
		if op == "$gt" || op == "$gte" {
			parts = append(parts, mkAnd(bound, index.Match{Key: path, Op: index.OpLte, Value: tsdoc.TagValueOf(vDouble(math.Inf(1)))}))
		} else {
			parts = append(parts, mkAnd(bound, index.Match{Key: path, Op: index.OpGte, Value: tsdoc.TagValueOf(vDouble(math.Inf(-1)))}))
		}
		a := x.withExotic(path, mkOr(parts...), x.decimalAlt(path)...)
		if !exact {
			a.under = noSeries
			a.exact = false
		}
		return a
	}
	return unknown
}

// intRange selects the integer tags of type t that satisfy "tag op v".
func intRange(path, op string, v bson.RawValue, t storage.FieldType, lo, hi int64) index.Expr {
	var bound float64 // the integer bound, as a float when v is fractional
	n, isInt := intOf(v)
	f := toFloat(v)
	ge := op == "$gt" || op == "$gte"
	// Normalise to tag >= b or tag <= b on integers.
	var b int64
	if isInt {
		b = n
		switch op {
		case "$gt":
			if n == math.MaxInt64 {
				return noSeries
			}
			b = n + 1
		case "$lt":
			if n == math.MinInt64 {
				return noSeries
			}
			b = n - 1
		}
	} else {
		if ge {
			bound = math.Floor(f) + 1
			if op == "$gte" || f != math.Trunc(f) {
				bound = math.Ceil(f)
			}
		} else {
			bound = math.Ceil(f) - 1
			if op == "$lte" || f != math.Trunc(f) {
				bound = math.Floor(f)
			}
		}
		switch {
		case bound >= 9223372036854775808.0:
			if ge {
				return noSeries
			}
			b = math.MaxInt64
		case bound < -9223372036854775808.0:
			if !ge {
				return noSeries
			}
			b = math.MinInt64
		default:
			b = int64(bound)
		}
	}
	if ge {
		if b > hi {
			return noSeries
		}
		return index.Match{Key: path, Op: index.OpGte, Value: storage.TagValue{Type: t, Raw: storage.EncodeTagInt(max(b, lo))}}
	}
	if b < lo {
		return noSeries
	}
	return mkAnd(index.Match{Key: path, Op: index.OpLte, Value: storage.TagValue{Type: t, Raw: storage.EncodeTagInt(min(b, hi))}},
		index.Match{Key: path, Op: index.OpGte, Value: storage.TagValue{Type: t, Raw: storage.EncodeTagInt(lo)}})
}

func (x *extractor) regex(path, pattern, options string) approx {
	re, err := compileRegex(pattern, options)
	if err != nil {
		return unknown
	}
	a := x.withExotic(path, index.Match{Key: path, Op: index.OpRegex, Regex: re})
	if !x.o.ScalarMeta {
		a.exact = false
		a.over = mkOr(a.over, typeMatch(path, storage.FieldType(bson.TypeSymbol)), typeMatch(path, storage.FieldType(bson.TypeRegex)))
	}
	return a
}
