package mongo

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// msgConnectionStatus reports the connection's authenticated user and roles.
func msgConnectionStatus(_ context.Context, _ *Server, req *request) (*bsoncore.DocumentBuilder, error) {
	req.conn.mu.Lock()
	u := req.conn.user
	req.conn.mu.Unlock()
	users, roles := bsoncore.NewArrayBuilder(), bsoncore.NewArrayBuilder()
	if u != nil {
		users.AppendDocument(bsoncore.NewDocumentBuilder().AppendString("user", u.name).AppendString("db", u.db).Build())
		for _, r := range u.roles {
			roles.AppendDocument(bsoncore.NewDocumentBuilder().AppendString("role", r.role).AppendString("db", r.db).Build())
		}
	}
	auth := bsoncore.NewDocumentBuilder().
		AppendArray("authenticatedUsers", users.Build()).
		AppendArray("authenticatedUserRoles", roles.Build())
	if show, _ := optBool(req.doc, "connectionStatus", "showPrivileges", false); show {
		auth.AppendArray("authenticatedUserPrivileges", bsoncore.NewArrayBuilder().Build())
	}
	return bsoncore.NewDocumentBuilder().AppendDocument("authInfo", auth.Build()), nil
}
