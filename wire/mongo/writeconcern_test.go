package mongo

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/wire/mongoerr"
)

// failingInserts answers every Insert with err.
type failingInserts struct {
	*memBackend
	err error
}

func (f *failingInserts) Insert(context.Context, *meta.Collection, []bson.Raw) error { return f.err }

// TestWriteErrorsDriversActOn: through the Go driver, a write applied without reaching its write
// concern is a writeConcernError (64) with every document counted, and an overloaded server is a
// command error with the RetryableWriteError label.
func TestWriteErrorsDriversActOn(t *testing.T) {
	docs := []any{bson.D{{Key: "ts", Value: time.Now()}, {Key: "v", Value: 1}}, bson.D{{Key: "ts", Value: time.Now()}, {Key: "v", Value: 2}}}

	b := &failingInserts{memBackend: newMemBackend(), err: &WriteConcernError{Msg: "1 of 2 replica sets missed quorum",
		Info: mustDoc(t, bson.D{{Key: "writeConcern", Value: bson.D{{Key: "w", Value: "quorum"}}}})}}
	seedCollection(t, b.memBackend)
	_, addr := startServer(t, Config{}, b)
	coll := connect(t, addr).Database("db").Collection("c")
	res, err := coll.InsertMany(context.Background(), docs)
	var we mongo.BulkWriteException
	require.True(t, errors.As(err, &we), "%v", err)
	require.NotNil(t, we.WriteConcernError)
	require.Equal(t, 64, we.WriteConcernError.Code)
	require.Equal(t, "WriteConcernFailed", we.WriteConcernError.Name)
	require.Equal(t, "quorum", bson.Raw(we.WriteConcernError.Details).Lookup("writeConcern", "w").StringValue())
	require.Empty(t, we.WriteErrors)
	require.Len(t, res.InsertedIDs, 2, "the documents were applied")

	over := mongoerr.New(mongoerr.IngressRequestRateLimitExceeded, "coordinator overloaded")
	over.Labels = []string{mongoerr.LabelRetryableWrite}
	b2 := &failingInserts{memBackend: newMemBackend(), err: over}
	seedCollection(t, b2.memBackend)
	_, addr2 := startServer(t, Config{}, b2)
	_, err = connect(t, addr2).Database("db").Collection("c").InsertMany(context.Background(), docs)
	var ce mongo.CommandError
	require.True(t, errors.As(err, &ce), "%v", err)
	require.Equal(t, int32(462), ce.Code)
	require.True(t, ce.HasErrorLabel("RetryableWriteError"))
}
