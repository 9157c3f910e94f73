package mongo

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/wire/mongoerr"
)

// msgKillCursors closes cursors of the command's namespace.
func msgKillCursors(ctx context.Context, s *Server, req *request) (*bsoncore.DocumentBuilder, error) {
	// not req.collectionName: cursors of list commands live in "$cmd.listCollections" and the like
	coll, _, err := optString(req.doc, "killCursors", "killCursors")
	if err != nil {
		return nil, err
	}
	vals, ok, err := optArray(req.doc, "killCursors", "cursors")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, mongoerr.New(mongoerr.IDLFailedToParse, "BSON field 'killCursors.cursors' is missing but a required field")
	}
	ns := req.db + "." + coll
	killed, notFound := bsoncore.NewArrayBuilder(), bsoncore.NewArrayBuilder()
	for _, v := range vals {
		id, ok := asInt64(v)
		if !ok || !isNumber(v) {
			return nil, typeErr("killCursors.cursors", v.Type, "long")
		}
		if s.cursors.kill(meta.TenantOf(ctx), ns, id) {
			killed.AppendInt64(id)
		} else {
			notFound.AppendInt64(id)
		}
	}
	empty := bsoncore.NewArrayBuilder().Build()
	return bsoncore.NewDocumentBuilder().
		AppendArray("cursorsKilled", killed.Build()).
		AppendArray("cursorsNotFound", notFound.Build()).
		AppendArray("cursorsAlive", empty).
		AppendArray("cursorsUnknown", empty), nil
}
