package mql

import (
	"errors"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// maxFacetBytes is the largest document $facet may build (MongoDB's 100 MiB intermediate limit).
const maxFacetBytes = 100 << 20

// compileFacet compiles {$facet: {name: [stages], ...}}: every input document goes through each
// sub-pipeline, and the stage outputs one document {name: [its results], ...}.
func compileFacet(arg bson.RawValue, o PipelineOptions, env *exprEnv) (stageSpec, error) {
	if arg.Type != bson.TypeEmbeddedDocument {
		return nil, errf(15947, "a facet's fields must be specified in an object")
	}
	els, _ := elements(arg.Value)
	if len(els) == 0 {
		return nil, errf(40169, "the $facet specification must be a non-empty object")
	}
	o.Now = env.now // one $$NOW for the whole pipeline
	o, err := o.nested()
	if err != nil {
		return nil, err
	}
	spec := facetSpec{}
	for _, e := range els {
		switch {
		case e.key == "":
			return nil, errf(15998, "FieldPath field names may not be empty strings.")
		case strings.HasPrefix(e.key, "$"):
			return nil, errf(16410, "FieldPath field names may not start with '$'. Consider using $getField or $setField.")
		case strings.Contains(e.key, "."):
			return nil, errf(16412, "FieldPath field names may not contain '.'. Consider using $getField or $setField.")
		}
		if e.val.Type != bson.TypeArray {
			return nil, errf(40170, "arguments to $facet must be arrays, %s is type %s", e.key, typeName(e.val.Type))
		}
		subs, _ := elements(e.val.Value)
		if len(subs) == 0 {
			return nil, errf(40171, "sub-pipeline in $facet stage cannot be empty")
		}
		var stages []bson.Raw
		for _, st := range subs {
			if st.val.Type != bson.TypeEmbeddedDocument {
				return nil, errf(40323, "A pipeline stage specification object must contain exactly one field.")
			}
			if inner, _ := elements(st.val.Value); len(inner) == 1 {
				switch inner[0].key {
				case "$facet", "$out", "$merge", "$collStats", "$indexStats", "$changeStream":
					return nil, errf(40600, "%s is not allowed to be used within a $facet stage", inner[0].key)
				}
			}
			stages = append(stages, st.val.Value)
		}
		p, err := CompilePipeline(stages, o)
		if err != nil {
			return nil, err
		}
		spec = append(spec, facet{name: e.key, p: p})
	}
	return spec, nil
}

type facet struct {
	name string
	p    *Pipeline
}

type facetSpec []facet

func (s facetSpec) start() stage {
	st := &facetStage{outs: make([]*builder, len(s)), push: make([]func([]byte) error, len(s)),
		finish: make([]func() error, len(s)), done: make([]bool, len(s)), spec: s}
	for i, f := range s {
		out := newBuilder(256)
		st.outs[i] = out
		st.push[i], st.finish[i] = f.p.open(func(d []byte) error {
			st.bytes += int64(len(d))
			if st.bytes > maxFacetBytes {
				return errf(4031700, "document constructed by $facet is %d bytes, which exceeds the limit of %d bytes", st.bytes, maxFacetBytes)
			}
			out.push(vDoc(d))
			return nil
		})
	}
	return st
}

type facetStage struct {
	spec   facetSpec
	outs   []*builder
	push   []func([]byte) error
	finish []func() error
	done   []bool // the sub-pipeline needs no more input ($limit reached)
	bytes  int64
}

func (s *facetStage) process(doc []byte, _ func([]byte) error) error {
	for i, push := range s.push {
		if s.done[i] {
			continue
		}
		if err := push(doc); err != nil {
			if !errors.Is(err, errStop) {
				return err
			}
			s.done[i] = true
		}
	}
	return nil
}

func (s *facetStage) flush(emit func([]byte) error) error {
	out := newBuilder(int(min(s.bytes, maxFacetBytes)) + 64)
	for i, f := range s.spec {
		if err := s.finish[i](); err != nil {
			return err
		}
		out.add(f.name, s.outs[i].array())
	}
	return emit(out.finish())
}
