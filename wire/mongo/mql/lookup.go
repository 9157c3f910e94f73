package mql

import (
	"slices"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/wire/mongoerr"
)

// $lookup joins each input document with the documents of another collection of the database:
//
//	{$lookup: {from, localField, foreignField, as}}                equality
//	{$lookup: {from, let, pipeline, as}}                           a sub-pipeline per document
//	{$lookup: {from, localField, foreignField, let, pipeline, as}} both (MongoDB 5.0)
//
// The other collection is read once per run (PipelineOptions.Lookup) and held in memory, at most
// lookupMemory bytes of it; equality matches go through a map of its foreignField values.
type lookupSpec struct {
	from, as                  string
	asPath                    []string
	localField, foreignField  []string
	letNames                  []string
	letExprs                  []expr
	stages                    []bson.Raw // the sub-pipeline, compiled for each run
	sub                       PipelineOptions
	hasPipeline               bool
	read                      func(coll string, out func(bson.Raw) error) error
	env                       *exprEnv
	hasLocal, hasForeign, let bool
}

// lookupMemory bounds the other collection a $lookup holds.
const lookupMemory = 100 << 20

func compileLookup(arg bson.RawValue, o PipelineOptions, env *exprEnv) (stageSpec, error) {
	if arg.Type != bson.TypeEmbeddedDocument {
		return nil, errf(mongoerr.FailedToParse, "the $lookup stage specification must be an object, but found %s", typeName(arg.Type))
	}
	s := &lookupSpec{read: o.Lookup, env: env}
	var stages []bson.Raw
	hasPipeline := false
	els, _ := elements(arg.Value)
	for _, e := range els {
		str := func() (string, error) {
			if e.val.Type != bson.TypeString {
				return "", errf(mongoerr.FailedToParse, "$lookup argument '%s: %s' must be a string, is type %s", e.key, e.val.String(), typeName(e.val.Type))
			}
			return e.val.StringValue(), nil
		}
		var err error
		switch e.key {
		case "from":
			if e.val.Type == bson.TypeEmbeddedDocument {
				return nil, errf(mongoerr.FailedToParse, "$lookup 'from' of another database is not supported by ChronoGo")
			}
			s.from, err = str()
		case "as":
			s.as, err = str()
		case "localField":
			var f string
			f, err = str()
			s.localField, s.hasLocal = splitPath(f), true
		case "foreignField":
			var f string
			f, err = str()
			s.foreignField, s.hasForeign = splitPath(f), true
		case "let":
			if e.val.Type != bson.TypeEmbeddedDocument {
				return nil, errf(mongoerr.FailedToParse, "$lookup argument 'let: %s' must be an object, is type %s", e.val.String(), typeName(e.val.Type))
			}
			vars, _ := elements(e.val.Value)
			for _, v := range vars {
				x, err := compileExpr(v.val, env)
				if err != nil {
					return nil, err
				}
				s.letNames, s.letExprs = append(s.letNames, v.key), append(s.letExprs, x)
			}
			s.let = true
		case "pipeline":
			if e.val.Type != bson.TypeArray {
				return nil, errf(mongoerr.FailedToParse, "$lookup argument 'pipeline' must be an array, is type %s", typeName(e.val.Type))
			}
			if stages, err = subPipeline(e.val, "$lookup", 51047); err != nil {
				return nil, err
			}
			hasPipeline = true
		default:
			return nil, errf(mongoerr.FailedToParse, "unknown argument to $lookup: %s", e.key)
		}
		if err != nil {
			return nil, err
		}
	}
	switch {
	case s.as == "":
		return nil, errf(mongoerr.FailedToParse, "must specify 'as' field for a $lookup")
	case s.from == "":
		return nil, errf(mongoerr.FailedToParse, "must specify 'from' field for a $lookup")
	case s.hasLocal != s.hasForeign:
		return nil, errf(mongoerr.FailedToParse, "$lookup requires both or neither of 'localField' and 'foreignField' to be specified")
	case !hasPipeline && !s.hasLocal:
		return nil, errf(mongoerr.FailedToParse, "$lookup requires either 'pipeline' or both 'localField' and 'foreignField' to be specified")
	case s.let && !hasPipeline:
		return nil, errf(mongoerr.FailedToParse, "$lookup with 'let' must also specify 'pipeline'")
	}
	s.asPath = splitPath(s.as)
	if hasPipeline {
		sub, err := o.nested()
		if err != nil {
			return nil, err
		}
		sub.TimeField, sub.MetaField, sub.lets = "", "", s.letNames
		if _, err = CompilePipeline(stages, sub); err != nil { // report errors now
			return nil, err
		}
		s.stages, s.sub, s.hasPipeline = stages, sub, true
	}
	return s, nil
}

// start compiles the sub-pipeline for this run: each run sets its let values in its own copy.
func (s *lookupSpec) start() stage {
	l := &lookupStage{spec: s}
	if s.hasPipeline {
		l.pipeline, l.err = CompilePipeline(s.stages, s.sub)
	}
	return l
}

type lookupStage struct {
	spec     *lookupSpec
	pipeline *Pipeline
	err      error
	loaded   bool
	foreign  [][]byte         // the other collection, in its order
	byKey    map[string][]int // canonical foreignField value -> indexes into foreign
}

// load reads the other collection once.
func (l *lookupStage) load() error {
	if l.loaded {
		return nil
	}
	if l.spec.read == nil {
		return errf(mongoerr.CommandNotSupported, "$lookup cannot read other collections here")
	}
	size := 0
	err := l.spec.read(l.spec.from, func(d bson.Raw) error {
		if size += len(d); size > lookupMemory {
			return errf(mongoerr.ExceededMemoryLimit, "$lookup from '%s': the collection is larger than the %d bytes a $lookup holds in ChronoGo", l.spec.from, lookupMemory)
		}
		l.foreign = append(l.foreign, append([]byte(nil), d...))
		return nil
	})
	if err != nil {
		return err
	}
	if l.spec.hasForeign {
		l.byKey = map[string][]int{}
		var kbuf []byte
		for i, d := range l.foreign {
			for _, k := range matchKeys(d, l.spec.foreignField, &kbuf) {
				if ids := l.byKey[k]; len(ids) == 0 || ids[len(ids)-1] != i {
					l.byKey[k] = append(ids, i)
				}
			}
		}
	}
	l.loaded = true
	return nil
}

// matchKeys are the canonical keys a path of doc matches by equality: each value at the path, the
// elements of arrays there as well as the arrays, and null when the path is missing.
func matchKeys(doc []byte, path []string, kbuf *[]byte) []string {
	var keys []string
	add := func(v bson.RawValue) {
		if isMissing(v) {
			v = vNull()
		}
		*kbuf = appendKey((*kbuf)[:0], v)
		keys = append(keys, string(*kbuf))
	}
	queryValues(doc, path, func(v bson.RawValue, _ bool) bool {
		add(v)
		if v.Type == bson.TypeArray {
			for _, x := range values(v.Value) {
				add(x)
			}
		}
		return true
	})
	return keys
}

// localKeys are the keys an input document looks up: the values at localField (each element of
// an array), null when missing.
func localKeys(doc []byte, path []string, kbuf *[]byte) []string {
	var keys []string
	queryValues(doc, path, func(v bson.RawValue, _ bool) bool {
		if v.Type == bson.TypeArray {
			for _, x := range values(v.Value) {
				*kbuf = appendKey((*kbuf)[:0], x)
				keys = append(keys, string(*kbuf))
			}
			return true
		}
		if isMissing(v) {
			v = vNull()
		}
		*kbuf = appendKey((*kbuf)[:0], v)
		keys = append(keys, string(*kbuf))
		return true
	})
	return keys
}

func (l *lookupStage) process(doc []byte, emit func([]byte) error) error {
	if l.err != nil {
		return l.err
	}
	if err := l.load(); err != nil {
		return err
	}
	// the candidates: the equality matches in collection order, or every document
	var matched [][]byte
	if l.spec.hasLocal {
		var kbuf []byte
		seen := map[int]bool{}
		var ids []int
		for _, k := range localKeys(doc, l.spec.localField, &kbuf) {
			for _, i := range l.byKey[k] {
				if !seen[i] {
					seen[i] = true
					ids = append(ids, i)
				}
			}
		}
		slices.Sort(ids)
		for _, i := range ids {
			matched = append(matched, l.foreign[i])
		}
	} else {
		matched = l.foreign
	}
	out := newBuilder(256)
	size := len(doc)
	add := func(d []byte) error {
		if size += len(d); size > maxDocSize {
			return errf(4568, "Total size of documents in %s matching pipeline's $lookup stage exceeds %d bytes", l.spec.from, maxDocSize)
		}
		out.push(vDoc(append([]byte(nil), d...)))
		return nil
	}
	if l.pipeline == nil {
		for _, d := range matched {
			if err := add(d); err != nil {
				return err
			}
		}
	} else {
		lets := make([]binding, len(l.spec.letNames))
		env := &evalEnv{root: doc, static: l.spec.env}
		for i, x := range l.spec.letExprs {
			v, err := x.eval(env)
			if err != nil {
				return err
			}
			lets[i] = binding{l.spec.letNames[i], cloneValue(v)}
		}
		l.pipeline.env.lets = lets
		err := l.pipeline.Run(func(yield func(bson.Raw) error) error {
			for _, d := range matched {
				if err := yield(d); err != nil {
					return err
				}
			}
			return nil
		}, func(d bson.Raw) error { return add(d) })
		if err != nil {
			return err
		}
	}
	return emit(setPath(doc, l.spec.asPath, out.array()))
}

func (l *lookupStage) flush(func([]byte) error) error { return nil }

// maxDocSize is MongoDB's largest document.
const maxDocSize = 16 << 20
