package mongo

import (
	"bytes"
	"context"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/meta/plain"
	"github.com/chronogo/chronogo/wire/mongo/mql"
	"github.com/chronogo/chronogo/wire/mongoerr"
)

// findAndModifyFields are the fields findAndModify accepts besides the generic ones.
var findAndModifyFields = map[string]bool{"query": true, "sort": true, "remove": true, "update": true, "new": true,
	"fields": true, "upsert": true, "bypassDocumentValidation": true, "writeConcern": true, "maxTimeMS": true,
	"collation": true, "arrayFilters": true, "hint": true, "let": true, "comment": true}

// msgFindAndModify updates, replaces or removes the first document of a plain collection that
// matches query (in sort order) and returns it, before or after (new) the change. Time-series
// collections do not support it, as in MongoDB.
func msgFindAndModify(ctx context.Context, s *Server, req *request) (*bsoncore.DocumentBuilder, error) {
	ctx, err := withWriteConcern(ctx, req.doc)
	if err != nil {
		return nil, err
	}
	elems, err := req.doc.Elements()
	if err != nil {
		return nil, mongoerr.New(mongoerr.InvalidBSON, "findAndModify: %v", err)
	}
	for _, e := range elems[1:] {
		if !findAndModifyFields[e.Key()] && !genericFields[e.Key()] {
			return nil, mongoerr.New(mongoerr.IDLUnknownField, "BSON field 'findAndModify.%s' is an unknown field.", e.Key())
		}
	}
	q, err := optDoc(req.doc, "findAndModify", "query")
	if err != nil {
		return nil, err
	}
	sortSpec, err := optDoc(req.doc, "findAndModify", "sort")
	if err != nil {
		return nil, err
	}
	fields, err := optDoc(req.doc, "findAndModify", "fields")
	if err != nil {
		return nil, err
	}
	remove, err := optBool(req.doc, "findAndModify", "remove", false)
	if err != nil {
		return nil, err
	}
	returnNew, err := optBool(req.doc, "findAndModify", "new", false)
	if err != nil {
		return nil, err
	}
	upsert, err := optBool(req.doc, "findAndModify", "upsert", false)
	if err != nil {
		return nil, err
	}
	u, hasUpdate := lookup(req.doc, "update")
	switch {
	case remove && hasUpdate:
		return nil, mongoerr.New(mongoerr.FailedToParse, "Cannot specify both an update and remove=true")
	case !remove && !hasUpdate:
		return nil, mongoerr.New(mongoerr.FailedToParse, "Either an update or remove=true must be specified")
	case remove && (upsert || returnNew):
		return nil, mongoerr.New(mongoerr.FailedToParse, "Cannot specify both upsert=true and remove=true, or new=true and remove=true")
	}
	filters, _, err := optArray(req.doc, "findAndModify", "arrayFilters")
	if err != nil {
		return nil, err
	}
	var up *mql.Update
	if hasUpdate {
		if up, err = mql.CompileUpdateIn(u, time.Now(), mql.UpdateContext{Query: q, ArrayFilters: filters}); err != nil {
			return nil, queryErr(err)
		}
	}
	var proj *mql.Projection
	if len(fields) > 0 {
		if proj, err = mql.CompileProjection(fields); err != nil {
			return nil, queryErr(err)
		}
	}
	var sorter *mql.Sort
	if len(sortSpec) > 0 {
		if sorter, err = mql.CompileSort(sortSpec); err != nil {
			return nil, queryErr(err)
		}
	}
	var f *mql.Filter
	if len(q) > 0 {
		if f, err = mql.CompileFilter(q); err != nil {
			return nil, queryErr(err)
		}
	}
	c, name, err := s.targetCollection(ctx, req)
	if err != nil {
		return nil, err
	}
	if c == nil && upsert {
		if c, err = s.createPlain(ctx, req.db, name); err != nil {
			return nil, err
		}
	}
	if c != nil && !c.Plain() {
		return nil, mongoerr.New(mongoerr.InvalidOptions, "findAndModify is not supported on a time-series collection")
	}
	s.ops.update.Add(1)
	var (
		before, after []byte
		upsertedID    bson.RawValue
		found         bool
	)
	for attempt := 0; c != nil; attempt++ {
		target, ok, err := s.plainFirst(ctx, c, q, f, sorter)
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		item := plain.Item{Mode: plain.ModeDelete, Key: target.Key, Rev: target.Rev}
		next := target.Doc
		if !remove {
			if next, err = up.Apply(target.Doc, false); err != nil {
				return nil, queryErr(err)
			}
			item = plain.Item{Mode: plain.ModeReplace, Key: target.Key, Rev: target.Rev, Doc: next}
		}
		if remove || !bytes.Equal(next, target.Doc) {
			res, err := s.b.PlainWrite(ctx, c, []plain.Item{item}, true)
			if err != nil {
				return nil, err
			}
			if st := res.Statuses[0]; st == plain.StatusConflict || st == plain.StatusMissing {
				if attempt < plainUpdateRetries {
					continue // changed meanwhile: find again
				}
				return nil, plainStatusErr(c, st, bson.Raw(target.Doc).Lookup("_id"), res.ProblemOf(0))
			} else if err := plainStatusErr(c, st, bson.Raw(target.Doc).Lookup("_id"), res.ProblemOf(0)); err != nil {
				return nil, err
			}
		}
		before, after, found = target.Doc, next, true
		break
	}
	if !found && upsert {
		doc, id, err := s.plainUpsert(ctx, c, q, u, up)
		if err != nil {
			return nil, err
		}
		after, upsertedID = doc, id
	}
	var value []byte
	switch {
	case found && returnNew, upsertedID.Type != 0 && returnNew:
		value = after
	case found:
		value = before
	}
	if value != nil && proj != nil {
		if value, err = proj.Apply(value); err != nil {
			return nil, queryErr(err)
		}
	}
	leo := bsoncore.NewDocumentBuilder()
	n := int32(0)
	if found || upsertedID.Type != 0 {
		n = 1
	}
	leo.AppendInt32("n", n)
	if !remove {
		leo.AppendBoolean("updatedExisting", found)
	}
	if upsertedID.Type != 0 {
		leo.AppendValue("upserted", bsoncore.Value{Type: bsoncore.Type(upsertedID.Type), Data: upsertedID.Value})
	}
	b := bsoncore.NewDocumentBuilder().AppendDocument("lastErrorObject", leo.Build())
	if value != nil {
		b.AppendDocument("value", value)
	} else {
		b.AppendNull("value")
	}
	return b, nil
}

// plainFirst returns the first document of plain collection c matching f, in sorter's order
// (key order without one).
func (s *Server) plainFirst(ctx context.Context, c *meta.Collection, filter bson.Raw, f *mql.Filter, sorter *mql.Sort) (plain.Doc, bool, error) {
	var best plain.Doc
	found := false
	_, err := s.plainDocs(ctx, c, filter, func(d *plain.Doc) error {
		if ok, err := matches(f, d.Doc); err != nil || !ok {
			return err
		}
		if !found || (sorter != nil && sorter.Compare(d.Doc, best.Doc) < 0) {
			best = plain.Doc{Key: slices.Clone(d.Key), Rev: d.Rev, Doc: slices.Clone(d.Doc)}
			found = true
		}
		if sorter == nil {
			return errStopScan
		}
		return nil
	})
	if err != nil && err != errStopScan {
		return plain.Doc{}, false, err
	}
	return best, found, nil
}
