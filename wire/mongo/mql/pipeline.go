package mql

import (
	"errors"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/wire/mongoerr"
)

// Pipeline is a compiled aggregation pipeline. It is safe for concurrent use; each Run has its
// own state.
type Pipeline struct {
	stages  []stageSpec
	leading bson.Raw
	env     *exprEnv
}

// PipelineOptions carries the collection context a pipeline runs in.
type PipelineOptions struct {
	TimeField, MetaField string     // of the time-series collection; may be empty
	Now                  time.Time  // value of $$NOW (time.Now() when zero)
	Sort                 SortLimits // of every $sort stage
	// Union reads another collection of the database for $unionWith: it runs stages (possibly
	// none) over collection coll and hands every result to out. Nil: $unionWith fails when run.
	Union func(coll string, stages []bson.Raw, out func(bson.Raw) error) error
	// Lookup reads every document of another collection of the database for $lookup (none when
	// it does not exist). Nil: $lookup fails when run.
	Lookup func(coll string, out func(bson.Raw) error) error
	depth  int      // of sub-pipelines ($facet, $unionWith, $lookup) around the one being compiled
	lets   []string // the let variables of a $lookup sub-pipeline
}

// maxSubPipelineDepth bounds the nesting of sub-pipelines, as MongoDB does (20): a pipeline is
// small on the wire but each level may read a collection again.
const maxSubPipelineDepth = 20

// nested is o for a sub-pipeline one level deeper, or an error past maxSubPipelineDepth.
func (o PipelineOptions) nested() (PipelineOptions, error) {
	o.depth++
	if o.depth > maxSubPipelineDepth {
		return o, errf(mongoerr.FailedToParse, "Maximum number of nested sub-pipelines exceeded. Limit is %d", maxSubPipelineDepth)
	}
	return o, nil
}

// stageSpec creates the per-run state of a compiled stage.
type stageSpec interface {
	start() stage
}

// stage processes documents; blocking stages buffer in process and emit in flush. A stage
// returns errStop when it needs no more input.
type stage interface {
	process(doc []byte, emit func([]byte) error) error
	flush(emit func([]byte) error) error
}

// CompilePipeline compiles aggregation stages. Unknown stages fail with code 40324, malformed
// stage documents with 40323.
func CompilePipeline(stages []bson.Raw, o PipelineOptions) (p *Pipeline, err error) {
	defer recoverErr(&err)
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	p = &Pipeline{env: &exprEnv{now: now, bound: append([]string(nil), o.lets...)}}
	var leading [][]byte
	leadingDone := false
	for _, s := range stages {
		if err := validDoc("pipeline stage", s); err != nil {
			return nil, err
		}
		els, _ := elements(s)
		if len(els) != 1 {
			return nil, errf(40323, "A pipeline stage specification object must contain exactly one field.")
		}
		items := []element{els[0]}
		if docs, ok, err := desugar(els[0].key, els[0].val); err != nil {
			return nil, err
		} else if ok {
			items = items[:0]
			for _, d := range docs {
				sub, _ := elements(d)
				items = append(items, sub[0])
			}
		}
		for _, it := range items {
			name, arg := it.key, it.val
			spec, err := compileStage(name, arg, o, p.env)
			if err != nil {
				return nil, err
			}
			if name == "$match" && !leadingDone {
				leading = append(leading, arg.Value)
			} else {
				leadingDone = true
			}
			if l, ok := spec.(limitSpec); ok && len(p.stages) > 0 {
				if sp, ok := p.stages[len(p.stages)-1].(sortSpec); ok && (sp.limit == 0 || int64(l) < sp.limit) {
					sp.limit = int64(l) // $sort then $limit: a top-k sort keeps only what passes
					p.stages[len(p.stages)-1] = sp
				}
			}
			p.stages = append(p.stages, spec)
		}
	}
	switch len(leading) {
	case 0:
	case 1:
		p.leading = leading[0]
	default:
		b := newBuilder(64)
		for _, l := range leading {
			b.push(vDoc(l))
		}
		d := newBuilder(64)
		d.add("$and", b.array())
		p.leading = d.finish()
	}
	return p, nil
}

// LeadingMatch returns the filter of the leading $match stages combined with $and, or nil, for
// storage pushdown. Run still applies them.
func (p *Pipeline) LeadingMatch() bson.Raw { return p.leading }

// Run streams the documents produced by in through the pipeline into out. Streaming stages pass
// documents on as they arrive; blocking stages ($group, $sort, $count, $timeWindow) buffer. in
// must stop and return the error when yield returns one. Documents given to out are only valid
// during the call.
func (p *Pipeline) Run(in func(yield func(bson.Raw) error) error, out func(bson.Raw) error) (err error) {
	defer recoverErr(&err)
	push, finish := p.open(func(d []byte) error { return out(d) })
	err = in(func(d bson.Raw) error { return push(d) })
	if err != nil && !errors.Is(err, errStop) {
		return err
	}
	return finish()
}

// open starts a run of the pipeline whose results go to out: push feeds it one document (errStop
// says it needs no more), finish flushes the blocking stages.
func (p *Pipeline) open(out func([]byte) error) (push func([]byte) error, finish func() error) {
	run := make([]stage, len(p.stages))
	for i, s := range p.stages {
		run[i] = s.start()
	}
	emitters := make([]func([]byte) error, len(run)+1)
	emitters[len(run)] = out
	for i := len(run) - 1; i >= 0; i-- {
		st, next := run[i], emitters[i+1]
		emitters[i] = func(d []byte) error { return st.process(d, next) }
	}
	finish = func() error {
		for i, st := range run {
			if err := st.flush(emitters[i+1]); err != nil && !errors.Is(err, errStop) {
				return err
			}
		}
		return nil
	}
	return emitters[0], finish
}
