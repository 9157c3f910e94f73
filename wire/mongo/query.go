package mongo

import (
	"context"
	"errors"
	"math"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/wire/mongo/mql"
	"github.com/chronogo/chronogo/wire/mongoerr"
)

// queryErr gives errors of the query language a MongoDB code (BadValue unless they carry one).
func queryErr(err error) error {
	if err == nil {
		return nil
	}
	var me *mongoerr.Error
	if errors.As(err, &me) {
		return err
	}
	return mongoerr.New(mongoerr.BadValue, "%v", err)
}

// pushdownOf extracts the storage pushdown of a filter on c.
func pushdownOf(c *meta.Collection, filter bson.Raw) (*Pushdown, error) {
	if len(filter) == 0 {
		return &Pushdown{MinTime: math.MinInt64, MaxTime: math.MaxInt64, Exact: true}, nil
	}
	p, err := mql.ExtractPushdown(filter, c.TimeField, c.MetaField)
	if err != nil {
		return nil, queryErr(err)
	}
	return &Pushdown{MinTime: p.MinTime, MaxTime: p.MaxTime, Meta: p.Meta, Exact: p.Exact}, nil
}

// errStopScan ends a scan early; it never reaches a client.
var errStopScan = errors.New("scan stopped")

// scan calls fn with a private copy of every document of c that matches filter (nil: all).
// fn may return errStopScan to end the scan.
func (s *Server) scan(ctx context.Context, c *meta.Collection, filter bson.Raw, fn func(bson.Raw) error) error {
	var f *mql.Filter
	if len(filter) > 0 {
		var err error
		if f, err = mql.CompileFilter(filter); err != nil {
			return queryErr(err)
		}
	}
	if c.Plain() {
		err := s.plainScan(ctx, c, filter, f, fn)
		if errors.Is(err, errStopScan) {
			return nil
		}
		return err
	}
	p, err := pushdownOf(c, filter)
	if err != nil {
		return err
	}
	err = s.b.Find(ctx, c, p, func(doc bson.Raw) error {
		if f != nil {
			ok, err := f.Match(doc)
			if err != nil {
				return queryErr(err)
			}
			if !ok {
				return nil
			}
		}
		return fn(bson.Raw(append([]byte(nil), doc...)))
	})
	if errors.Is(err, errStopScan) {
		return nil
	}
	return err
}

// targetCollection returns the collection a CRUD command names, or nil when it does not exist.
func (s *Server) targetCollection(ctx context.Context, req *request) (*meta.Collection, string, error) {
	name, err := req.collectionName()
	if err != nil {
		return nil, "", err
	}
	c, ok, err := s.b.Collection(ctx, req.db, name)
	if err != nil {
		return nil, name, err
	}
	if !ok {
		return nil, name, nil
	}
	return c, name, nil
}
