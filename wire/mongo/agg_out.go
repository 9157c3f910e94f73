package mongo

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/meta/plain"
	"github.com/chronogo/chronogo/wire/mongo/mql"
	"github.com/chronogo/chronogo/wire/mongoerr"
)

// outMemory bounds the results a $out holds before it replaces its target.
const outMemory = 100 << 20

// outStage is a pipeline's final $out or $merge.
type outStage struct {
	merge          bool
	db, coll       string
	ts             *meta.Collection   // $out's timeseries option
	whenMatched    string             // $merge: replace, keepExisting, merge, fail
	whenNotMatched string             // $merge: insert, discard, fail
	on             []string           // $merge: the fields joining results to documents (nil: _id)
	pipeline       *mql.MergePipeline // $merge: whenMatched as a pipeline
}

// parseOutStage recognises a final {$out} or {$merge} stage.
func parseOutStage(st bson.Raw, db string) (*outStage, error) {
	first, err := st.IndexErr(0)
	if err != nil {
		return nil, nil
	}
	key, v := first.Key(), first.Value()
	switch key {
	case "$out":
		o := &outStage{db: db}
		switch v.Type {
		case bson.TypeString:
			o.coll = v.StringValue()
		case bson.TypeEmbeddedDocument:
			elems, _ := v.Document().Elements()
			for _, e := range elems {
				switch e.Key() {
				case "db":
					o.db = e.Value().StringValue()
				case "coll":
					o.coll = e.Value().StringValue()
				case "timeseries":
					d, ok := e.Value().DocumentOK()
					if !ok {
						return nil, typeErr("$out.timeseries", e.Value().Type, "object")
					}
					ts, err := parseTimeseries(d, createTSFields)
					if err != nil {
						return nil, err
					}
					o.ts = &meta.Collection{}
					if err := ts.apply(o.ts); err != nil {
						return nil, err
					}
				default:
					return nil, mongoerr.New(mongoerr.IDLUnknownField, "BSON field '$out.%s' is an unknown field.", e.Key())
				}
			}
		default:
			return nil, mongoerr.New(mongoerr.FailedToParse, "$out stage requires a string or object argument, but found %s", typeName(v.Type))
		}
		return o, o.validate()
	case "$merge":
		o := &outStage{db: db, merge: true, whenMatched: "merge", whenNotMatched: "insert"}
		var (
			whenPipeline bson.RawValue
			letDoc       bson.Raw
			ok           bool
			err          error
		)
		switch v.Type {
		case bson.TypeString:
			o.coll = v.StringValue()
		case bson.TypeEmbeddedDocument:
			elems, _ := v.Document().Elements()
			for _, e := range elems {
				ev := e.Value()
				switch e.Key() {
				case "into":
					if ev.Type == bson.TypeEmbeddedDocument {
						o.db = ev.Document().Lookup("db").StringValue()
						o.coll = ev.Document().Lookup("coll").StringValue()
					} else {
						o.coll = ev.StringValue()
					}
				case "on":
					if o.on, err = parseMergeOn(ev); err != nil {
						return nil, err
					}
				case "whenMatched":
					if ev.Type == bson.TypeArray {
						o.whenMatched, whenPipeline = "pipeline", ev
						continue
					}
					o.whenMatched = ev.StringValue()
				case "whenNotMatched":
					o.whenNotMatched = ev.StringValue()
				case "let":
					if letDoc, ok = ev.DocumentOK(); !ok {
						return nil, typeErr("$merge.let", ev.Type, "object")
					}
				default:
					return nil, mongoerr.New(mongoerr.IDLUnknownField, "BSON field '$merge.%s' is an unknown field.", e.Key())
				}
			}
		default:
			return nil, mongoerr.New(51182, "$merge requires a string or object argument, but found %s", typeName(v.Type))
		}
		if o.whenMatched == "pipeline" {
			if o.pipeline, err = mql.CompileMergePipeline(whenPipeline, letDoc, time.Now()); err != nil {
				return nil, queryErr(err)
			}
		} else if len(letDoc) > 0 {
			return nil, mongoerr.New(51199, "Cannot use 'let' variables with 'whenMatched: %s' mode", o.whenMatched)
		}
		switch o.whenMatched {
		case "replace", "keepExisting", "merge", "fail", "pipeline":
		default:
			return nil, mongoerr.New(mongoerr.BadValue, "Enumeration value '%s' for field '$merge.whenMatched' is not a valid value.", o.whenMatched)
		}
		switch o.whenNotMatched {
		case "insert", "discard", "fail":
		default:
			return nil, mongoerr.New(mongoerr.BadValue, "Enumeration value '%s' for field '$merge.whenNotMatched' is not a valid value.", o.whenNotMatched)
		}
		if (o.whenMatched == "keepExisting" || o.whenMatched == "fail") && o.whenNotMatched != "insert" {
			return nil, mongoerr.New(mongoerr.CommandNotSupported, "$merge with whenMatched '%s' and whenNotMatched '%s' is not supported by ChronoGo", o.whenMatched, o.whenNotMatched)
		}
		return o, o.validate()
	}
	return nil, nil
}

func mustValues(a bson.RawArray) []bson.RawValue {
	v, _ := a.Values()
	return v
}

func (o *outStage) validate() error {
	if o.coll == "" {
		return mongoerr.New(mongoerr.FailedToParse, "%s needs a target collection", o.name())
	}
	if err := validDBName(o.db); err != nil {
		return err
	}
	return validCollName(o.db, o.coll)
}

func (o *outStage) name() string {
	if o.merge {
		return "$merge"
	}
	return "$out"
}

// run writes the pipeline's results (in) into the target.
func (s *Server) runOut(ctx context.Context, o *outStage, in func(yield func(bson.Raw) error) error) error {
	octx := meta.WithTenant(ctx, meta.TenantOf(ctx))
	target, exists, err := s.b.Collection(octx, o.db, o.coll)
	if err != nil {
		return err
	}
	if o.merge {
		if exists && !target.Plain() {
			return mongoerr.New(mongoerr.CommandNotSupported, "$merge into a time-series collection is not supported; use $out")
		}
		if !exists {
			if target, err = s.createPlain(ctx, o.db, o.coll); err != nil {
				return err
			}
		}
		if o.pipeline != nil || !(len(o.on) == 0 || (len(o.on) == 1 && o.on[0] == "_id")) {
			return s.mergeOn(ctx, target, o, in)
		}
		return s.mergeInto(ctx, target, o, in)
	}
	// $out: the results first (bounded), then the target replaced by them
	var docs []bson.Raw
	size := 0
	err = in(func(d bson.Raw) error {
		if size += len(d); size > outMemory {
			return mongoerr.New(mongoerr.ExceededMemoryLimit, "$out holds at most %d bytes of results in ChronoGo", outMemory)
		}
		docs = append(docs, bson.Raw(append([]byte(nil), d...)))
		return nil
	})
	if err != nil {
		return err
	}
	switch {
	case exists && o.ts != nil && (target.Plain() || target.TimeField != o.ts.TimeField || target.MetaField != o.ts.MetaField):
		return mongoerr.New(7268700, "Time-series options do not match the existing collection %s.%s", o.db, o.coll)
	case exists && o.ts == nil && !target.Plain():
		o.ts = target // replace a time series with one of the same options
	}
	if o.ts == nil {
		return s.outPlain(ctx, o, target, exists, docs)
	}
	return s.outTimeSeries(ctx, o, docs)
}

// outTimeSeries replaces time series o.coll by docs in one step: every result is checked first
// (a result that is no measurement fails the $out with the old target as it was), the
// measurements go into a hidden staging collection, which then takes the target's place in one
// catalog entry (Backend.ReplaceCollection). Readers see the old target until then, and a crash
// before it leaves the old target whole (the TTL pass drops the staging collection).
func (s *Server) outTimeSeries(ctx context.Context, o *outStage, docs []bson.Raw) error {
	c := *o.ts
	c.Tenant, c.DB, c.CreatedAt, c.Indexes, c.Table = meta.TenantOf(ctx), o.db, time.Now().UnixNano(), nil, ""
	c.Name = meta.HiddenCollectionName(o.coll, meta.HiddenStaging, mrand.Uint64())
	checkedMeta := map[string]struct{}{}
	measurements := make([]bson.Raw, len(docs))
	for i, d := range docs {
		doc, err := measurement(&c, bson.RawValue{Type: bson.TypeEmbeddedDocument, Value: d}, checkedMeta)
		if err != nil {
			return err
		}
		measurements[i] = doc
	}
	started := time.Now()
	if err := s.b.CreateCollection(ctx, &c); err != nil {
		return err
	}
	drop := func() {
		if _, err := s.b.DropCollection(context.WithoutCancel(ctx), o.db, c.Name); err != nil {
			s.log.WithError(err).WithField("collection", c.Name).Warn("$out: the staging collection is left to the TTL pass")
		}
	}
	ins := inserter{s: s, c: &c, ctx: ctx, batch: min(len(docs), insertBatch)}
	for i, doc := range measurements {
		if ins.add(i, doc); len(ins.docs) >= insertBatch {
			ins.flush()
		}
	}
	ins.flush()
	if err := outErr(&ins.out); err != nil {
		drop()
		return err
	}
	if time.Since(started) > OutStagingMaxAge/2 {
		drop() // the TTL pass may be dropping it already
		return mongoerr.New(mongoerr.MaxTimeMSExpired, "$out took longer than %v to fill its target", OutStagingMaxAge/2)
	}
	if err := s.b.ReplaceCollection(ctx, o.db, o.coll, c.Name); err != nil {
		drop()
		return err
	}
	return nil
}

// OutStagingMaxAge is how long a $out's staging collection may exist: the TTL pass drops older
// ones (a crash mid-$out leaves one), and a $out that took half of it fails instead of swapping.
const OutStagingMaxAge = time.Hour

// outErr is the first write error of a $out or $merge, failing the aggregate.
func outErr(o *stmtOutcomes) error {
	if o.fatal != nil {
		return o.fatal
	}
	if len(o.errs) > 0 {
		return o.errs[0].err
	}
	return nil
}

// mergeInto upserts the results into plain collection c by _id, as $merge's whenMatched and
// whenNotMatched say.
func (s *Server) mergeInto(ctx context.Context, c *meta.Collection, o *outStage, in func(yield func(bson.Raw) error) error) error {
	var items []plain.Item
	var ids []bson.RawValue
	flush := func() error {
		if len(items) == 0 {
			return nil
		}
		res, err := s.b.PlainWrite(ctx, c, items, true)
		if err != nil {
			return err
		}
		for i, st := range res.Statuses {
			switch {
			case st == plain.StatusOK, st == plain.StatusSkipped:
			case st == plain.StatusExists && o.whenMatched == "keepExisting":
			case st == plain.StatusMissing && o.whenNotMatched == "discard":
			case st == plain.StatusExists:
				return dupKeyErr(c, ids[i])
			case st == plain.StatusMissing:
				return mongoerr.New(13113, "$merge could not find a matching document in the target collection for at least one document in the source collection")
			default:
				return plainStatusErr(c, st, ids[i], res.ProblemOf(i))
			}
		}
		items, ids = items[:0], ids[:0]
		return nil
	}
	err := in(func(d bson.Raw) error {
		d, id, key, err := withID(bson.Raw(append([]byte(nil), d...)))
		if err != nil {
			return err
		}
		var mode plain.Mode
		switch o.whenMatched {
		case "replace":
			mode = plain.ModeReplace // missing: discarded, or failed (13113)
			if o.whenNotMatched == "insert" {
				mode = plain.ModeUpsert
			}
		case "keepExisting", "fail":
			mode = plain.ModeInsert // exists: kept, or failed (11000)
		case "merge":
			cur, found, err := s.b.PlainGet(ctx, c, key)
			if err != nil {
				return err
			}
			switch {
			case found:
				d, mode = mergeFields(cur.Doc, d), plain.ModeReplace
			case o.whenNotMatched == "insert":
				mode = plain.ModeInsert
			default:
				mode = plain.ModeReplace // missing: discarded or failed
			}
		}
		items, ids = append(items, plain.Item{Mode: mode, Key: key, Doc: d}), append(ids, id)
		if len(items) >= plainBatchItems {
			return flush()
		}
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}

// mergeFields is $merge's whenMatched "merge": the target document with the result's fields set.
func mergeFields(cur []byte, d bson.Raw) bson.Raw {
	b := bsoncore.NewDocumentBuilder()
	set := map[string]bool{}
	elems, _ := d.Elements()
	for _, e := range elems {
		set[e.Key()] = true
	}
	curElems, _ := bson.Raw(cur).Elements()
	for _, e := range curElems {
		if v, ok := lookup(d, e.Key()); ok {
			b.AppendValue(e.Key(), bsoncore.Value{Type: bsoncore.Type(v.Type), Data: v.Value})
			delete(set, e.Key())
		} else {
			b.AppendValue(e.Key(), bsoncore.Value{Type: bsoncore.Type(e.Value().Type), Data: e.Value().Value})
		}
	}
	for _, e := range elems {
		if set[e.Key()] {
			b.AppendValue(e.Key(), bsoncore.Value{Type: bsoncore.Type(e.Value().Type), Data: e.Value().Value})
		}
	}
	return bson.Raw(b.Build())
}

// outPlain replaces plain collection o.coll by docs in one step: the documents go into a staging
// collection of the plain store (with the target's indexes, so their constraints hold), which
// then takes the target's place in one Raft entry. A failure leaves the target as it was.
func (s *Server) outPlain(ctx context.Context, o *outStage, target *meta.Collection, exists bool, docs []bson.Raw) error {
	var err error
	// runOut sends a time-series target to outTimeSeries (a $out without timeseries keeps a time
	// series a time series) and refuses a plain one with timeseries (7268700): here the target is
	// plain or missing
	if !exists {
		if target, err = s.createPlain(ctx, o.db, o.coll); err != nil {
			return err
		}
	}
	var suffix [8]byte
	_, _ = rand.Read(suffix[:])
	staging := &meta.Collection{Tenant: target.Tenant, DB: o.db, Name: fmt.Sprintf("%s\x00out.%x", o.coll, suffix)}
	drop := func() {
		_, _ = s.b.PlainAdmin(context.WithoutCancel(ctx), staging, plain.Command{Op: plain.OpDropCollection})
	}
	if len(target.Indexes) > 0 {
		cmd := plain.Command{Op: plain.OpCreateIndexes}
		for _, idx := range target.Indexes {
			cmd.Indexes = append(cmd.Indexes, plainIndexSpec(idx))
		}
		if _, err := s.b.PlainAdmin(ctx, staging, cmd); err != nil {
			drop()
			return err
		}
	}
	w := plainWriter{s: s, c: staging, ordered: true}
	for i, d := range docs {
		d, id, key, err := withID(d)
		if err != nil {
			drop()
			return err
		}
		w.add(ctx, plainPending{item: plain.Item{Mode: plain.ModeInsert, Key: key, Doc: d}, idx: i, id: id})
	}
	w.flush(ctx)
	if err := outErr(&w.out); err != nil {
		drop()
		var me *mongoerr.Error
		if errors.As(err, &me) { // the errors name the target, as MongoDB's do
			me.Msg = strings.ReplaceAll(me.Msg, staging.Name, o.coll)
		}
		return err
	}
	if _, err := s.b.PlainAdmin(ctx, target, plain.Command{Op: plain.OpReplaceFrom, From: staging.Name}); err != nil {
		drop()
		return err
	}
	return nil
}
