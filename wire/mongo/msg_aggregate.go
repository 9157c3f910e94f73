package mongo

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/wire/mongo/mql"
	"github.com/chronogo/chronogo/wire/mongoerr"
)

// msgAggregate runs a pipeline on a collection ({aggregate: "<coll>"}) or on no input
// ({aggregate: 1}). A leading $match is pushed down to the storage engine. A missing collection
// is an empty input, so mongosh's admin.atlascli probe gets an empty result.
func msgAggregate(ctx context.Context, s *Server, req *request) (*bsoncore.DocumentBuilder, error) {
	target := req.doc.Index(0).Value()
	var name string
	switch {
	case target.Type == bson.TypeString:
		name = target.StringValue()
		if err := validCollName(req.db, name); err != nil {
			return nil, err
		}
	case isNumber(target):
		if n, _ := asInt64(target); n != 1 {
			return nil, mongoerr.New(mongoerr.FailedToParse, "Invalid command format: the 'aggregate' field must specify a collection name or 1")
		}
	default:
		return nil, mongoerr.New(mongoerr.InvalidNamespace, "collection name has invalid type %s", typeName(target.Type))
	}
	vals, ok, err := optArray(req.doc, "aggregate", "pipeline")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, mongoerr.New(mongoerr.IDLFailedToParse, "BSON field 'aggregate.pipeline' is missing but a required field")
	}
	stages := make([]bson.Raw, len(vals))
	for i, v := range vals {
		d, ok := v.DocumentOK()
		if !ok {
			return nil, mongoerr.New(mongoerr.TypeMismatch, "Each element of the 'pipeline' array must be an object")
		}
		stages[i] = d
	}
	// a leading $collStats makes the input: one document of the collection's statistics; a
	// leading $currentOp (aggregate: 1 on admin) the running commands
	var collStatsArg *bson.RawValue
	var currentOps []bson.Raw
	if len(stages) > 0 {
		if first, err := stages[0].IndexErr(0); err == nil && first.Key() == "$collStats" {
			v := first.Value()
			collStatsArg, stages = &v, stages[1:]
		} else if err == nil && first.Key() == "$currentOp" {
			if req.db != "admin" || name != "" {
				return nil, mongoerr.New(mongoerr.InvalidNamespace, "$currentOp must be run against the 'admin' database with {aggregate: 1}")
			}
			if err := s.authorize(ctx, &request{conn: req.conn, db: req.db, name: "currentOp", doc: req.doc}); err != nil {
				return nil, err
			}
			currentOps, stages = s.currentOps(ctx), stages[1:]
		}
	}
	// a final $out or $merge writes the results into a collection instead of the cursor
	var outTo *outStage
	if n := len(stages); n > 0 {
		if outTo, err = parseOutStage(stages[n-1], req.db); err != nil {
			return nil, err
		}
		if outTo != nil {
			stages = stages[:n-1]
		}
	}
	for _, st := range stages {
		first, err := st.IndexErr(0)
		if err != nil {
			continue
		}
		switch first.Key() {
		case "$collStats":
			return nil, mongoerr.New(40602, "$collStats is only valid as the first stage in a pipeline")
		case "$currentOp":
			return nil, mongoerr.New(40602, "$currentOp is only valid as the first stage in a pipeline")
		case "$out", "$merge":
			return nil, mongoerr.New(40601, "%s can only be the final stage in the pipeline", first.Key())
		}
	}
	if explain, _ := optBool(req.doc, "aggregate", "explain", false); explain {
		return nil, mongoerr.New(mongoerr.CommandNotSupported, "explain is not supported by ChronoGo")
	}
	if _, ok := lookup(req.doc, "cursor"); !ok {
		return nil, mongoerr.New(mongoerr.FailedToParse, "The 'cursor' option is required, except for aggregate with the explain argument")
	}
	batchSize, err := cursorBatchSize(req.doc, "aggregate")
	if err != nil {
		return nil, err
	}

	allowDisk, err := optBool(req.doc, "aggregate", "allowDiskUse", true)
	if err != nil {
		return nil, err
	}
	ns := req.db + ".$cmd.aggregate"
	// runCtx is the context the pipeline runs in (set when the stream starts): $unionWith reads
	// other collections with it
	var runCtx context.Context
	opts := mql.PipelineOptions{Now: time.Now(), Sort: s.sortLimits(allowDisk)}
	opts.Union = func(coll string, stages []bson.Raw, out func(bson.Raw) error) error {
		return s.unionWith(runCtx, req.db, coll, stages, opts, out)
	}
	opts.Lookup = func(coll string, out func(bson.Raw) error) error {
		return s.readCollection(runCtx, req.db, coll, out)
	}
	var c *meta.Collection
	if name != "" {
		ns = req.db + "." + name
		coll, ok, err := s.b.Collection(ctx, req.db, name)
		if err != nil {
			return nil, err
		}
		if ok {
			c = coll
			opts.TimeField, opts.MetaField = coll.TimeField, coll.MetaField
		}
	}
	p, err := mql.CompilePipeline(stages, opts)
	if err != nil {
		return nil, queryErr(err)
	}
	var statsDoc bson.Raw
	if collStatsArg != nil {
		if name == "" {
			return nil, mongoerr.New(mongoerr.InvalidNamespace, "$collStats must be run against a collection namespace")
		}
		if statsDoc, err = s.collStatsDoc(ctx, req.db, c, name, *collStatsArg); err != nil {
			return nil, err
		}
	}
	var plan *mql.GroupPlan
	if c != nil && !c.Plain() && statsDoc == nil {
		plan = mql.PlanGroupPushdown(stages, opts)
	}
	// the pipeline runs while the client fetches batches: blocking stages hold at most their
	// limits, and the output is never held whole
	st := startStream(meta.WithTenant(s.baseCtx, meta.TenantOf(ctx)), s.log, func(sctx context.Context, emit func(bson.Raw) error) error {
		runCtx = sctx
		out := func(doc bson.Raw) error { return emit(bson.Raw(append([]byte(nil), doc...))) }
		in := func(yield func(bson.Raw) error) error {
			if statsDoc != nil {
				return yield(statsDoc)
			}
			for _, d := range currentOps {
				if err := yield(d); err != nil {
					return err
				}
			}
			if currentOps != nil {
				return nil
			}
			if c == nil {
				return nil
			}
			return s.scan(sctx, c, p.LeadingMatch(), yield)
		}
		if outTo != nil {
			written := func(yield func(bson.Raw) error) error {
				if plan != nil {
					if done, err := s.aggregatePushdown(sctx, c, plan, yield); err != nil || done {
						return err
					}
				}
				return queryErr(p.Run(in, yield))
			}
			return s.runOut(sctx, outTo, written)
		}
		if plan != nil {
			if done, err := s.aggregatePushdown(sctx, c, plan, out); err != nil || done {
				return err
			}
		}
		return queryErr(p.Run(in, out))
	})
	return s.streamReply(ctx, ns, st, batchSize, false)
}

// readCollection hands every document of collection coll of db to out ($lookup); a collection
// that does not exist gives nothing.
func (s *Server) readCollection(ctx context.Context, db, coll string, out func(bson.Raw) error) error {
	if err := validCollName(db, coll); err != nil {
		return err
	}
	c, ok, err := s.b.Collection(ctx, db, coll)
	if err != nil || !ok {
		return err
	}
	return s.scan(ctx, c, nil, out)
}

// unionWith runs stages over collection coll of db (its documents, through the sub-pipeline)
// for $unionWith; a collection that does not exist gives nothing, as in MongoDB.
func (s *Server) unionWith(ctx context.Context, db, coll string, stages []bson.Raw, opts mql.PipelineOptions, out func(bson.Raw) error) error {
	if err := validCollName(db, coll); err != nil {
		return err
	}
	c, ok, err := s.b.Collection(ctx, db, coll)
	if err != nil || !ok {
		return err
	}
	opts.TimeField, opts.MetaField = c.TimeField, c.MetaField
	p, err := mql.CompilePipeline(stages, opts)
	if err != nil {
		return err
	}
	return p.Run(func(yield func(bson.Raw) error) error { return s.scan(ctx, c, p.LeadingMatch(), yield) }, out)
}
