package mql

import (
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/wire/mongoerr"
)

// MergePipeline is a $merge whenMatched pipeline: it runs on the matched target document, with
// let variables evaluated on the result document ($$new by default).
type MergePipeline struct {
	stages   []bson.Raw
	letNames []string
	letExprs []expr
	opts     PipelineOptions
	env      *exprEnv
}

// mergeStages are the stages a whenMatched pipeline may use.
var mergeStages = map[string]bool{"$addFields": true, "$set": true, "$project": true, "$unset": true, "$replaceRoot": true, "$replaceWith": true}

// CompileMergePipeline compiles a whenMatched pipeline and its let document (nil: {new: "$$ROOT"}).
func CompileMergePipeline(pipeline bson.RawValue, let bson.Raw, now time.Time) (m *MergePipeline, err error) {
	defer recoverErr(&err)
	m = &MergePipeline{opts: PipelineOptions{Now: now}, env: &exprEnv{now: now}}
	if len(let) == 0 {
		let = bson.Raw(single("new", vString("$$ROOT")))
	}
	vars, err := elements(let)
	if err != nil {
		return nil, errf(mongoerr.FailedToParse, "$merge 'let': %v", err)
	}
	for _, v := range vars {
		x, err := compileExpr(v.val, m.env)
		if err != nil {
			return nil, err
		}
		m.letNames, m.letExprs = append(m.letNames, v.key), append(m.letExprs, x)
	}
	for _, st := range values(pipeline.Value) {
		if st.Type != bson.TypeEmbeddedDocument {
			return nil, errf(mongoerr.TypeMismatch, "Each element of the 'pipeline' array must be an object")
		}
		els, _ := elements(st.Value)
		if len(els) != 1 || !mergeStages[els[0].key] {
			return nil, errf(mongoerr.InvalidOptions, "$merge's whenMatched pipeline may only use $addFields, $set, $project, $unset, $replaceRoot and $replaceWith")
		}
		m.stages = append(m.stages, st.Value)
	}
	m.opts.lets = m.letNames
	if _, err := CompilePipeline(m.stages, m.opts); err != nil {
		return nil, err
	}
	return m, nil
}

// Apply runs the pipeline on target with the let variables evaluated on result.
func (m *MergePipeline) Apply(target, result []byte) (out []byte, err error) {
	defer recoverErr(&err)
	p, err := CompilePipeline(m.stages, m.opts)
	if err != nil {
		return nil, err
	}
	env := &evalEnv{root: result, static: m.env}
	lets := make([]binding, len(m.letNames))
	for i, x := range m.letExprs {
		v, err := x.eval(env)
		if err != nil {
			return nil, err
		}
		lets[i] = binding{m.letNames[i], cloneValue(v)}
	}
	p.env.lets = lets
	n := 0
	err = p.Run(func(yield func(bson.Raw) error) error { return yield(target) }, func(d bson.Raw) error {
		n++
		out = append([]byte(nil), d...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if n != 1 {
		return nil, errf(mongoerr.BadValue, "$merge's whenMatched pipeline gave %d documents", n)
	}
	return out, nil
}
