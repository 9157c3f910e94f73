package mongo

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// msgConnectionStatus reports an unauthenticated connection (ChronoGo has no auth yet).
func msgConnectionStatus(_ context.Context, _ *Server, req *request) (*bsoncore.DocumentBuilder, error) {
	empty := bsoncore.NewArrayBuilder().Build()
	auth := bsoncore.NewDocumentBuilder().
		AppendArray("authenticatedUsers", empty).
		AppendArray("authenticatedUserRoles", empty)
	if show, _ := optBool(req.doc, "connectionStatus", "showPrivileges", false); show {
		auth.AppendArray("authenticatedUserPrivileges", empty)
	}
	return bsoncore.NewDocumentBuilder().AppendDocument("authInfo", auth.Build()), nil
}
