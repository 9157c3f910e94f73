package mongo

import (
	"slices"

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
