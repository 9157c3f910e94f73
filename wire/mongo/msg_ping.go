package mongo

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// msgPing answers {ok: 1}.
func msgPing(context.Context, *Server, *request) (*bsoncore.DocumentBuilder, error) {
	return nil, nil
}
