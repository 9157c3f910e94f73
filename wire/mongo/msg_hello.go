package mongo

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// Wire versions of MongoDB 8.0; drivers need at least 9, time series 13.
const (
	minWireVersion = 0
	maxWireVersion = 25
)

// msgHello answers hello, isMaster and ismaster as a writable standalone. There is no
// topologyVersion, so drivers poll instead of streaming awaitable hellos.
func msgHello(_ context.Context, _ *Server, req *request) (*bsoncore.DocumentBuilder, error) {
	b := bsoncore.NewDocumentBuilder()
	if req.name == "hello" {
		b.AppendBoolean("isWritablePrimary", true)
	} else {
		b.AppendBoolean("ismaster", true)
	}
	return b.
		AppendBoolean("helloOk", true).
		AppendInt32("maxBsonObjectSize", MaxBSONObjectSize).
		AppendInt32("maxMessageSizeBytes", MaxMessageSize).
		AppendInt32("maxWriteBatchSize", 100000).
		AppendDateTime("localTime", time.Now().UnixMilli()).
		AppendInt32("logicalSessionTimeoutMinutes", 30).
		AppendInt32("connectionId", req.conn.id).
		AppendInt32("minWireVersion", minWireVersion).
		AppendInt32("maxWireVersion", maxWireVersion).
		AppendBoolean("readOnly", false), nil
}
