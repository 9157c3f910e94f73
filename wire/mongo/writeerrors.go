package mongo

import (
	"slices"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/chronogo/chronogo/wire/mongoerr"
)

// writeError is one entry of writeErrors.
type writeError struct {
	index int
	err   *mongoerr.Error
}

// appendWriteErrors adds writeErrors (sorted by index) to b when there are any.
func appendWriteErrors(b *bsoncore.DocumentBuilder, errs []writeError) {
	if len(errs) == 0 {
		return
	}
	slices.SortStableFunc(errs, func(a, b writeError) int { return a.index - b.index })
	ab := bsoncore.NewArrayBuilder()
	for _, e := range errs {
		ab.AppendDocument(bsoncore.NewDocumentBuilder().
			AppendInt32("index", int32(e.index)).
			AppendInt32("code", int32(e.err.Code)).
			AppendString("codeName", e.err.Code.Name()).
			AppendString("errmsg", e.err.Msg).
			Build())
	}
	b.AppendArray("writeErrors", ab.Build())
}

// WriteConcernError is a write applied where it could be that did not reach its write concern
// (mongod's writeConcernError): its documents count as inserted (n), and the reply's
// writeConcernError (code 64, WriteConcernFailed) says which replicas took them. Backend.Insert
// returns it when every part of a batch is stored on at least one replica or hinted to one, so it
// converges.
type WriteConcernError struct {
	Msg  string
	Info bson.Raw // errInfo; may be nil
}

func (e *WriteConcernError) Error() string { return "write concern not met: " + e.Msg }

// appendWriteConcernError adds writeConcernError to b.
func appendWriteConcernError(b *bsoncore.DocumentBuilder, e *WriteConcernError) {
	d := bsoncore.NewDocumentBuilder().
		AppendInt32("code", int32(mongoerr.WriteConcernFailed)).
		AppendString("codeName", mongoerr.WriteConcernFailed.Name()).
		AppendString("errmsg", e.Msg)
	if len(e.Info) > 0 {
		d.AppendDocument("errInfo", e.Info)
	}
	b.AppendDocument("writeConcernError", d.Build())
}
