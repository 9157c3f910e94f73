package mongo

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// msgWhatsMyURI returns the client's address as the server sees it.
func msgWhatsMyURI(_ context.Context, _ *Server, req *request) (*bsoncore.DocumentBuilder, error) {
	return bsoncore.NewDocumentBuilder().AppendString("you", req.conn.nc.RemoteAddr().String()), nil
}
