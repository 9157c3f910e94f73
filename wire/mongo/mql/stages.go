package mql

import (
	"math"
	"slices"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
)

func compileStage(name string, arg bson.RawValue, o PipelineOptions, env *exprEnv) (stageSpec, error) {
	switch name {
	case "$match":
		if arg.Type != bson.TypeEmbeddedDocument {
			return nil, errf(15959, "the match filter must be an expression in an object")
		}
		f, err := compileFilterEnv(arg.Value, env)
		if err != nil {
			return nil, err
		}
		return statelessSpec{&matchStage{f: f, env: env}}, nil
	case "$limit", "$skip":
		n, ok := exactInt(arg)
		if !ok {
			return nil, errf(15957, "invalid argument to %s stage: Expected an integer: %s", name, arg.String())
		}
		if name == "$limit" {
			if n <= 0 {
				return nil, errf(15958, "the limit must be positive")
			}
			return limitSpec(n), nil
		}
		if n < 0 {
			return nil, errf(15956, "invalid argument to $skip stage: Expected a non-negative number in: $skip: %d", n)
		}
		return skipSpec(n), nil
	case "$sort":
		if arg.Type != bson.TypeEmbeddedDocument {
			return nil, errf(15973, "the $sort key specification must be an object")
		}
		if len(arg.Value) <= 5 {
			return nil, errf(codeSortEmpty, "$sort stage must have at least one sort key")
		}
		s, err := CompileSort(arg.Value)
		if err != nil {
			return nil, err
		}
		return sortSpec{s: s, lim: o.Sort}, nil
	case "$project":
		if arg.Type != bson.TypeEmbeddedDocument {
			return nil, errf(15969, "$project specification must be an object")
		}
		if len(arg.Value) <= 5 {
			return nil, errf(51272, "projection specification must have at least one field")
		}
		p, err := compileProjection(arg.Value, env)
		if err != nil {
			return nil, err
		}
		return statelessSpec{&projectStage{p: p, env: env}}, nil
	case "$addFields", "$set":
		return compileAddFields(name, arg, env)
	case "$unset":
		return compileUnset(arg, env)
	case "$replaceRoot", "$replaceWith":
		return compileReplaceRoot(name, arg, env)
	case "$count":
		if arg.Type != bson.TypeString || arg.StringValue() == "" {
			return nil, errf(40156, "the count field must be a non-empty string")
		}
		s := arg.StringValue()
		if strings.HasPrefix(s, "$") {
			return nil, errf(40158, "the count field cannot be a $-prefixed path")
		}
		if strings.Contains(s, ".") {
			return nil, errf(40160, "the count field cannot contain '.'")
		}
		return countSpec(s), nil
	case "$unwind":
		return compileUnwind(arg)
	case "$group":
		return compileGroup(arg, env)
	case "$timeWindow":
		return compileTimeWindow(arg, o, env)
	case "$sample":
		return compileSample(arg, o)
	case "$facet":
		return compileFacet(arg, o, env)
	case "$setWindowFields":
		return compileSetWindowFields(arg, o, env)
	case "$densify":
		return compileDensify(arg, o)
	case "$bucketAuto":
		return compileBucketAuto(arg, o, env)
	case "$unionWith":
		return compileUnionWith(arg, o)
	case "$lookup":
		return compileLookup(arg, o, env)
	}
	return nil, errf(40324, "Unrecognized pipeline stage name: '%s'", name)
}

// statelessSpec is a stage without per-run state.
type statelessSpec struct{ s stage }

func (s statelessSpec) start() stage { return s.s }

type noFlush struct{}

func (noFlush) flush(func([]byte) error) error { return nil }

type matchStage struct {
	noFlush
	f   *Filter
	env *exprEnv
}

func (m *matchStage) process(doc []byte, emit func([]byte) error) error {
	ok, err := m.f.matchEnv(doc, &evalEnv{root: doc, static: m.env})
	if err != nil || !ok {
		return err
	}
	return emit(doc)
}

type limitSpec int64

func (l limitSpec) start() stage { return &limitStage{max: int64(l)} }

type limitStage struct {
	noFlush
	max, n int64
}

func (l *limitStage) process(doc []byte, emit func([]byte) error) error {
	if l.n >= l.max {
		return errStop
	}
	l.n++
	if err := emit(doc); err != nil {
		return err
	}
	if l.n >= l.max {
		return errStop
	}
	return nil
}

type skipSpec int64

func (s skipSpec) start() stage { return &skipStage{skip: int64(s)} }

type skipStage struct {
	noFlush
	skip, n int64
}

func (s *skipStage) process(doc []byte, emit func([]byte) error) error {
	if s.n < s.skip {
		s.n++
		return nil
	}
	return emit(doc)
}

type sortSpec struct {
	s     *Sort
	limit int64 // of a $limit right after the $sort: only that many are kept
	lim   SortLimits
}

func (s sortSpec) start() stage { return &sortStage{x: NewSorter(s.s, s.limit, s.lim)} }

type sortStage struct{ x *Sorter }

func (s *sortStage) process(doc []byte, _ func([]byte) error) error { return s.x.Add(doc) }

func (s *sortStage) flush(emit func([]byte) error) error {
	defer s.x.Close()
	return s.x.Iterate(emit)
}

type projectStage struct {
	noFlush
	p   *Projection
	env *exprEnv
}

func (p *projectStage) process(doc []byte, emit func([]byte) error) error {
	out, err := p.p.apply(doc, &evalEnv{root: doc, static: p.env})
	if err != nil {
		return err
	}
	return emit(out)
}

type addField struct {
	path []string
	e    expr
}

type addFieldsStage struct {
	noFlush
	fields []addField
	env    *exprEnv
}

func compileAddFields(name string, arg bson.RawValue, env *exprEnv) (stageSpec, error) {
	if arg.Type != bson.TypeEmbeddedDocument {
		return nil, errf(40272, "%s specification stage must be an object, got %s", name, typeName(arg.Type))
	}
	st := &addFieldsStage{env: env}
	var add func(prefix []string, doc []byte) error
	add = func(prefix []string, doc []byte) error {
		els, _ := elements(doc)
		for _, e := range els {
			if e.key == "" || strings.HasPrefix(e.key, "$") {
				return errf(16410, "FieldPath field names may not start with '$'. Consider using $getField or $setField.")
			}
			path := append(slices.Clone(prefix), splitPath(e.key)...)
			if e.val.Type == bson.TypeEmbeddedDocument && !isOperatorDoc(e.val) && len(e.val.Value) > 5 {
				if err := add(path, e.val.Value); err != nil {
					return err
				}
				continue
			}
			x, err := compileExpr(e.val, env)
			if err != nil {
				return err
			}
			st.fields = append(st.fields, addField{path: path, e: x})
		}
		return nil
	}
	if err := add(nil, arg.Value); err != nil {
		return nil, err
	}
	return statelessSpec{st}, nil
}

func (a *addFieldsStage) process(doc []byte, emit func([]byte) error) error {
	env := &evalEnv{root: doc, static: a.env}
	vals := make([]bson.RawValue, len(a.fields))
	for i, f := range a.fields {
		v, err := f.e.eval(env)
		if err != nil {
			return err
		}
		vals[i] = v
	}
	out := doc
	for i, f := range a.fields {
		if isMissing(vals[i]) {
			out = removePath(out, f.path)
			continue
		}
		out = setPath(out, f.path, vals[i])
	}
	return emit(out)
}

type unsetStage struct {
	noFlush
	paths [][]string
}

func compileUnset(arg bson.RawValue, _ *exprEnv) (stageSpec, error) {
	items := []bson.RawValue{arg}
	if arg.Type == bson.TypeArray {
		items = values(arg.Value)
	}
	st := &unsetStage{}
	for _, it := range items {
		if it.Type != bson.TypeString || it.StringValue() == "" || strings.HasPrefix(it.StringValue(), "$") {
			return nil, errf(31120, "$unset specification must be a string or an array containing only string values")
		}
		st.paths = append(st.paths, splitPath(it.StringValue()))
	}
	if len(st.paths) == 0 {
		return nil, errf(31119, "$unset specification must be a string or an array with at least one field")
	}
	return statelessSpec{st}, nil
}

func (u *unsetStage) process(doc []byte, emit func([]byte) error) error {
	for _, p := range u.paths {
		doc = removePath(doc, p)
	}
	return emit(doc)
}

type replaceRootStage struct {
	noFlush
	e   expr
	env *exprEnv
}

func compileReplaceRoot(name string, arg bson.RawValue, env *exprEnv) (stageSpec, error) {
	spec := arg
	if name == "$replaceRoot" {
		if arg.Type != bson.TypeEmbeddedDocument {
			return nil, errf(40229, "expected an object as specification for $replaceRoot stage, got %s", typeName(arg.Type))
		}
		spec = lookup(arg.Value, "newRoot")
		if isMissing(spec) {
			return nil, errf(40231, "no newRoot specified for the $replaceRoot stage")
		}
	}
	x, err := compileExpr(spec, env)
	if err != nil {
		return nil, err
	}
	return statelessSpec{&replaceRootStage{e: x, env: env}}, nil
}

func (r *replaceRootStage) process(doc []byte, emit func([]byte) error) error {
	v, err := r.e.eval(&evalEnv{root: doc, static: r.env})
	if err != nil {
		return err
	}
	if v.Type != bson.TypeEmbeddedDocument {
		return errf(40228, "'newRoot' expression must evaluate to an object, but resulting value was: %s. Type of resulting value: '%s'.", v.String(), typeName(v.Type))
	}
	return emit(v.Value)
}

type countSpec string

func (c countSpec) start() stage { return &countStage{field: string(c)} }

type countStage struct {
	field string
	n     int64
}

func (c *countStage) process([]byte, func([]byte) error) error { c.n++; return nil }

func (c *countStage) flush(emit func([]byte) error) error {
	if c.n == 0 {
		return nil
	}
	b := newBuilder(32)
	b.add(c.field, intValue(c.n))
	return emit(b.finish())
}

type unwindStage struct {
	noFlush
	path     []string
	index    string
	preserve bool
}

func compileUnwind(arg bson.RawValue) (stageSpec, error) {
	st := &unwindStage{}
	var path bson.RawValue
	switch arg.Type {
	case bson.TypeString:
		path = arg
	case bson.TypeEmbeddedDocument:
		els, _ := elements(arg.Value)
		for _, e := range els {
			switch e.key {
			case "path":
				path = e.val
			case "includeArrayIndex":
				if e.val.Type != bson.TypeString || e.val.StringValue() == "" || strings.HasPrefix(e.val.StringValue(), "$") {
					return nil, errf(28810, "expected a non-empty string for the includeArrayIndex option to $unwind stage")
				}
				st.index = e.val.StringValue()
			case "preserveNullAndEmptyArrays":
				if e.val.Type != bson.TypeBoolean {
					return nil, errf(28809, "expected a boolean for the preserveNullAndEmptyArrays option to $unwind stage")
				}
				st.preserve = e.val.Boolean()
			default:
				return nil, errf(28811, "unrecognized option to $unwind stage: %s", e.key)
			}
		}
		if isMissing(path) {
			return nil, errf(28812, "no path specified to $unwind stage")
		}
	default:
		return nil, errf(15981, "expected either a string or an object as specification for $unwind stage, got %s", typeName(arg.Type))
	}
	if path.Type != bson.TypeString {
		return nil, errf(28808, "expected a string as the path for $unwind stage, got %s", typeName(path.Type))
	}
	p := path.StringValue()
	if !strings.HasPrefix(p, "$") || len(p) < 2 {
		return nil, errf(28818, "path option to $unwind stage should be prefixed with a '$': %s", p)
	}
	st.path = splitPath(p[1:])
	return statelessSpec{st}, nil
}

func (u *unwindStage) process(doc []byte, emit func([]byte) error) error {
	v := exprPath(vDoc(doc), u.path)
	withIndex := func(d []byte, idx bson.RawValue) []byte {
		if u.index == "" {
			return d
		}
		return setPath(d, splitPath(u.index), idx)
	}
	if v.Type == bson.TypeArray {
		elems := values(v.Value)
		if len(elems) == 0 {
			if u.preserve {
				return emit(withIndex(removePath(doc, u.path), vNull()))
			}
			return nil
		}
		for i, e := range elems {
			if err := emit(withIndex(setPath(doc, u.path, e), vInt64(int64(i)))); err != nil {
				return err
			}
		}
		return nil
	}
	if isNullish(v) {
		if u.preserve {
			return emit(withIndex(doc, vNull()))
		}
		return nil
	}
	return emit(withIndex(doc, vNull()))
}

// accSpec is one output field of $group or $timeWindow: {name: {$op: expr}}.
type accSpec struct {
	name   string
	op     string
	e      expr
	n      expr  // $firstN... $bottomN: how many values
	sortBy *Sort // $top, $bottom, $topN, $bottomN
	// $percentile, $median
	ps         []float64
	continuous bool
}

func compileAccumulators(stageName string, fields []element, env *exprEnv) ([]accSpec, error) {
	var out []accSpec
	for _, f := range fields {
		if strings.Contains(f.key, ".") {
			return nil, errf(40235, "The field name '%s' cannot contain '.'", f.key)
		}
		if strings.HasPrefix(f.key, "$") {
			return nil, errf(40236, "The field name '%s' cannot be an operator name", f.key)
		}
		if f.val.Type != bson.TypeEmbeddedDocument {
			return nil, errf(40234, "The field '%s' must be an accumulator object", f.key)
		}
		els, _ := elements(f.val.Value)
		if len(els) != 1 {
			return nil, errf(40238, "The field '%s' must specify one accumulator", f.key)
		}
		op := els[0].key
		if !accumulatorNames[op] && !multiAccumulators[op] {
			return nil, errf(15952, "unknown group operator '%s'", op)
		}
		spec := accSpec{name: f.key, op: op}
		if multiAccumulators[op] {
			if err := compileMulti(&spec, els[0].val, env); err != nil {
				return nil, err
			}
		} else if op == "$count" {
			if els[0].val.Type != bson.TypeEmbeddedDocument || len(els[0].val.Value) > 5 {
				return nil, errf(codeBadValue, "$count takes no arguments, i.e. $count:{}")
			}
		} else {
			x, err := compileExpr(els[0].val, env)
			if err != nil {
				return nil, err
			}
			spec.e = x
		}
		out = append(out, spec)
	}
	return out, nil
}

// groupState holds the accumulators of one group.
type groupState struct {
	key  bson.RawValue
	accs []accumulator
}

func newGroupState(key bson.RawValue, specs []accSpec) *groupState {
	g := &groupState{key: cloneValue(key), accs: make([]accumulator, len(specs))}
	for i, s := range specs {
		if multiAccumulators[s.op] {
			g.accs[i] = &multiAcc{op: s.op, sort: s.sortBy, ps: s.ps, continuous: s.continuous}
			continue
		}
		g.accs[i] = newAccumulator(s.op)
	}
	return g
}

func (g *groupState) add(specs []accSpec, env *evalEnv) error {
	for i, s := range specs {
		var v bson.RawValue
		if s.e != nil {
			var err error
			if v, err = s.e.eval(env); err != nil {
				return err
			}
		}
		if m, ok := g.accs[i].(*multiAcc); ok {
			if m.n == 0 && s.n != nil {
				nv, err := s.n.eval(env)
				if err != nil {
					return err
				}
				if err := m.setN(nv); err != nil {
					return err
				}
			}
			var keys []bson.RawValue
			if s.sortBy != nil {
				keys = s.sortBy.keysOf(env.root)
			}
			m.addMulti(v, keys)
			continue
		}
		g.accs[i].add(v)
	}
	return nil
}

type groupSpec struct {
	id   expr
	accs []accSpec
	env  *exprEnv
}

func compileGroup(arg bson.RawValue, env *exprEnv) (stageSpec, error) {
	if arg.Type != bson.TypeEmbeddedDocument {
		return nil, errf(15947, "a group's fields must be specified in an object")
	}
	els, _ := elements(arg.Value)
	g := &groupSpec{env: env}
	var rest []element
	for _, e := range els {
		if e.key == "_id" {
			x, err := compileExpr(e.val, env)
			if err != nil {
				return nil, err
			}
			g.id = x
			continue
		}
		rest = append(rest, e)
	}
	if g.id == nil {
		return nil, errf(15955, "a group specification must include an _id")
	}
	accs, err := compileAccumulators("$group", rest, env)
	if err != nil {
		return nil, err
	}
	g.accs = accs
	return g, nil
}

func (g *groupSpec) start() stage { return &groupStage{spec: g, groups: map[string]*groupState{}} }

type groupStage struct {
	spec   *groupSpec
	groups map[string]*groupState
	order  []*groupState
	kbuf   []byte
}

func (g *groupStage) process(doc []byte, _ func([]byte) error) error {
	env := &evalEnv{root: doc, static: g.spec.env}
	key, err := g.spec.id.eval(env)
	if err != nil {
		return err
	}
	if isMissing(key) {
		key = vNull()
	}
	g.kbuf = appendKey(g.kbuf[:0], key)
	st := g.groups[string(g.kbuf)]
	if st == nil {
		st = newGroupState(key, g.spec.accs)
		g.groups[string(g.kbuf)] = st
		g.order = append(g.order, st)
	}
	return st.add(g.spec.accs, env)
}

func (g *groupStage) flush(emit func([]byte) error) error {
	for _, st := range g.order {
		b := newBuilder(64)
		b.add("_id", st.key)
		for i, s := range g.spec.accs {
			b.add(s.name, st.accs[i].result())
		}
		if err := emit(b.finish()); err != nil {
			return err
		}
	}
	g.order, g.groups = nil, nil
	return nil
}

var _ = math.MaxInt64
