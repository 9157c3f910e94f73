package mongo

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// msgCount counts the measurements matching query, after skip and up to limit.
func msgCount(ctx context.Context, s *Server, req *request) (*bsoncore.DocumentBuilder, error) {
	c, _, err := s.targetCollection(ctx, req)
	if err != nil {
		return nil, err
	}
	query, err := optDoc(req.doc, "count", "query")
	if err != nil {
		return nil, err
	}
	skip, err := nonNegative(req.doc, "count", "skip")
	if err != nil {
		return nil, err
	}
	limit, _, err := optInt64(req.doc, "count", "limit")
	if err != nil {
		return nil, err
	}
	limit = max(limit, -limit) // a negative limit counts like its absolute value
	var n int64
	if c != nil {
		err = s.scan(ctx, c, query, func(bson.Raw) error {
			n++
			if limit > 0 && n >= skip+limit {
				return errStopScan
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	n = max(n-skip, 0)
	if limit > 0 {
		n = min(n, limit)
	}
	return bsoncore.NewDocumentBuilder().AppendInt32("n", int32(n)), nil
}
