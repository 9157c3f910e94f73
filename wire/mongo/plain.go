package mongo

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/meta/plain"
	"github.com/chronogo/chronogo/wire/mongo/mql"
	"github.com/chronogo/chronogo/wire/mongoerr"
)

// Plain collections keep whole documents in the meta cluster's plain shard, keyed by the
// canonical encoding of their _id (mql.AppendKey): the _id index is unique by construction.

// plainBatchItems and plainBatchBytes bound one proposal of plain writes.
const (
	plainBatchItems = 1000
	plainBatchBytes = 4 << 20
)

// withID returns doc with an _id (an ObjectId first when it has none), the _id and its key.
func withID(doc bson.Raw) (bson.Raw, bson.RawValue, []byte, error) {
	id, err := doc.LookupErr("_id")
	if err != nil {
		oid := bson.NewObjectID()
		b := bsoncore.NewDocumentBuilder().AppendObjectID("_id", oid)
		elems, err := doc.Elements()
		if err != nil {
			return nil, id, nil, mongoerr.New(mongoerr.InvalidBSON, "insert: %v", err)
		}
		for _, e := range elems {
			b.AppendValue(e.Key(), bsoncore.Value{Type: bsoncore.Type(e.Value().Type), Data: e.Value().Value})
		}
		doc = bson.Raw(b.Build())
		id = bson.RawValue{Type: bson.TypeObjectID, Value: oid[:]}
	}
	switch id.Type {
	case bson.TypeArray:
		return nil, id, nil, mongoerr.New(mongoerr.BadValue, "can't use an array for _id")
	case bson.TypeRegex:
		return nil, id, nil, mongoerr.New(mongoerr.BadValue, "can't use a regex for _id")
	case bson.TypeUndefined:
		return nil, id, nil, mongoerr.New(mongoerr.BadValue, "can't use a undefined for _id")
	}
	return doc, id, mql.AppendKey(nil, id), nil
}

// dupKeyErr is MongoDB's duplicate key error for _id value id of collection c.
func dupKeyErr(c *meta.Collection, id bson.RawValue) *mongoerr.Error {
	kv := bsoncore.NewDocumentBuilder().AppendValue("_id", bsoncore.Value{Type: bsoncore.Type(id.Type), Data: id.Value}).Build()
	return indexDupErr(c, "_id_", bsoncore.NewDocumentBuilder().AppendInt32("_id", 1).Build(), kv)
}

// indexDupErr is MongoDB's duplicate key error of index name (key pattern pattern) for the key
// keyValue ({field: value}).
func indexDupErr(c *meta.Collection, name string, pattern, keyValue []byte) *mongoerr.Error {
	var parts []string
	elems, _ := bson.Raw(keyValue).Elements()
	for _, e := range elems {
		parts = append(parts, e.Key()+": "+e.Value().String())
	}
	e := mongoerr.New(mongoerr.DuplicateKey, "E11000 duplicate key error collection: %s.%s index: %s dup key: { %s }",
		c.DB, c.Name, name, strings.Join(parts, ", "))
	e.Extra = bsoncore.NewDocumentBuilder().AppendDocument("keyPattern", pattern).AppendDocument("keyValue", keyValue).Build()
	return e
}

// indexProblemErr is the error of a secondary index's problem with a document (or an index
// build): a duplicate key, parallel arrays, or another reason the store gave.
func indexProblemErr(c *meta.Collection, st plain.Status, p *plain.Problem) error {
	switch {
	case p == nil:
		return mongoerr.New(mongoerr.InternalError, "the store reported status %d without a reason", st)
	case len(p.KeyValue) > 0:
		return indexDupErr(c, p.Index, p.KeyPattern, p.KeyValue)
	case strings.Contains(p.Message, "parallel arrays"):
		return mongoerr.New(mongoerr.CannotIndexParallelArrays, "cannot index parallel arrays: index %s %s", p.Index, p.KeyPattern)
	}
	return mongoerr.New(mongoerr.CannotCreateIndex, "index %s: %s", p.Index, p.Message)
}

// plainStatusErr is the write error of an item's status (nil for ok and skipped); p is the
// store's explanation of an index problem.
func plainStatusErr(c *meta.Collection, st plain.Status, id bson.RawValue, p *plain.Problem) error {
	switch st {
	case plain.StatusDupKey, plain.StatusBadKey:
		return indexProblemErr(c, st, p)
	case plain.StatusExists:
		return dupKeyErr(c, id)
	case plain.StatusFull:
		return mongoerr.New(mongoerr.OperationFailed, "collection %s.%s is full: plain collections hold at most %d documents and %d bytes",
			c.DB, c.Name, plain.DefaultLimits.MaxDocs, plain.DefaultLimits.MaxBytes)
	case plain.StatusMissing, plain.StatusConflict:
		return mongoerr.New(mongoerr.WriteConflict, "the document changed while it was being written; retry")
	}
	return nil
}

// plainPending is a write of a plain collection with the command index it answers for.
type plainPending struct {
	item plain.Item
	idx  int
	id   bson.RawValue
}

// plainWriter sends plain writes in bounded batches and records their outcomes.
type plainWriter struct {
	s       *Server
	c       *meta.Collection
	ordered bool
	pending []plainPending
	size    int
	n       int64 // items applied
	out     stmtOutcomes
}

func (w *plainWriter) add(ctx context.Context, p plainPending) {
	w.pending = append(w.pending, p)
	w.size += len(p.item.Doc)
	if len(w.pending) >= plainBatchItems || w.size >= plainBatchBytes {
		w.flush(ctx)
	}
}

// err is the first error recorded so far (nil: none).
func (w *plainWriter) err() error { return outErr(&w.out) }

func (w *plainWriter) flush(ctx context.Context) {
	if len(w.pending) == 0 {
		return
	}
	items := make([]plain.Item, len(w.pending))
	for i, p := range w.pending {
		items[i] = p.item
	}
	res, err := w.s.b.PlainWrite(ctx, w.c, items, w.ordered)
	var wce *WriteConcernError
	if errors.As(err, &wce) { // applied, short of its write concern
		w.out.wce, err = wce, nil
	}
	if err != nil {
		idx := make([]int, len(w.pending))
		for i, p := range w.pending {
			idx[i] = p.idx
		}
		w.out.add(err, idx...)
	} else {
		for i, p := range w.pending {
			if i >= len(res.Statuses) || res.Statuses[i] == plain.StatusSkipped {
				continue
			}
			if err := plainStatusErr(w.c, res.Statuses[i], p.id, res.ProblemOf(i)); err != nil {
				w.out.add(err, p.idx)
				continue
			}
			w.n++
		}
	}
	w.pending, w.size = w.pending[:0], 0
}

// plainInsert inserts documents into a plain collection.
func (s *Server) plainInsert(ctx context.Context, c *meta.Collection, vals []bson.RawValue, ordered bool) (*bsoncore.DocumentBuilder, error) {
	w := plainWriter{s: s, c: c, ordered: ordered}
	for i, v := range vals {
		doc, ok := v.DocumentOK()
		var err error
		switch {
		case !ok:
			err = typeErr("insert.documents", v.Type, "object")
		case len(doc) > MaxBSONObjectSize:
			err = mongoerr.New(mongoerr.BSONObjectTooLarge, "object to insert too large. size in bytes: %d, max size: %d", len(doc), MaxBSONObjectSize)
		default:
			if verr := validDoc(doc); verr != nil {
				return nil, mongoerr.New(mongoerr.InvalidBSON, "insert.documents.%d: %v", i, verr)
			}
		}
		if err == nil {
			var id bson.RawValue
			var key []byte
			if doc, id, key, err = withID(doc); err == nil {
				if w.add(ctx, plainPending{item: plain.Item{Mode: plain.ModeInsert, Key: key, Doc: doc}, idx: i, id: id}); w.out.stop(ordered) {
					break // a batch sent by add failed: nothing after it
				}
				continue
			}
		}
		w.flush(ctx)
		w.out.add(err, i)
		if w.out.stop(ordered) {
			break
		}
	}
	if !w.out.stop(ordered) {
		w.flush(ctx)
	}
	return w.out.reply(func(b *bsoncore.DocumentBuilder) { b.AppendInt32("n", int32(w.n)) })
}

// plainScan calls fn with a private copy of every document of plain collection c matching
// filter, compiled as f (nil: all).
func (s *Server) plainScan(ctx context.Context, c *meta.Collection, filter bson.Raw, f *mql.Filter, fn func(bson.Raw) error) error {
	_, err := s.plainDocs(ctx, c, filter, func(d *plain.Doc) error {
		if ok, err := matches(f, d.Doc); err != nil || !ok {
			return err
		}
		return fn(bson.Raw(append([]byte(nil), d.Doc...)))
	})
	return err
}

// matches reports whether f (nil: everything) matches doc.
func matches(f *mql.Filter, doc []byte) (bool, error) {
	if f == nil {
		return true, nil
	}
	ok, err := f.Match(bson.Raw(doc))
	return ok, queryErr(err)
}

// plainDelete removes the documents of plain collection c that q matches (the first only when
// one is true). A document that changes between the scan and the delete is left.
func (s *Server) plainDelete(ctx context.Context, c *meta.Collection, q bson.Raw, one bool) (int64, error) {
	var f *mql.Filter
	if len(q) > 0 {
		var err error
		if f, err = mql.CompileFilter(q); err != nil {
			return 0, queryErr(err)
		}
	}
	var items []plain.Item
	_, err := s.plainDocs(ctx, c, q, func(d *plain.Doc) error {
		if ok, err := matches(f, d.Doc); err != nil || !ok {
			return err
		}
		items = append(items, plain.Item{Mode: plain.ModeDelete, Key: append([]byte(nil), d.Key...), Rev: d.Rev})
		if one {
			return errStopScan
		}
		return nil
	})
	if err != nil && err != errStopScan {
		return 0, err
	}
	var n int64
	for start := 0; start < len(items); start += plainBatchItems {
		batch := items[start:min(len(items), start+plainBatchItems)]
		res, err := s.b.PlainWrite(ctx, c, batch, false)
		if err != nil {
			return n, err
		}
		for _, st := range res.Statuses {
			if st == plain.StatusOK {
				n++
			}
		}
	}
	return n, nil
}

// plainCreateErr is the error for create options a plain collection cannot have.
func plainCreateErr(option string) error {
	return mongoerr.New(mongoerr.InvalidOptions, "ChronoGo's plain collections do not support the '%s' option", option)
}

// createPlain creates plain collection db.name (nothing when it exists) and returns the
// collection now under that name.
func (s *Server) createPlain(ctx context.Context, db, name string) (*meta.Collection, error) {
	c := &meta.Collection{Tenant: meta.TenantOf(ctx), DB: db, Name: name, CreatedAt: time.Now().UnixNano()}
	if err := s.b.CreateCollection(ctx, c); err != nil {
		return nil, err
	}
	got, ok, err := s.b.Collection(ctx, db, name)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, mongoerr.New(mongoerr.NamespaceNotFound, "collection %s.%s was dropped while it was created", db, name)
	}
	return got, nil
}

// plainUpdateRetries bounds how often a statement retries documents that changed under it.
const plainUpdateRetries = 5

// plainUpdate runs one update statement {q, u, multi, upsert} on a plain collection: the matching
// documents are read, changed here and written back if their revision did not change meanwhile
// (else read and tried again). It returns the documents matched and modified, and the _id of an
// upserted document.
func (s *Server) plainUpdate(ctx context.Context, c *meta.Collection, v bson.RawValue) (matched, modified int64, upserted bson.RawValue, err error) {
	if err := updateStmtErr(v); err != nil {
		return 0, 0, upserted, err
	}
	stmt := v.Document()
	multi, _ := optBool(stmt, "update.updates", "multi", false)
	upsert, err := optBool(stmt, "update.updates", "upsert", false)
	if err != nil {
		return 0, 0, upserted, err
	}
	filters, _, err := optArray(stmt, "update.updates", "arrayFilters")
	if err != nil {
		return 0, 0, upserted, err
	}
	q, _ := optDoc(stmt, "update.updates", "q")
	u, _ := lookup(stmt, "u")
	up, err := mql.CompileUpdateIn(u, time.Now(), mql.UpdateContext{Query: q, ArrayFilters: filters})
	if err != nil {
		return 0, 0, upserted, queryErr(err)
	}
	if multi && u.Type == bson.TypeEmbeddedDocument && !isOperatorUpdate(u.Document()) {
		return 0, 0, upserted, mongoerr.New(mongoerr.FailedToParse, "multi update is not supported for replacement-style update")
	}
	var f *mql.Filter
	if len(q) > 0 {
		if f, err = mql.CompileFilter(q); err != nil {
			return 0, 0, upserted, queryErr(err)
		}
	}
	done := map[string]bool{} // keys already updated by this statement
	for attempt := 0; ; attempt++ {
		var items []plain.Item
		var ids []bson.RawValue
		var applyErr error
		_, err := s.plainDocs(ctx, c, q, func(d *plain.Doc) error {
			if done[string(d.Key)] {
				return nil
			}
			if ok, err := matches(f, d.Doc); err != nil || !ok {
				return err
			}
			matched++
			next, err := up.Apply(d.Doc, false)
			if err != nil {
				applyErr = queryErr(err)
				return errStopScan
			}
			if !bytes.Equal(next, d.Doc) {
				if err := validDoc(next); err != nil || len(next) > MaxBSONObjectSize {
					applyErr = mongoerr.New(mongoerr.BSONObjectTooLarge, "updated document is too large or invalid")
					return errStopScan
				}
				items = append(items, plain.Item{Mode: plain.ModeReplace, Key: append([]byte(nil), d.Key...), Doc: next, Rev: d.Rev})
				ids = append(ids, bson.Raw(next).Lookup("_id"))
			} else {
				done[string(d.Key)] = true
			}
			if !multi {
				return errStopScan
			}
			return nil
		})
		if err != nil && err != errStopScan {
			return matched, modified, upserted, err
		}
		if applyErr != nil {
			return matched, modified, upserted, applyErr
		}
		conflicts := 0
		for start := 0; start < len(items); start += plainBatchItems {
			batch := items[start:min(len(items), start+plainBatchItems)]
			res, err := s.b.PlainWrite(ctx, c, batch, false)
			if err != nil {
				return matched, modified, upserted, err
			}
			for i, st := range res.Statuses {
				switch st {
				case plain.StatusOK:
					modified++
					done[string(batch[i].Key)] = true
				case plain.StatusConflict, plain.StatusMissing:
					conflicts++
					matched-- // counted again when read again
				default:
					return matched, modified, upserted, plainStatusErr(c, st, ids[start+i], res.ProblemOf(i))
				}
			}
		}
		if conflicts == 0 || attempt >= plainUpdateRetries {
			break
		}
	}
	if matched > 0 || len(done) > 0 || !upsert {
		return matched, modified, upserted, nil
	}
	_, id, err := s.plainUpsert(ctx, c, q, u, up)
	if err != nil {
		return 0, 0, upserted, err
	}
	return 0, 0, id, nil
}

// plainUpsert inserts the document an upsert makes when nothing matched q: the query's
// equalities changed by the update (with $setOnInsert), or the replacement with the query's _id.
// It returns the document and its _id.
func (s *Server) plainUpsert(ctx context.Context, c *meta.Collection, q bson.Raw, u bson.RawValue, up *mql.Update) (bson.Raw, bson.RawValue, error) {
	seed, err := mql.UpsertSeed(q)
	if err != nil {
		return nil, bson.RawValue{}, queryErr(err)
	}
	var doc bson.Raw
	if u.Type == bson.TypeEmbeddedDocument && !isOperatorUpdate(u.Document()) {
		doc = u.Document()
		if id, err := bson.Raw(seed).LookupErr("_id"); err == nil {
			if _, err := doc.LookupErr("_id"); err != nil {
				doc = prependID(doc, id)
			}
		}
	} else if doc, err = up.Apply(seed, true); err != nil {
		return nil, bson.RawValue{}, queryErr(err)
	}
	doc, id, key, err := withID(doc)
	if err != nil {
		return nil, id, err
	}
	res, err := s.b.PlainWrite(ctx, c, []plain.Item{{Mode: plain.ModeInsert, Key: key, Doc: doc}}, true)
	if err != nil {
		return nil, id, err
	}
	return doc, id, plainStatusErr(c, res.Statuses[0], id, res.ProblemOf(0))
}

// isOperatorUpdate reports whether an update document is operator-style (its first key is $...).
func isOperatorUpdate(u bson.Raw) bool {
	e, err := u.IndexErr(0)
	return err == nil && len(e.Key()) > 0 && e.Key()[0] == '$'
}

// prependID returns doc with _id id first.
func prependID(doc bson.Raw, id bson.RawValue) bson.Raw {
	b := bsoncore.NewDocumentBuilder().AppendValue("_id", bsoncore.Value{Type: bsoncore.Type(id.Type), Data: id.Value})
	elems, _ := doc.Elements()
	for _, e := range elems {
		b.AppendValue(e.Key(), bsoncore.Value{Type: bsoncore.Type(e.Value().Type), Data: e.Value().Value})
	}
	return bson.Raw(b.Build())
}
