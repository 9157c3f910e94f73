package mongo

import (
	"context"
	"errors"

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
	allowDisk, err := optBool(req.doc, "find", "allowDiskUse", true)
	if err != nil {
		return nil, err
	}
	return s.streamFind(ctx, req.db+"."+name, c, &q, batchSize, singleBatch, allowDisk)
}

// streamFind answers a find from a stream: the scan (and the merge of a sort) runs while the
// client fetches batches, so the result is never held in memory. A sort holds at most its
// memory limit and spills sorted runs to the temporary directory beyond it (unless allowDisk is
// false, as allowDiskUse: false); its first batch waits for the scan to end.
func (s *Server) streamFind(ctx context.Context, ns string, c *meta.Collection, q *findQuery, batchSize int64, singleBatch, allowDisk bool) (*bsoncore.DocumentBuilder, error) {
	var proj *mql.Projection
	var sorter *mql.Sort
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
	if len(q.filter) > 0 {
		if _, err := mql.CompileFilter(q.filter); err != nil {
			return nil, queryErr(err) // report a bad filter now, not in a later batch
		}
	}
	if c == nil {
		return cursorReply(ns, "firstBatch", 0, nil), nil
	}
	skip, limit := q.skip, q.limit
	// the stream outlives the request (it serves getMores) but acts for the same tenant
	st := startStream(meta.WithTenant(s.baseCtx, meta.TenantOf(ctx)), s.log, func(sctx context.Context, emit func(bson.Raw) error) error {
		var seen, sent int64
		out := func(doc bson.Raw) error {
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
		}
		if sorter == nil {
			return s.scan(sctx, c, q.filter, out)
		}
		keep := int64(0)
		if limit > 0 {
			keep = skip + limit
		}
		x := mql.NewSorter(sorter, keep, s.sortLimits(allowDisk))
		defer x.Close()
		if err := s.scan(sctx, c, q.filter, func(doc bson.Raw) error { return x.AddOwned(doc) }); err != nil {
			return err
		}
		err := x.Iterate(func(doc []byte) error { return out(doc) })
		if errors.Is(err, errStopScan) {
			return nil
		}
		return err
	})
	return s.streamReply(ctx, ns, st, batchSize, singleBatch)
}

// sortLimits are the limits of one blocking sort: the server's sort memory, and its temporary
// directory unless the client said allowDiskUse: false.
func (s *Server) sortLimits(allowDisk bool) mql.SortLimits {
	l := mql.SortLimits{Memory: s.cfg.SortMemory}
	if allowDisk {
		l.TempDir = s.cfg.TempDir
	}
	return l
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
