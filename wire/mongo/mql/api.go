package mql

import (
	"math"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/storage/index"
)

// Filter is a compiled query filter.
type Filter struct{ root matcher }

// CompileFilter compiles a query filter; a nil or empty filter matches everything.
func CompileFilter(filter bson.Raw) (*Filter, error) { return &Filter{}, nil }

// Match reports whether doc matches the filter.
func (f *Filter) Match(doc bson.Raw) (bool, error) { return true, nil }

type matcher interface{}

// Projection is a compiled find projection.
type Projection struct{}

// CompileProjection compiles a find projection.
func CompileProjection(p bson.Raw) (*Projection, error) { return &Projection{}, nil }

// Apply returns the projected document.
func (p *Projection) Apply(doc bson.Raw) (bson.Raw, error) { return doc, nil }

// Sort is a compiled sort specification.
type Sort struct{}

// CompileSort compiles a sort specification such as {a: 1, b: -1}.
func CompileSort(s bson.Raw) (*Sort, error) { return &Sort{}, nil }

// Compare orders two documents by the sort specification (-1, 0, 1).
func (s *Sort) Compare(a, b bson.Raw) int { return 0 }

// CompareValues compares two BSON values in MongoDB's total order.
func CompareValues(a, b bson.RawValue) int { return 0 }

// Pipeline is a compiled aggregation pipeline.
type Pipeline struct{ leading bson.Raw }

// PipelineOptions carries the collection context a pipeline runs in.
type PipelineOptions struct {
	TimeField, MetaField string    // of the time-series collection; may be empty
	Now                  time.Time // value of $$NOW
}

// CompilePipeline compiles aggregation stages.
func CompilePipeline(stages []bson.Raw, o PipelineOptions) (*Pipeline, error) { return &Pipeline{}, nil }

// Run streams the documents produced by in through the pipeline into out.
func (p *Pipeline) Run(in func(yield func(bson.Raw) error) error, out func(bson.Raw) error) error {
	return in(out)
}

// LeadingMatch returns the filter of the leading $match stages combined with $and, or nil.
func (p *Pipeline) LeadingMatch() bson.Raw { return p.leading }

// Pushdown is the part of a filter the storage engine evaluates (see wire/mongo.Pushdown).
type Pushdown struct {
	MinTime, MaxTime int64      // BSON datetime ms, inclusive
	Meta             index.Expr // nil: every series
	Exact            bool       // the pushdown is the whole filter
}

// ExtractPushdown extracts the time range and meta predicate of filter.
func ExtractPushdown(filter bson.Raw, timeField, metaField string) (Pushdown, error) {
	return Pushdown{MinTime: math.MinInt64, MaxTime: math.MaxInt64}, nil
}
