package mongo

import (
	"context"
	"errors"
	"math"
	"os"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/meta/plain"
	"github.com/chronogo/chronogo/storage/index"
	"github.com/chronogo/chronogo/wire/mongo/mql"
	"github.com/chronogo/chronogo/wire/mongoerr"
)

// msgExplain answers explain for find, count and aggregate: queryPlanner shows what goes to
// storage (the time range and the meta predicate of the pushdown, whether it is the whole
// filter, whether a $group or $timeWindow runs on block pre-aggregates); with the verbosity
// executionStats (or allPlansExecution) the query also runs and executionStats counts the
// documents storage returned and the results.
func msgExplain(ctx context.Context, s *Server, req *request) (*bsoncore.DocumentBuilder, error) {
	v, ok := lookup(req.doc, "explain")
	if !ok || v.Type != bson.TypeEmbeddedDocument {
		return nil, typeErr("explain", v.Type, "object")
	}
	inner := v.Document()
	verbosity, _, err := optString(req.doc, "explain", "verbosity")
	if err != nil {
		return nil, err
	}
	if verbosity == "" {
		verbosity = "allPlansExecution"
	}
	if verbosity != "queryPlanner" && verbosity != "executionStats" && verbosity != "allPlansExecution" {
		return nil, mongoerr.New(mongoerr.BadValue, "verbosity string must be one of {'queryPlanner', 'executionStats', 'allPlansExecution'}")
	}
	first, err := inner.IndexErr(0)
	if err != nil {
		return nil, mongoerr.New(mongoerr.FailedToParse, "explain command requires a nested object")
	}
	cmd := first.Key()
	if cmd != "find" && cmd != "count" && cmd != "aggregate" {
		return nil, mongoerr.New(mongoerr.CommandNotSupported, "explain of %s is not supported; find, count and aggregate are", cmd)
	}
	name, ok := first.Value().StringValueOK()
	if !ok {
		return nil, typeErr("explain."+cmd, first.Value().Type, "string")
	}
	if err := validCollName(req.db, name); err != nil {
		return nil, err
	}
	c, found, err := s.b.Collection(ctx, req.db, name)
	if err != nil {
		return nil, err
	}
	var (
		filter bson.Raw
		p      *mql.Pipeline
		group  bool
	)
	switch cmd {
	case "find":
		if filter, err = optDoc(inner, "find", "filter"); err != nil {
			return nil, err
		}
	case "count":
		if filter, err = optDoc(inner, "count", "query"); err != nil {
			return nil, err
		}
	case "aggregate":
		vals, ok, err := optArray(inner, "aggregate", "pipeline")
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, mongoerr.New(mongoerr.IDLFailedToParse, "BSON field 'aggregate.pipeline' is missing but a required field")
		}
		stages := make([]bson.Raw, 0, len(vals))
		for _, sv := range vals {
			d, ok := sv.DocumentOK()
			if !ok {
				return nil, typeErr("aggregate.pipeline", sv.Type, "object")
			}
			stages = append(stages, d)
		}
		opts := mql.PipelineOptions{Now: time.Now(), Sort: s.sortLimits(true)}
		if found {
			opts.TimeField, opts.MetaField = c.TimeField, c.MetaField
		}
		if p, err = mql.CompilePipeline(stages, opts); err != nil {
			return nil, queryErr(err)
		}
		filter = p.LeadingMatch()
		group = found && !c.Plain() && mql.PlanGroupPushdown(stages, opts) != nil
	}
	plan := bsoncore.NewDocumentBuilder()
	var pd *Pushdown
	switch {
	case !found:
		plan.AppendString("stage", "EOF") // no such collection: nothing to read
	case c.Plain():
		if err := s.plainPlan(ctx, c, filter, plan); err != nil {
			return nil, err
		}
	default:
		if pd, err = pushdownOf(c, filter); err != nil {
			return nil, err
		}
		plan.AppendString("stage", "CHRONOGO_STORAGE_SCAN").
			AppendDocument("timeRange", bsoncore.NewDocumentBuilder().
				AppendString("min", msString(pd.MinTime)).AppendString("max", msString(pd.MaxTime)).Build()).
			AppendString("metaFilter", exprString(pd)).
			AppendBoolean("filterFullyPushedDown", pd.Exact)
		if cmd == "aggregate" {
			plan.AppendBoolean("groupOnBlockAggregates", group)
		}
	}
	host, _ := os.Hostname()
	b := bsoncore.NewDocumentBuilder().
		AppendString("explainVersion", "1").
		AppendDocument("queryPlanner", bsoncore.NewDocumentBuilder().
			AppendString("namespace", req.db+"."+name).
			AppendBoolean("indexFilterSet", false).
			AppendDocument("parsedQuery", orEmpty(filter)).
			AppendDocument("winningPlan", plan.Build()).
			AppendArray("rejectedPlans", bsoncore.NewArrayBuilder().Build()).
			Build())
	if verbosity != "queryPlanner" {
		stats, err := s.explainRun(ctx, c, found, filter, pd, p)
		if err != nil {
			return nil, err
		}
		b.AppendDocument("executionStats", stats)
	}
	return b.AppendDocument("command", inner).
		AppendDocument("serverInfo", bsoncore.NewDocumentBuilder().AppendString("host", host).AppendString("version", mongoVersion).Build()), nil
}

// explainRun runs the explained query and counts what storage returned and what came out.
func (s *Server) explainRun(ctx context.Context, c *meta.Collection, found bool, filter bson.Raw, pd *Pushdown, p *mql.Pipeline) (bsoncore.Document, error) {
	began := time.Now()
	var examined, returned int64
	var st *ScanStats
	if found && !c.Plain() && pd != nil {
		st = &ScanStats{}
		withStats := *pd
		withStats.Stats = st
		pd = &withStats
	}
	if found {
		var f *mql.Filter
		if len(filter) > 0 {
			var err error
			if f, err = mql.CompileFilter(filter); err != nil {
				return nil, queryErr(err)
			}
		}
		in := func(yield func(bson.Raw) error) error {
			if c.Plain() {
				return s.plainScan(ctx, c, filter, nil, func(doc bson.Raw) error {
					examined++
					if f != nil {
						if ok, err := f.Match(doc); err != nil || !ok {
							return err
						}
					}
					return yield(doc)
				})
			}
			return s.b.Find(ctx, c, pd, func(doc bson.Raw) error {
				examined++
				if f != nil {
					if ok, err := f.Match(doc); err != nil || !ok {
						return err
					}
				}
				return yield(doc)
			})
		}
		var err error
		if p != nil {
			err = p.Run(in, func(bson.Raw) error { returned++; return nil })
		} else {
			err = in(func(bson.Raw) error { returned++; return nil })
		}
		if err != nil {
			return nil, queryErr(err)
		}
	}
	b := bsoncore.NewDocumentBuilder().
		AppendBoolean("executionSuccess", true).
		AppendInt64("nReturned", returned).
		AppendInt64("executionTimeMillis", time.Since(began).Milliseconds()).
		AppendInt64("totalKeysExamined", 0).
		AppendInt64("totalDocsExamined", examined)
	if st != nil {
		b.AppendDocument("chronogo", bsoncore.NewDocumentBuilder().
			AppendInt64("buckets", st.Buckets).
			AppendInt64("vnodesRead", st.Vnodes).
			AppendInt64("seriesMatched", st.Series).
			AppendInt64("blocksRead", st.BlocksRead).
			AppendInt64("blocksSkipped", st.BlocksSkipped).
			AppendInt64("memcacheColumns", st.CacheColumns).Build())
	}
	return b.Build(), nil
}

// msString renders a pushdown bound (BSON datetime ms) for explain.
func msString(ms int64) string {
	switch ms {
	case math.MinInt64:
		return "-inf"
	case math.MaxInt64:
		return "+inf"
	}
	return time.UnixMilli(ms).UTC().Format(time.RFC3339Nano)
}

// exprString renders the pushdown's meta predicate ("" for every series).
func exprString(p *Pushdown) string {
	if p.Meta == nil {
		return ""
	}
	return index.Format(p.Meta)
}

// orEmpty is d, or an empty document.
func orEmpty(d bson.Raw) bsoncore.Document {
	if len(d) == 0 {
		return bsoncore.NewDocumentBuilder().Build()
	}
	return bsoncore.Document(d)
}

// plainPlan describes how a query on plain collection c reads: by _id (IDHACK), through a
// secondary index (FETCH of an IXSCAN), or a collection scan in _id key order.
func (s *Server) plainPlan(ctx context.Context, c *meta.Collection, filter bson.Raw, plan *bsoncore.DocumentBuilder) error {
	index, err := s.plainDocs(ctx, c, filter, func(*plain.Doc) error { return errStopScan })
	if err != nil && !errors.Is(err, errStopScan) {
		return err
	}
	switch index {
	case "":
		plan.AppendString("stage", "COLLSCAN").AppendString("direction", "forward")
	case "_id_":
		plan.AppendString("stage", "IDHACK")
	default:
		ix := bsoncore.NewDocumentBuilder().AppendString("stage", "IXSCAN").AppendString("indexName", index)
		for _, x := range c.Indexes {
			if x.Name == index {
				ix.AppendDocument("keyPattern", x.Key)
			}
		}
		plan.AppendString("stage", "FETCH").AppendDocument("inputStage", ix.AppendString("direction", "forward").Build())
	}
	return nil
}
