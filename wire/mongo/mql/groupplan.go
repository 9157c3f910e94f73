package mql

import (
	"math"
	"slices"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// dateTruncOrigin is the instant $dateTrunc aligns fixed-length bins to: 2000-01-01T00:00:00Z (ms).
const dateTruncOrigin = 946684800000

// maxWindowMs keeps window lengths and origins convertible to ns.
const maxWindowMs = math.MaxInt64 / 1_000_000 / 4

// fixedUnitMs are the $dateTrunc units whose bins have a fixed length in UTC.
var fixedUnitMs = map[string]int64{"millisecond": 1, "second": 1000, "minute": 60_000, "hour": 3_600_000, "day": 86_400_000}

// GroupPlan is a pipeline prefix ($match*, $sort?, then $group or $timeWindow) that the storage
// engine's pre-aggregating scan can compute: the filter is a time range and a meta predicate, the
// group key depends only on the meta field and a fixed-length time bin, and every accumulator
// can be derived from per-column counts, sums, minima, maxima and first and last values.
type GroupPlan struct {
	// Pushdown is the conservative pushdown of the leading $match stages (a superset of the series;
	// the run checks each series' meta value against the filter itself).
	Pushdown Pushdown
	// Window and Origin give the time bins in ms: bins start at Origin + k*Window. Window 0 means
	// one bin over the whole range.
	Window, Origin int64

	o          PipelineOptions
	env        *exprEnv
	filter     *Filter // the leading $match stages, or nil
	id         expr    // group key, evaluated on a document {timeField: bin start, metaField: meta}
	timeWindow bool    // $timeWindow output shape
	partition  expr    // $timeWindow partitionBy, or nil
	accs       []pushedAcc
	needCount  bool
	rest       *Pipeline
}

// accKind is an accumulator the pushdown computes.
type accKind int

const (
	accCount accKind = iota // $count, $sum: 1
	accSum
	accAvg
	accMin
	accMax
	accEarliest // the value in the group's earliest document
	accLatest   // the value in the group's latest document
)

// pushedAcc is one output field of the pushed-down group.
type pushedAcc struct {
	name   string
	kind   accKind
	field  string // measurement field; "" for the time field (or $count)
	isTime bool
}

// PlanGroupPushdown recognises a pushable prefix of a pipeline that CompilePipeline accepted; it
// returns nil when there is none (the pipeline then runs as usual).
func PlanGroupPushdown(stages []bson.Raw, o PipelineOptions) (plan *GroupPlan) {
	defer func() {
		if recover() != nil {
			plan = nil
		}
	}()
	if o.TimeField == "" {
		return nil
	}
	now := o.Now
	env := &exprEnv{now: now}
	p := &GroupPlan{o: o, env: env}
	var matches [][]byte
	i := 0
	for ; i < len(stages); i++ {
		name, arg, ok := stageOf(stages[i])
		if !ok || name != "$match" {
			break
		}
		matches = append(matches, arg.Value)
	}
	var sortKeys []sortKey
	if i < len(stages) {
		if name, arg, ok := stageOf(stages[i]); ok && name == "$sort" {
			s, err := CompileSort(arg.Value)
			if err != nil {
				return nil
			}
			sortKeys = s.keys
			i++
		}
	}
	if i >= len(stages) {
		return nil
	}
	name, arg, ok := stageOf(stages[i])
	if !ok || arg.Type != bson.TypeEmbeddedDocument {
		return nil
	}
	var accEls []element
	var keyPaths [][]string // meta paths that are part of the group key
	switch name {
	case "$group":
		els, _ := elements(arg.Value)
		var idv bson.RawValue
		for _, e := range els {
			if e.key == "_id" {
				idv = e.val
			} else {
				accEls = append(accEls, e)
			}
		}
		if isMissing(idv) || !p.keyShape(idv, &keyPaths) {
			return nil
		}
		x, err := compileExpr(idv, env)
		if err != nil {
			return nil
		}
		p.id = x
	case "$timeWindow":
		if !p.timeWindowShape(arg.Value, &accEls, &keyPaths) {
			return nil
		}
	default:
		return nil
	}
	if !p.accShapes(accEls) {
		return nil
	}
	if !p.sortOK(sortKeys, keyPaths) {
		return nil
	}
	if !p.filterShape(matches) {
		return nil
	}
	after := stages[i+1:]
	if name == "$group" && len(after) > 0 && sortsByIDAscending(after[0]) {
		after = after[1:] // Finish hands the groups on in ascending _id order already
	}
	rest, err := CompilePipeline(after, o)
	if err != nil {
		return nil
	}
	p.rest = rest
	return p
}

// sortsByIDAscending reports whether stage is {$sort: {_id: 1}}: after a $group it changes
// nothing, since GroupRun.Finish orders the groups by CompareValues of their keys (as $sort does)
// and the keys are distinct.
func sortsByIDAscending(stage bson.Raw) bool {
	name, arg, ok := stageOf(stage)
	if !ok || name != "$sort" || arg.Type != bson.TypeEmbeddedDocument {
		return false
	}
	s, err := CompileSort(arg.Value)
	if err != nil || len(s.keys) != 1 {
		return false
	}
	k := s.keys[0]
	return !k.desc && len(k.path) == 1 && k.path[0] == "_id"
}

func stageOf(s bson.Raw) (string, bson.RawValue, bool) {
	els, err := elements(s)
	if err != nil || len(els) != 1 {
		return "", missing, false
	}
	return els[0].key, els[0].val, true
}

// filterShape accepts leading $match stages that are exactly a time range and a meta predicate
// (for scalar meta values; the run evaluates the filter on each series' real meta value).
func (p *GroupPlan) filterShape(matches [][]byte) bool {
	p.Pushdown = Pushdown{MinTime: math.MinInt64, MaxTime: math.MaxInt64, Exact: true}
	if len(matches) == 0 {
		return true
	}
	filter := matches[0]
	if len(matches) > 1 {
		b := newBuilder(64)
		for _, m := range matches {
			b.push(vDoc(m))
		}
		d := newBuilder(64)
		d.add("$and", b.array())
		filter = d.finish()
	}
	exact, err := ExtractPushdownWith(filter, p.o.TimeField, p.o.MetaField, PushdownOptions{ScalarMeta: true})
	if err != nil || !exact.Exact {
		return false
	}
	over, err := ExtractPushdown(filter, p.o.TimeField, p.o.MetaField)
	if err != nil {
		return false
	}
	f, err := compileFilterEnv(filter, p.env)
	if err != nil {
		return false
	}
	p.Pushdown, p.filter = over, f
	p.Pushdown.Exact = true
	return true
}

// metaPath returns the path of a "$<metaField>[.x...]" field path.
func (p *GroupPlan) metaPath(v bson.RawValue) ([]string, bool) {
	if v.Type != bson.TypeString || p.o.MetaField == "" {
		return nil, false
	}
	s := v.StringValue()
	if s != "$"+p.o.MetaField && !strings.HasPrefix(s, "$"+p.o.MetaField+".") {
		return nil, false
	}
	if strings.Contains(s, "..") || strings.HasSuffix(s, ".") {
		return nil, false
	}
	return splitPath(s[1:]), true
}

// keyShape accepts a group key made of constants, meta paths, fixed-unit $dateTrunc of the time
// field and documents of these.
func (p *GroupPlan) keyShape(v bson.RawValue, paths *[][]string) bool {
	switch v.Type {
	case bson.TypeString:
		s := v.StringValue()
		if !strings.HasPrefix(s, "$") {
			return true
		}
		path, ok := p.metaPath(v)
		if ok {
			*paths = append(*paths, path)
		}
		return ok
	case bson.TypeArray, bson.TypeJavaScript, bson.TypeCodeWithScope:
		return false
	case bson.TypeEmbeddedDocument:
		els, err := elements(v.Value)
		if err != nil {
			return false
		}
		if len(els) == 1 && els[0].key == "$dateTrunc" {
			return p.dateTruncShape(els[0].val)
		}
		for _, e := range els {
			if strings.HasPrefix(e.key, "$") || !p.keyShape(e.val, paths) {
				return false
			}
		}
		return true
	}
	return true
}

// dateTruncShape accepts {date: "$<timeField>", unit: <fixed unit>, binSize?: n, timezone?: UTC}.
func (p *GroupPlan) dateTruncShape(v bson.RawValue) bool {
	if v.Type != bson.TypeEmbeddedDocument {
		return false
	}
	els, _ := elements(v.Value)
	var unit int64
	bin := int64(1)
	dateOK := false
	for _, e := range els {
		switch e.key {
		case "date":
			dateOK = e.val.Type == bson.TypeString && e.val.StringValue() == "$"+p.o.TimeField
		case "unit":
			if e.val.Type != bson.TypeString {
				return false
			}
			unit = fixedUnitMs[e.val.StringValue()]
		case "binSize":
			n, ok := exactInt(e.val)
			if !ok || n <= 0 || e.val.Type == bson.TypeDecimal128 {
				return false
			}
			bin = n
		case "timezone":
			if e.val.Type != bson.TypeString {
				return false
			}
			switch e.val.StringValue() {
			case "UTC", "GMT", "Etc/UTC", "Z", "+00:00", "+0000", "+00":
			default:
				return false
			}
		default:
			return false
		}
	}
	if !dateOK || unit == 0 || bin > maxWindowMs/unit {
		return false
	}
	return p.setWindow(unit*bin, dateTruncOrigin)
}

// setWindow records the key's time bin; every time bin of one key must be the same.
func (p *GroupPlan) setWindow(w, origin int64) bool {
	if w <= 0 || w > maxWindowMs {
		return false
	}
	origin = ((origin % w) + w) % w
	if p.Window != 0 && (p.Window != w || p.Origin != origin) {
		return false
	}
	p.Window, p.Origin = w, origin
	return true
}

// timeWindowShape accepts a $timeWindow on the time field partitioned by a meta path.
func (p *GroupPlan) timeWindowShape(doc []byte, accs *[]element, paths *[][]string) bool {
	els, _ := elements(doc)
	var w, off int64
	for _, e := range els {
		switch e.key {
		case "timestamp":
			if e.val.Type != bson.TypeString || e.val.StringValue() != "$"+p.o.TimeField {
				return false
			}
		case "window":
			w, _ = parseDuration(e.val)
		case "offset":
			off, _ = parseDuration(e.val)
		case "partitionBy":
			path, ok := p.metaPath(e.val)
			if !ok {
				return false
			}
			*paths = append(*paths, path)
			p.partition = fieldExpr{path}
		case "output":
			*accs, _ = elements(e.val.Value)
		default:
			return false
		}
	}
	p.timeWindow = true
	return p.setWindow(w, off)
}

// accShapes accepts $count, $sum of 1, and $sum/$avg/$min/$max/$first/$last of a top-level
// measurement field or ($min/$max/$first/$last) of the time field.
func (p *GroupPlan) accShapes(els []element) bool {
	for _, f := range els {
		if f.val.Type != bson.TypeEmbeddedDocument {
			return false
		}
		ops, _ := elements(f.val.Value)
		if len(ops) != 1 {
			return false
		}
		op, arg := ops[0].key, ops[0].val
		a := pushedAcc{name: f.key}
		if op == "$count" {
			a.kind = accCount
			p.needCount = true
			p.accs = append(p.accs, a)
			continue
		}
		if op == "$sum" && (arg.Type == bson.TypeInt32 || arg.Type == bson.TypeInt64) {
			if n, _ := intOf(arg); n != 1 {
				return false
			}
			a.kind = accCount
			p.needCount = true
			p.accs = append(p.accs, a)
			continue
		}
		if arg.Type != bson.TypeString || !strings.HasPrefix(arg.StringValue(), "$") || strings.HasPrefix(arg.StringValue(), "$$") {
			return false
		}
		field := arg.StringValue()[1:]
		switch {
		case field == p.o.TimeField:
			a.isTime = true
		case field == "" || strings.Contains(field, ".") || field == p.o.MetaField || field == "_id":
			return false
		default:
			a.field = field
		}
		switch op {
		case "$sum":
			a.kind = accSum
		case "$avg":
			a.kind = accAvg
		case "$min":
			a.kind = accMin
		case "$max":
			a.kind = accMax
		case "$first":
			a.kind = accEarliest
		case "$last":
			a.kind = accLatest
		default:
			return false
		}
		if a.isTime && (a.kind == accSum || a.kind == accAvg) {
			return false
		}
		p.accs = append(p.accs, a)
	}
	return true
}

// sortOK checks the $sort before the group: without $first/$last any sort is irrelevant; with
// them the sort must be by meta paths fixed within a group, then by time.
func (p *GroupPlan) sortOK(keys []sortKey, groupPaths [][]string) bool {
	ordered := false
	for _, a := range p.accs {
		if a.kind == accEarliest || a.kind == accLatest {
			ordered = true
		}
	}
	if !ordered {
		return true
	}
	if len(keys) == 0 {
		return false
	}
	last := keys[len(keys)-1]
	if len(last.path) != 1 || last.path[0] != p.o.TimeField {
		return false
	}
	for _, k := range keys[:len(keys)-1] {
		fixed := false
		for _, g := range groupPaths {
			if len(g) <= len(k.path) && strings.Join(k.path[:len(g)], ".") == strings.Join(g, ".") {
				fixed = true
			}
		}
		if !fixed {
			return false
		}
	}
	if last.desc {
		for i := range p.accs {
			switch p.accs[i].kind {
			case accEarliest:
				p.accs[i].kind = accLatest
			case accLatest:
				p.accs[i].kind = accEarliest
			}
		}
	}
	return true
}

// SumsOnly reports whether the group reads only counts and sums of fields ($count, $sum, $avg) and
// the first and last times of cells: then Min, Max, First and Last of the parts are not read.
func (p *GroupPlan) SumsOnly() bool {
	if p.timeWindow || len(p.accs) == 0 {
		return false
	}
	for _, a := range p.accs {
		if a.isTime || (a.kind != accCount && a.kind != accSum && a.kind != accAvg) {
			return false
		}
	}
	return true
}

// ValueFields lists the measurement fields whose values the group reads when every accumulator is
// a $sum, $avg, $min or $max of a field: the other columns then only tell which bins hold
// documents. It is nil when the group needs every column (document counts, the times or values
// of first and last documents).
func (p *GroupPlan) ValueFields() []string {
	if p.needCount || len(p.accs) == 0 {
		return nil
	}
	var fields []string
	for _, a := range p.accs {
		switch {
		case a.isTime || a.field == "":
			return nil
		case a.kind != accSum && a.kind != accAvg && a.kind != accMin && a.kind != accMax:
			return nil
		case !slices.Contains(fields, a.field):
			fields = append(fields, a.field)
		}
	}
	return fields
}

// LastOnly reports whether the group needs only the newest point of each column: one bin over all
// time, no count, and every accumulator the value (or time) of the group's latest document.
func (p *GroupPlan) LastOnly() bool {
	if p.Window != 0 || p.needCount || p.timeWindow || len(p.accs) == 0 {
		return false
	}
	for _, a := range p.accs {
		if a.kind != accLatest {
			return false
		}
	}
	return true
}
