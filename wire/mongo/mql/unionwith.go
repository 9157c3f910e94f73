package mql

import (
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/wire/mongoerr"
)

// $unionWith passes its input on, then the documents of another collection of the database
// (through its own pipeline): {$unionWith: "coll"} or {$unionWith: {coll, pipeline}}. The other
// collection is read through PipelineOptions.Union.
type unionWithSpec struct {
	coll   string
	stages []bson.Raw
	union  func(coll string, stages []bson.Raw, out func(bson.Raw) error) error
}

func compileUnionWith(arg bson.RawValue, o PipelineOptions) (stageSpec, error) {
	s := &unionWithSpec{union: o.Union}
	switch arg.Type {
	case bson.TypeString:
		s.coll = arg.StringValue()
	case bson.TypeEmbeddedDocument:
		els, _ := elements(arg.Value)
		for _, e := range els {
			switch e.key {
			case "coll":
				if e.val.Type != bson.TypeString {
					return nil, errf(mongoerr.TypeMismatch, "BSON field '$unionWith.coll' is the wrong type '%s', expected type 'string'", typeName(e.val.Type))
				}
				s.coll = e.val.StringValue()
			case "pipeline":
				if e.val.Type != bson.TypeArray {
					return nil, errf(mongoerr.TypeMismatch, "BSON field '$unionWith.pipeline' is the wrong type '%s', expected type 'array'", typeName(e.val.Type))
				}
				var err error
				if s.stages, err = subPipeline(e.val, "$unionWith", 31441); err != nil {
					return nil, err
				}
			default:
				return nil, errf(mongoerr.IDLUnknownField, "BSON field '$unionWith.%s' is an unknown field.", e.key)
			}
		}
	default:
		return nil, errf(mongoerr.FailedToParse, "the $unionWith stage specification must be an object or string, but found %s", typeName(arg.Type))
	}
	if s.coll == "" {
		return nil, errf(mongoerr.IDLFailedToParse, "BSON field '$unionWith.coll' is missing but a required field")
	}
	// the sub-pipeline must compile (with the other collection's fields it compiles again when run)
	check, err := o.nested()
	if err != nil {
		return nil, err
	}
	check.TimeField, check.MetaField = "", ""
	if _, err := CompilePipeline(s.stages, check); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *unionWithSpec) start() stage { return &unionWithStage{spec: s} }

type unionWithStage struct{ spec *unionWithSpec }

func (u *unionWithStage) process(doc []byte, emit func([]byte) error) error { return emit(doc) }

func (u *unionWithStage) flush(emit func([]byte) error) error {
	if u.spec.union == nil {
		return errf(mongoerr.CommandNotSupported, "$unionWith cannot read other collections here")
	}
	return u.spec.union(u.spec.coll, u.spec.stages, func(d bson.Raw) error { return emit(d) })
}

// subPipeline reads the stages of a sub-pipeline (of $unionWith or $lookup: stage), which may not
// write ($out, $merge: code).
func subPipeline(arr bson.RawValue, stage string, code mongoerr.Code) ([]bson.Raw, error) {
	var stages []bson.Raw
	subs, _ := elements(arr.Value)
	for _, st := range subs {
		if st.val.Type != bson.TypeEmbeddedDocument {
			return nil, errf(mongoerr.TypeMismatch, "Each element of the 'pipeline' array must be an object")
		}
		if inner, _ := elements(st.val.Value); len(inner) == 1 && (inner[0].key == "$out" || inner[0].key == "$merge") {
			return nil, errf(code, "%s is not allowed within a %s's sub-pipeline", inner[0].key, stage)
		}
		stages = append(stages, st.val.Value)
	}
	return stages, nil
}
