package mongo

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// msgDrop drops a collection; like MongoDB 7.0+, dropping a missing one succeeds.
func msgDrop(ctx context.Context, s *Server, req *request) (*bsoncore.DocumentBuilder, error) {
	c, name, err := s.targetCollection(ctx, req)
	if err != nil {
		return nil, err
	}
	s.lat.forget(req.db, name)
	existed, err := s.b.DropCollection(ctx, req.db, name)
	if err != nil {
		return nil, err
	}
	if !existed || c == nil {
		return nil, nil
	}
	return bsoncore.NewDocumentBuilder().
		AppendInt32("nIndexesWas", int32(indexCount(c))).
		AppendString("ns", req.db+"."+name), nil
}
