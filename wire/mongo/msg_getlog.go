package mongo

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/chronogo/chronogo/wire/mongoerr"
)

// msgGetLog returns empty logs: "*" lists the log names, "global" and "startupWarnings" are empty.
func msgGetLog(_ context.Context, _ *Server, req *request) (*bsoncore.DocumentBuilder, error) {
	name, _, err := optString(req.doc, "getLog", "getLog")
	if err != nil {
		return nil, err
	}
	switch name {
	case "*":
		names := bsoncore.NewArrayBuilder().AppendString("global").AppendString("startupWarnings").Build()
		return bsoncore.NewDocumentBuilder().AppendArray("names", names), nil
	case "global", "startupWarnings":
		return bsoncore.NewDocumentBuilder().
			AppendInt32("totalLinesWritten", 0).
			AppendArray("log", bsoncore.NewArrayBuilder().Build()), nil
	}
	return nil, mongoerr.New(mongoerr.InvalidOptions, "No log named '%s'", name)
}
