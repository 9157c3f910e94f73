package mongo

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/wire/mongo/mql"
	"github.com/chronogo/chronogo/wire/mongoerr"
)

// msgDelete runs delete statements. Limit 0 (deleteMany) takes filters the storage engine can
// evaluate entirely: metaField and timeField predicates; other filters are a write error 72, as
// MongoDB before 7.0 did for time series. Limit 1 (deleteOne, MongoDB 7.0) takes any filter.
func msgDelete(ctx context.Context, s *Server, req *request) (*bsoncore.DocumentBuilder, error) {
	ctx, err := withWriteConcern(ctx, req.doc)
	if err != nil {
		return nil, err
	}
	c, _, err := s.targetCollection(ctx, req)
	if err != nil {
		return nil, err
	}
	ordered, err := optBool(req.doc, "delete", "ordered", true)
	if err != nil {
		return nil, err
	}
	stmts, ok, err := optArray(req.doc, "delete", "deletes")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, mongoerr.New(mongoerr.IDLFailedToParse, "BSON field 'delete.deletes' is missing but a required field")
	}
	s.ops.delete.Add(int64(len(stmts)))
	var (
		n   int64
		out stmtOutcomes
	)
	for i, v := range stmts {
		removed, err := s.deleteOne(ctx, c, v)
		if out.add(err, i) {
			n += removed
		}
		if out.stop(ordered) {
			break
		}
	}
	return out.reply(func(b *bsoncore.DocumentBuilder) { b.AppendInt32("n", int32(n)) })
}

// deleteOne runs one delete statement {q, limit}.
func (s *Server) deleteOne(ctx context.Context, c *meta.Collection, v bson.RawValue) (int64, error) {
	stmt, ok := v.DocumentOK()
	if !ok {
		return 0, typeErr("delete.deletes", v.Type, "object")
	}
	q, err := optDoc(stmt, "delete.deletes", "q")
	if err != nil {
		return 0, err
	}
	if _, ok := lookup(stmt, "q"); !ok {
		return 0, mongoerr.New(mongoerr.IDLFailedToParse, "BSON field 'delete.deletes.q' is missing but a required field")
	}
	limit, _, err := optInt64(stmt, "delete.deletes", "limit")
	if err != nil {
		return 0, err
	}
	if limit != 0 && limit != 1 {
		return 0, mongoerr.New(mongoerr.FailedToParse, "The limit field in delete objects must be 0 or 1. Got %d", limit)
	}
	if c == nil {
		return 0, nil
	}
	if c.Plain() {
		return s.plainDelete(ctx, c, q, limit == 1)
	}
	if limit == 1 {
		return s.deleteFirst(ctx, c, q)
	}
	return s.deleteMatching(ctx, c, q)
}

// deleteMatching deletes every document filter q matches through the storage pushdown, which
// must select exactly those documents (checked against the stored data when mql cannot tell).
func (s *Server) deleteMatching(ctx context.Context, c *meta.Collection, q bson.Raw) (int64, error) {
	p, err := pushdownOf(c, q)
	if err != nil {
		return 0, err
	}
	if !p.Exact {
		if err := s.verifyPushdown(ctx, c, p, q); err != nil {
			return 0, err
		}
		p.Exact = true
	}
	return s.b.Delete(ctx, c, p)
}

// deleteFirst is deleteOne (limit 1, MongoDB 7.0, any filter): the first document the filter
// matches is removed. A document is one series' row at one time, so it is deleted by its
// metaField value and its time, which select exactly it.
func (s *Server) deleteFirst(ctx context.Context, c *meta.Collection, q bson.Raw) (int64, error) {
	var found bson.Raw
	if err := s.scan(ctx, c, q, func(doc bson.Raw) error { found = doc; return errStopScan }); err != nil {
		return 0, err
	}
	if found == nil {
		return 0, nil
	}
	tv, err := found.LookupErr(c.TimeField)
	if err != nil {
		return 0, mongoerr.New(mongoerr.InternalError, "stored document without its timeField %q", c.TimeField)
	}
	sel := bson.D{{Key: c.TimeField, Value: tv}}
	if c.MetaField != "" {
		if mv, err := found.LookupErr(c.MetaField); err == nil {
			sel = append(sel, bson.E{Key: c.MetaField, Value: mv})
		} else {
			sel = append(sel, bson.E{Key: c.MetaField, Value: nil})
		}
	}
	f, err := bson.Marshal(sel)
	if err != nil {
		return 0, mongoerr.New(mongoerr.InternalError, "deleteOne selector: %v", err)
	}
	return s.deleteMatching(ctx, c, f)
}

// verifyPushdown checks that every stored document the pushdown selects also matches the whole
// filter, so deleting by the pushdown removes exactly the filter's documents. mql's pushdown is
// conservative (a meta equality is not exact because a meta value could be an array); this
// admits such deletes when the data allows them. A document inserted between this check and
// the delete is not re-checked.
func (s *Server) verifyPushdown(ctx context.Context, c *meta.Collection, p *Pushdown, q bson.Raw) error {
	f, err := mql.CompileFilter(q)
	if err != nil {
		return queryErr(err)
	}
	errMismatch := metaOnlyErr(c)
	err = s.b.Find(ctx, c, p, func(doc bson.Raw) error {
		ok, err := f.Match(doc)
		if err != nil {
			return queryErr(err)
		}
		if !ok {
			return errMismatch
		}
		return nil
	})
	return err
}

// metaOnlyErr is MongoDB's error for updates and deletes that do not filter on the metaField.
func metaOnlyErr(c *meta.Collection) error {
	return mongoerr.New(mongoerr.InvalidOptions,
		"Cannot perform an update or delete on a time-series collection when querying on a field that is not the metaField '%s'", c.MetaField)
}
