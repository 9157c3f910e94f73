package mongo

import (
	"context"
	"slices"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/wire/mongo/mql"
	"github.com/chronogo/chronogo/wire/mongoerr"
)

// findQuery is a parsed find (or count) request.
type findQuery struct {
	filter, sort, projection bson.Raw
	skip, limit              int64 // limit 0: none
}

// msgFind runs a query: the time range and meta predicate go to the storage engine, the whole
// filter, sort, skip, limit and projection run here.
func msgFind(ctx context.Context, s *Server, req *request) (*bsoncore.DocumentBuilder, error) {
	c, name, err := s.targetCollection(ctx, req)
	if err != nil {
		return nil, err
	}
	q := findQuery{}
	if q.filter, err = optDoc(req.doc, "find", "filter"); err != nil {
		return nil, err
	}
	if q.sort, err = optDoc(req.doc, "find", "sort"); err != nil {
		return nil, err
	}
	if q.projection, err = optDoc(req.doc, "find", "projection"); err != nil {
		return nil, err
	}
	if q.skip, err = nonNegative(req.doc, "find", "skip"); err != nil {
		return nil, err
	}
	if q.limit, err = nonNegative(req.doc, "find", "limit"); err != nil {
		return nil, err
	}
	batchSize := int64(-1)
	if n, ok, err := optInt64(req.doc, "find", "batchSize"); err != nil {
		return nil, err
	} else if ok {
		if n < 0 {
			return nil, badBatchSize(n)
		}
		batchSize = n
	}
	singleBatch, err := optBool(req.doc, "find", "singleBatch", false)
	if err != nil {
		return nil, err
	}
	if len(q.sort) == 0 && c != nil {
		return s.streamFind(req.db+"."+name, c, &q, batchSize, singleBatch)
	}
	docs, err := s.runFind(ctx, c, &q)
	if err != nil {
		return nil, err
	}
	return s.firstBatch(req.db+"."+name, docs, batchSize, singleBatch)
}

// streamFind answers a find without a sort from a stream: the scan runs while the client fetches
// batches, and the rest of the result is never held in memory.
func (s *Server) streamFind(ns string, c *meta.Collection, q *findQuery, batchSize int64, singleBatch bool) (*bsoncore.DocumentBuilder, error) {
	var proj *mql.Projection
	if len(q.projection) > 0 {
		var err error
		if proj, err = mql.CompileProjection(q.projection); err != nil {
			return nil, queryErr(err)
		}
	}
	if len(q.filter) > 0 {
		if _, err := mql.CompileFilter(q.filter); err != nil {
			return nil, queryErr(err) // report a bad filter now, not in a later batch
		}
	}
	skip, limit := q.skip, q.limit
	st := startStream(s.baseCtx, s.log, func(sctx context.Context, emit func(bson.Raw) error) error {
		var seen, sent int64
		return s.scan(sctx, c, q.filter, func(doc bson.Raw) error {
			if seen++; seen <= skip {
				return nil
			}
			if proj != nil {
				var err error
				if doc, err = proj.Apply(doc); err != nil {
					return queryErr(err)
				}
			}
			if err := emit(doc); err != nil {
				return err
			}
			if sent++; limit > 0 && sent >= limit {
				return errStopScan
			}
			return nil
		})
	})
	first := defaultFirstBatch
	if batchSize >= 0 {
		first = int(batchSize)
	}
	var batch []bson.Raw
	exhausted := false
	if first > 0 || batchSize < 0 {
		var err error
		if batch, exhausted, err = st.next(first); err != nil {
			st.close()
			return nil, err
		}
	}
	var id int64
	if exhausted || singleBatch {
		st.close()
	} else {
		var err error
		if id, err = s.cursors.addCursor(&cursor{ns: ns, stream: st}); err != nil {
			st.close()
			return nil, err
		}
	}
	return cursorReply(ns, "firstBatch", id, batch), nil
}

// runFind returns the documents of q, projected, in order; none when c is nil.
func (s *Server) runFind(ctx context.Context, c *meta.Collection, q *findQuery) ([]bson.Raw, error) {
	var sorter *mql.Sort
	var proj *mql.Projection
	var err error
	if len(q.sort) > 0 {
		if sorter, err = mql.CompileSort(q.sort); err != nil {
			return nil, queryErr(err)
		}
	}
	if len(q.projection) > 0 {
		if proj, err = mql.CompileProjection(q.projection); err != nil {
			return nil, queryErr(err)
		}
	}
	if c == nil {
		return nil, nil
	}
	need := int64(-1) // without a sort the scan can stop once skip+limit documents matched
	if sorter == nil && q.limit > 0 {
		need = q.skip + q.limit
	}
	var docs []bson.Raw
	err = s.scan(ctx, c, q.filter, func(doc bson.Raw) error {
		docs = append(docs, doc)
		if need > 0 && int64(len(docs)) >= need {
			return errStopScan
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if sorter != nil {
		slices.SortStableFunc(docs, sorter.Compare)
	}
	docs = docs[min(q.skip, int64(len(docs))):]
	if q.limit > 0 && int64(len(docs)) > q.limit {
		docs = docs[:q.limit]
	}
	if proj != nil {
		for i, d := range docs {
			if docs[i], err = proj.Apply(d); err != nil {
				return nil, queryErr(err)
			}
		}
	}
	return docs, nil
}

// nonNegative reads an optional non-negative integer field (0 when absent).
func nonNegative(doc bson.Raw, cmd, key string) (int64, error) {
	n, _, err := optInt64(doc, cmd, key)
	if err != nil {
		return 0, err
	}
	if n < 0 {
		return 0, mongoerr.New(mongoerr.BadValue, "BSON field '%s' value must be >= 0, actual value '%d'", key, n)
	}
	return n, nil
}

func badBatchSize(n int64) error {
	return mongoerr.New(mongoerr.BadValue, "BSON field 'batchSize' value must be >= 0, actual value '%d'", n)
}
