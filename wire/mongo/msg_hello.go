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

// msgHello answers hello, isMaster and ismaster as a mongos (msg "isdbgrid"): every ChronoGo node
// routes reads and writes for the whole cluster, as a mongos does for its shards. Drivers then
// treat the nodes of a connection string as interchangeable routers (they spread operations over
// them and go on when one is down), and they retry writes that fail with the
// RetryableWriteError label (retryable writes need a server that is not a standalone; a
// retried insert is idempotent here: the same points again, last write wins). There is no
// topologyVersion, so drivers poll instead of streaming awaitable hellos.
func msgHello(ctx context.Context, s *Server, req *request) (*bsoncore.DocumentBuilder, error) {
	b := bsoncore.NewDocumentBuilder()
	if spec := s.speculativeAuth(ctx, req.conn, req); spec != nil {
		b.AppendDocument("speculativeAuthenticate", spec)
	}
	if who, ok, _ := optString(req.doc, req.name, "saslSupportedMechs"); ok && s.cfg.Users != nil {
		// "db.user": the mechanisms its credentials allow (drivers pick SCRAM-SHA-256 from it)
		if _, found, err := s.cfg.Users.GetUser(ctx, who); err == nil && found {
			b.AppendArray("saslSupportedMechs", bsoncore.NewArrayBuilder().AppendString(mechSHA1).AppendString(mechSHA256).Build())
		}
	}
	if req.name == "hello" {
		b.AppendBoolean("isWritablePrimary", true)
	} else {
		b.AppendBoolean("ismaster", true)
	}
	return b.
		AppendString("msg", "isdbgrid").
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
