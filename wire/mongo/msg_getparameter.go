package mongo

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// parameters are the server parameters getParameter knows, in output order.
var parameters = []struct {
	name  string
	value func() bsoncore.Value
}{
	{"featureCompatibilityVersion", func() bsoncore.Value {
		return bsoncore.Value{Type: bsoncore.TypeEmbeddedDocument, Data: bsoncore.NewDocumentBuilder().AppendString("version", "8.0").Build()}
	}},
	{"authenticationMechanisms", func() bsoncore.Value {
		return bsoncore.Value{Type: bsoncore.TypeArray, Data: bsoncore.NewArrayBuilder().Build()}
	}},
	{"maxBSONObjectSize", func() bsoncore.Value {
		return bsoncore.Value{Type: bsoncore.TypeInt32, Data: bsoncore.AppendInt32(nil, MaxBSONObjectSize)}
	}},
}

// msgGetParameter returns the requested known parameters: {getParameter: 1, <name>: 1, ...},
// {getParameter: "*"} or {getParameter: {allParameters: true}}. Unknown names are left out.
func msgGetParameter(_ context.Context, _ *Server, req *request) (*bsoncore.DocumentBuilder, error) {
	all := false
	switch v := req.doc.Index(0).Value(); v.Type {
	case bson.TypeString:
		all = v.StringValue() == "*"
	case bson.TypeEmbeddedDocument:
		all, _ = optBool(v.Document(), "getParameter", "allParameters", false)
	}
	b := bsoncore.NewDocumentBuilder()
	for _, p := range parameters {
		if _, asked := lookup(req.doc, p.name); all || asked {
			b.AppendValue(p.name, p.value())
		}
	}
	return b, nil
}
