package mongo

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// The MongoDB version ChronoGo reports.
const (
	mongoVersion = "8.0.0"
	gitVersion   = "chronogo"
)

// msgBuildInfo reports MongoDB 8.0.0; no "ferretdb"-like key, so clients treat it as genuine.
func msgBuildInfo(context.Context, *Server, *request) (*bsoncore.DocumentBuilder, error) {
	va := bsoncore.NewArrayBuilder().AppendInt32(8).AppendInt32(0).AppendInt32(0).AppendInt32(0).Build()
	return bsoncore.NewDocumentBuilder().
		AppendString("version", mongoVersion).
		AppendString("gitVersion", gitVersion).
		AppendArray("modules", bsoncore.NewArrayBuilder().Build()).
		AppendString("allocator", "system").
		AppendString("javascriptEngine", "none").
		AppendString("sysInfo", "deprecated").
		AppendArray("versionArray", va).
		AppendInt32("bits", 64).
		AppendBoolean("debug", false).
		AppendInt32("maxBsonObjectSize", MaxBSONObjectSize).
		AppendArray("storageEngines", bsoncore.NewArrayBuilder().AppendString("chronogo").Build()), nil
}
