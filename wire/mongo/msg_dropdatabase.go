package mongo

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// msgDropDatabase drops the command's database; a missing one succeeds.
func msgDropDatabase(ctx context.Context, s *Server, req *request) (*bsoncore.DocumentBuilder, error) {
	s.lat.forget(req.db, "")
	if err := s.b.DropDatabase(ctx, req.db); err != nil {
		return nil, err
	}
	return bsoncore.NewDocumentBuilder().AppendString("dropped", req.db), nil
}
