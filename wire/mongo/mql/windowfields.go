package mql

import (
	"bytes"
	"math"
	"slices"
	"sort"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/wire/mongoerr"
)

// $setWindowFields (MongoDB 5.0+): documents are grouped by partitionBy, sorted by sortBy, and
// each output field is computed over a window of its partition:
//
//	{$setWindowFields: {partitionBy: "$meta", sortBy: {ts: 1},
//	  output: {avg5: {$avg: "$v", window: {documents: [-4, 0]}},
//	           perHour: {$derivative: {input: "$v", unit: "hour"}, window: {range: [-1, 0], unit: "hour"}}}}}
//
// Windows: documents [lo, hi] (offsets from the current document, or "unbounded" / "current")
// and range [lo, hi] on the single sortBy field (numbers, or dates with a unit). Functions: the
// $group accumulators over the window, $shift, $documentNumber, $rank, $denseRank, $derivative,
// $integral, $expMovingAvg, $locf and $linearFill. A partition is held in memory, up to the sort
// memory (292 past it).

// window bounds: the offsets, or unbounded on that side.
type windowBounds struct {
	set          bool // a window was given
	rangeKind    bool // range window (on the sortBy value) rather than documents
	lo, hi       float64
	loUnb, hiUnb bool
	unitMs       float64 // range on dates: ms per unit; 0 for numbers
}

type windowOutput struct {
	path   []string
	op     string
	arg    expr // the input (or output of $shift)
	win    windowBounds
	by     int64   // $shift
	def    expr    // $shift default
	alpha  float64 // $expMovingAvg
	unitMs float64 // $derivative, $integral: ms per unit (0: no unit)
}

type windowFieldsSpec struct {
	partition expr
	sort      *Sort
	sortPath  []string // the single sortBy field, for range windows and rates
	outputs   []windowOutput
	env       *exprEnv
	mem       int64
}

var windowUnits = map[string]float64{"millisecond": 1, "second": 1000, "minute": 60000, "hour": 3600000,
	"day": 86400000, "week": 7 * 86400000}

func swfErr(format string, args ...any) error { return errf(mongoerr.FailedToParse, format, args...) }

func compileSetWindowFields(arg bson.RawValue, o PipelineOptions, env *exprEnv) (stageSpec, error) {
	if arg.Type != bson.TypeEmbeddedDocument {
		return nil, errf(mongoerr.TypeMismatch, "$setWindowFields must be an object")
	}
	s := &windowFieldsSpec{env: env, mem: o.Sort.Memory}
	if s.mem <= 0 {
		s.mem = DefaultSortMemory
	}
	els, _ := elements(arg.Value)
	var output bson.RawValue
	for _, e := range els {
		switch e.key {
		case "partitionBy":
			x, err := compileExpr(e.val, env)
			if err != nil {
				return nil, err
			}
			s.partition = x
		case "sortBy":
			if e.val.Type != bson.TypeEmbeddedDocument {
				return nil, errf(mongoerr.TypeMismatch, "BSON field '$setWindowFields.sortBy' is the wrong type '%s', expected type 'object'", typeName(e.val.Type))
			}
			srt, err := CompileSort(e.val.Value)
			if err != nil {
				return nil, err
			}
			s.sort = srt
			if keys, _ := elements(e.val.Value); len(keys) == 1 {
				s.sortPath = strings.Split(keys[0].key, ".")
			}
		case "output":
			output = e.val
		default:
			return nil, errf(mongoerr.IDLUnknownField, "BSON field '$setWindowFields.%s' is an unknown field.", e.key)
		}
	}
	if output.Type != bson.TypeEmbeddedDocument {
		return nil, errf(mongoerr.IDLFailedToParse, "BSON field '$setWindowFields.output' is missing but a required field")
	}
	outs, _ := elements(output.Value)
	for _, f := range outs {
		wo, err := s.compileOutput(f, env)
		if err != nil {
			return nil, err
		}
		s.outputs = append(s.outputs, wo)
	}
	return s, nil
}

// compileOutput compiles one output field {fn: arg, window: {...}}.
func (s *windowFieldsSpec) compileOutput(f element, env *exprEnv) (windowOutput, error) {
	wo := windowOutput{path: strings.Split(f.key, ".")}
	if strings.HasPrefix(f.key, "$") {
		return wo, errf(16410, "FieldPath field names may not start with '$'.")
	}
	if f.val.Type != bson.TypeEmbeddedDocument {
		return wo, swfErr("The field '%s' must be an object", f.key)
	}
	els, _ := elements(f.val.Value)
	var fn *element
	for i := range els {
		e := &els[i]
		switch {
		case e.key == "window":
			w, err := s.compileWindow(e.val)
			if err != nil {
				return wo, err
			}
			wo.win = w
		case strings.HasPrefix(e.key, "$"):
			if fn != nil {
				return wo, swfErr("Expected a single window function in '%s', found '%s' and '%s'", f.key, fn.key, e.key)
			}
			fn = e
		default:
			return wo, swfErr("Window function found an unknown argument: %s", e.key)
		}
	}
	if fn == nil {
		return wo, swfErr("Expected a window function in '%s'", f.key)
	}
	wo.op = fn.key
	needSort := func() error {
		if s.sort == nil {
			return swfErr("'%s' requires a sortBy", wo.op)
		}
		return nil
	}
	named := func(allowed ...string) (map[string]bson.RawValue, error) {
		if fn.val.Type != bson.TypeEmbeddedDocument {
			return nil, swfErr("Argument to %s must be an object", wo.op)
		}
		out := map[string]bson.RawValue{}
		args, _ := elements(fn.val.Value)
		for _, a := range args {
			if !slices.Contains(allowed, a.key) {
				return nil, swfErr("%s got unexpected argument: %s", wo.op, a.key)
			}
			out[a.key] = a.val
		}
		return out, nil
	}
	var err error
	switch wo.op {
	case "$sum", "$avg", "$min", "$max", "$first", "$last", "$push", "$addToSet", "$stdDevPop", "$stdDevSamp", "$mergeObjects":
		wo.arg, err = compileExpr(fn.val, env)
	case "$count":
		if fn.val.Type != bson.TypeEmbeddedDocument || len(fn.val.Value) > 5 {
			return wo, errf(codeBadValue, "$count takes no arguments, i.e. $count:{}")
		}
	case "$documentNumber", "$rank", "$denseRank":
		if err := needSort(); err != nil {
			return wo, err
		}
		if wo.win.set {
			return wo, swfErr("%s does not accept a 'window' field", wo.op)
		}
	case "$shift":
		if err := needSort(); err != nil {
			return wo, err
		}
		m, err := named("output", "by", "default")
		if err != nil {
			return wo, err
		}
		by, ok := exactInt(m["by"])
		if !ok {
			return wo, swfErr("'$shift:by' field must be an integer, but found %s", m["by"].String())
		}
		wo.by = by
		if m["output"].Type == 0 {
			return wo, swfErr("$shift requires an 'output' expression")
		}
		if wo.arg, err = compileExpr(m["output"], env); err != nil {
			return wo, err
		}
		if d, ok := m["default"]; ok {
			if wo.def, err = compileExpr(d, env); err != nil {
				return wo, err
			}
		}
	case "$derivative", "$integral":
		if err := needSort(); err != nil {
			return wo, err
		}
		m, err := named("input", "unit")
		if err != nil {
			return wo, err
		}
		if wo.arg, err = compileExpr(m["input"], env); err != nil {
			return wo, err
		}
		if u, ok := m["unit"]; ok {
			ms, ok := windowUnits[u.StringValue()]
			if u.Type != bson.TypeString || !ok {
				return wo, swfErr("unknown time unit value: %s", u.String())
			}
			wo.unitMs = ms
		}
		if wo.op == "$derivative" && !wo.win.set {
			return wo, swfErr("$derivative requires explicit window bounds")
		}
	case "$expMovingAvg":
		if err := needSort(); err != nil {
			return wo, err
		}
		m, err := named("input", "N", "alpha")
		if err != nil {
			return wo, err
		}
		_, hasN := m["N"]
		_, hasAlpha := m["alpha"]
		switch {
		case hasN == hasAlpha:
			return wo, swfErr("$expMovingAvg must have exactly one of 'N' or 'alpha'")
		case hasN:
			n, ok := exactInt(m["N"])
			if !ok || n <= 0 {
				return wo, swfErr("'N' field must be a positive integer")
			}
			wo.alpha = 2 / float64(n+1)
		default:
			a := toFloat(m["alpha"])
			if !isNumber(m["alpha"].Type) || a <= 0 || a >= 1 {
				return wo, swfErr("'alpha' must be between 0 and 1 (exclusive)")
			}
			wo.alpha = a
		}
		if wo.arg, err = compileExpr(m["input"], env); err != nil {
			return wo, err
		}
		if wo.win.set {
			return wo, swfErr("$expMovingAvg does not accept a 'window' field")
		}
	case "$locf", "$linearFill":
		if wo.op == "$linearFill" {
			if err := needSort(); err != nil {
				return wo, err
			}
		}
		if wo.arg, err = compileExpr(fn.val, env); err != nil {
			return wo, err
		}
		if wo.win.set {
			return wo, swfErr("%s does not accept a 'window' field", wo.op)
		}
	default:
		return wo, swfErr("Unrecognized window function, %s", wo.op)
	}
	if err != nil {
		return wo, err
	}
	if wo.win.set && !slices.Contains([]string{"$documentNumber", "$rank", "$denseRank", "$shift", "$expMovingAvg", "$locf", "$linearFill"}, wo.op) {
		if wo.win.rangeKind && (s.sortPath == nil || s.sort == nil) {
			return wo, swfErr("Range-based window requires sortBy a single field")
		}
		if !wo.win.rangeKind && s.sort == nil && !(wo.win.loUnb && wo.win.hiUnb) {
			return wo, swfErr("Document-based bounds require a sortBy")
		}
	}
	return wo, nil
}

// compileWindow parses {documents: [lo, hi]} or {range: [lo, hi], unit}.
func (s *windowFieldsSpec) compileWindow(v bson.RawValue) (windowBounds, error) {
	w := windowBounds{set: true}
	if v.Type != bson.TypeEmbeddedDocument {
		return w, swfErr("'window' field must be an object")
	}
	els, _ := elements(v.Value)
	var bounds bson.RawValue
	unit := ""
	for _, e := range els {
		switch e.key {
		case "documents":
			bounds = e.val
		case "range":
			bounds, w.rangeKind = e.val, true
		case "unit":
			if e.val.Type != bson.TypeString {
				return w, swfErr("'unit' must be a string")
			}
			unit = e.val.StringValue()
		default:
			return w, swfErr("'window' field can only contain 'documents' as the only argument or 'range' with an optional 'unit' field")
		}
	}
	if bounds.Type != bson.TypeArray {
		return w, swfErr("Window bounds must be a 2-element array")
	}
	bs, _ := elements(bounds.Value)
	if len(bs) != 2 {
		return w, swfErr("Window bounds must be a 2-element array")
	}
	parse := func(b bson.RawValue) (float64, bool, error) {
		if b.Type == bson.TypeString {
			switch b.StringValue() {
			case "unbounded":
				return 0, true, nil
			case "current":
				return 0, false, nil
			}
		}
		if !isNumber(b.Type) {
			return 0, false, swfErr("Window bounds must be 'unbounded', 'current', or a number")
		}
		if !w.rangeKind {
			n, ok := exactInt(b)
			if !ok {
				return 0, false, swfErr("Numeric document-based bounds must be an integer")
			}
			return float64(n), false, nil
		}
		return toFloat(b), false, nil
	}
	var err error
	if w.lo, w.loUnb, err = parse(bs[0].val); err != nil {
		return w, err
	}
	if w.hi, w.hiUnb, err = parse(bs[1].val); err != nil {
		return w, err
	}
	if !w.loUnb && !w.hiUnb && w.lo > w.hi {
		return w, swfErr("Lower bound must not exceed upper bound: %s", bounds.String())
	}
	if unit != "" {
		ms, ok := windowUnits[unit]
		if !ok || !w.rangeKind {
			return w, swfErr("unknown time unit value: %s", unit)
		}
		w.unitMs = ms
	}
	return w, nil
}

func (s *windowFieldsSpec) start() stage {
	return &windowFieldsStage{spec: s, parts: map[string]*windowPartition{}}
}

type windowPartition struct {
	docs [][]byte
}

type windowFieldsStage struct {
	spec  *windowFieldsSpec
	parts map[string]*windowPartition
	order []*windowPartition
	held  int64
	kbuf  []byte
}

func (w *windowFieldsStage) process(doc []byte, _ func([]byte) error) error {
	key := missing
	if w.spec.partition != nil {
		k, err := w.spec.partition.eval(&evalEnv{root: doc, static: w.spec.env})
		if err != nil {
			return err
		}
		key = k
	}
	w.kbuf = appendKey(w.kbuf[:0], key)
	p := w.parts[string(w.kbuf)]
	if p == nil {
		p = &windowPartition{}
		w.parts[string(w.kbuf)] = p
		w.order = append(w.order, p)
	}
	p.docs = append(p.docs, bytes.Clone(doc))
	w.held += int64(len(doc))
	if w.held > w.spec.mem {
		return errf(mongoerr.QueryExceededMemoryLimitNoDiskUseAllowed,
			"$setWindowFields holds more than the %d bytes a blocking stage may use", w.spec.mem)
	}
	return nil
}

func (w *windowFieldsStage) flush(emit func([]byte) error) error {
	for _, p := range w.order {
		if err := w.spec.runPartition(p.docs, emit); err != nil {
			return err
		}
	}
	return nil
}

// runPartition sorts one partition and emits its documents with the output fields set.
func (s *windowFieldsSpec) runPartition(docs [][]byte, emit func([]byte) error) error {
	var keys [][]bson.RawValue
	if s.sort != nil {
		idx := make([]int, len(docs))
		keys = make([][]bson.RawValue, len(docs))
		for i := range docs {
			idx[i] = i
			keys[i] = s.sort.keysOf(docs[i])
		}
		slices.SortStableFunc(idx, func(a, b int) int { return s.sort.compareKeys(keys[a], keys[b]) })
		sd, sk := make([][]byte, len(docs)), make([][]bson.RawValue, len(docs))
		for i, j := range idx {
			sd[i], sk[i] = docs[j], keys[j]
		}
		docs, keys = sd, sk
	}
	// the sortBy value of each document, as a number (dates in ms), for ranges and rates
	var xs []float64
	var xsOK []bool
	if s.sortPath != nil {
		xs, xsOK = make([]float64, len(docs)), make([]bool, len(docs))
		for i, d := range docs {
			v := exprPath(vDoc(d), s.sortPath)
			switch {
			case isNumber(v.Type):
				xs[i], xsOK[i] = toFloat(v), true
			case v.Type == bson.TypeDateTime:
				xs[i], xsOK[i] = float64(v.DateTime()), true
			}
		}
	}
	results := make([][]bson.RawValue, len(s.outputs))
	for o, out := range s.outputs {
		vals := make([]bson.RawValue, len(docs))
		if out.arg != nil {
			for i, d := range docs {
				v, err := out.arg.eval(&evalEnv{root: d, static: s.env})
				if err != nil {
					return err
				}
				vals[i] = v
			}
		}
		r, err := s.compute(out, docs, keys, xs, xsOK, vals)
		if err != nil {
			return err
		}
		results[o] = r
	}
	for i, d := range docs {
		for o, out := range s.outputs {
			d = setPath(d, out.path, results[o][i])
		}
		if err := emit(d); err != nil {
			return err
		}
	}
	return nil
}

// windowOf is the [from, to] index range of document i's window (to < from: empty).
func (out *windowOutput) windowOf(i, n int, xs []float64, xsOK []bool) (int, int) {
	w := out.win
	if !w.set || (w.loUnb && w.hiUnb) {
		return 0, n - 1
	}
	if !w.rangeKind {
		from, to := 0, n-1
		if !w.loUnb {
			from = max(0, i+int(w.lo))
		}
		if !w.hiUnb {
			to = min(n-1, i+int(w.hi))
		}
		return from, to
	}
	if !xsOK[i] {
		return 0, -1
	}
	scale := 1.0
	if w.unitMs > 0 {
		scale = w.unitMs
	}
	lo, hi := math.Inf(-1), math.Inf(1)
	if !w.loUnb {
		lo = xs[i] + w.lo*scale
	}
	if !w.hiUnb {
		hi = xs[i] + w.hi*scale
	}
	if mono := monotone(xs, xsOK); mono != 0 {
		// sorted by this value (ascending or descending): the window is one run, found by bisection
		in := func(j int) bool { return xs[j] >= lo && xs[j] <= hi }
		var first int
		if mono > 0 {
			first = sort.Search(n, func(j int) bool { return xs[j] >= lo })
		} else {
			first = sort.Search(n, func(j int) bool { return xs[j] <= hi })
		}
		last := first - 1
		if mono > 0 {
			last = sort.Search(n, func(j int) bool { return xs[j] > hi }) - 1
		} else {
			last = sort.Search(n, func(j int) bool { return xs[j] < lo }) - 1
		}
		if first > last || !in(first) {
			return 0, -1
		}
		return first, last
	}
	from, to := n, -1
	for j := 0; j < n; j++ {
		if xsOK[j] && xs[j] >= lo && xs[j] <= hi {
			from, to = min(from, j), max(to, j)
		}
	}
	return from, to
}

// monotone says whether every value is present and they never decrease (1), never increase
// (-1), or neither (0).
func monotone(xs []float64, ok []bool) int {
	up, down := true, true
	for j := range xs {
		if !ok[j] {
			return 0
		}
		if j > 0 {
			up = up && xs[j] >= xs[j-1]
			down = down && xs[j] <= xs[j-1]
		}
	}
	switch {
	case up:
		return 1
	case down:
		return -1
	}
	return 0
}

// maxWindowWork bounds the values one $setWindowFields output may feed its accumulators in a
// partition (windows that are neither cumulative nor the whole partition cost their width per
// document): past it the stage fails instead of running for hours.
const maxWindowWork = 50_000_000

// compute is one output field's value for every document of a sorted partition.
func (s *windowFieldsSpec) compute(out windowOutput, docs [][]byte, keys [][]bson.RawValue, xs []float64, xsOK []bool, vals []bson.RawValue) ([]bson.RawValue, error) {
	n := len(docs)
	res := make([]bson.RawValue, n)
	switch out.op {
	case "$documentNumber":
		for i := range res {
			res[i] = intValue(int64(i + 1))
		}
	case "$rank", "$denseRank":
		rank, dense := 0, 0
		for i := range res {
			if i == 0 || s.sort.compareKeys(keys[i-1], keys[i]) != 0 {
				rank, dense = i+1, dense+1
			}
			if out.op == "$rank" {
				res[i] = intValue(int64(rank))
			} else {
				res[i] = intValue(int64(dense))
			}
		}
	case "$shift":
		for i := range res {
			j := i + int(out.by)
			switch {
			case j >= 0 && j < n:
				res[i] = vals[j]
			case out.def != nil:
				v, err := out.def.eval(&evalEnv{root: docs[i], static: s.env})
				if err != nil {
					return nil, err
				}
				res[i] = v
			default:
				res[i] = vNull()
			}
			if isMissing(res[i]) {
				res[i] = vNull()
			}
		}
	case "$expMovingAvg":
		var ema float64
		started := false
		for i := range res {
			if !isNumber(vals[i].Type) {
				res[i] = vNull()
				continue
			}
			x := toFloat(vals[i])
			if !started {
				ema, started = x, true
			} else {
				ema = out.alpha*x + (1-out.alpha)*ema
			}
			res[i] = vDouble(ema)
		}
	case "$locf":
		last := vNull()
		for i := range res {
			if v := vals[i]; !isMissing(v) && v.Type != bson.TypeNull {
				last = v
			}
			res[i] = last
		}
	case "$linearFill":
		for i := range res {
			v := vals[i]
			if !isMissing(v) && v.Type != bson.TypeNull {
				res[i] = v
				continue
			}
			res[i] = vNull()
			a, b := i-1, i+1
			for a >= 0 && !isNumber(vals[a].Type) {
				a--
			}
			for b < n && !isNumber(vals[b].Type) {
				b++
			}
			if a >= 0 && b < n && xs != nil && xsOK[a] && xsOK[b] && xsOK[i] && xs[b] != xs[a] {
				ya, yb := toFloat(vals[a]), toFloat(vals[b])
				res[i] = vDouble(ya + (yb-ya)*(xs[i]-xs[a])/(xs[b]-xs[a]))
			}
		}
	case "$derivative", "$integral":
		scale := 1.0
		if out.unitMs > 0 {
			scale = out.unitMs
		}
		for i := range res {
			from, to := out.windowOf(i, n, xs, xsOK)
			res[i] = vNull()
			if from >= to || xs == nil {
				if out.op == "$integral" && from == to && from >= 0 {
					res[i] = vDouble(0)
				}
				continue
			}
			if out.op == "$derivative" {
				if xsOK[from] && xsOK[to] && isNumber(vals[from].Type) && isNumber(vals[to].Type) && xs[to] != xs[from] {
					res[i] = vDouble((toFloat(vals[to]) - toFloat(vals[from])) / ((xs[to] - xs[from]) / scale))
				}
				continue
			}
			sum := 0.0
			for j := from + 1; j <= to; j++ {
				if xsOK[j] && xsOK[j-1] && isNumber(vals[j].Type) && isNumber(vals[j-1].Type) {
					sum += (toFloat(vals[j]) + toFloat(vals[j-1])) / 2 * ((xs[j] - xs[j-1]) / scale)
				}
			}
			res[i] = vDouble(sum)
		}
	default: // a $group accumulator over the window
		w := out.win
		switch {
		case !w.set || (w.loUnb && w.hiUnb): // the whole partition: once
			acc := newAccumulator(out.op)
			for _, v := range vals {
				acc.add(v)
			}
			r := acc.result()
			for i := range res {
				res[i] = r
			}
		case w.loUnb: // cumulative: the window only grows
			acc, added := newAccumulator(out.op), 0
			for i := range res {
				_, to := out.windowOf(i, n, xs, xsOK)
				for ; added <= to; added++ {
					acc.add(vals[added])
				}
				res[i] = acc.result()
			}
		default:
			work := 0
			for i := range res {
				from, to := out.windowOf(i, n, xs, xsOK)
				if work += max(0, to-from+1); work > maxWindowWork {
					return nil, errf(mongoerr.ExceededMemoryLimit, "$setWindowFields output '%s' needs more than %d window values in one partition: use a narrower window", strings.Join(out.path, "."), maxWindowWork)
				}
				acc := newAccumulator(out.op)
				for j := from; j <= to; j++ {
					acc.add(vals[j])
				}
				res[i] = acc.result()
			}
		}
	}
	return res, nil
}
