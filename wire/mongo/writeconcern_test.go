package mongo

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

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

	b := &failingInserts{memBackend: newMemBackend(t), err: &WriteConcernError{Msg: "1 of 2 replica sets missed quorum",
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
	b2 := &failingInserts{memBackend: newMemBackend(t), err: over}
	seedCollection(t, b2.memBackend)
	_, addr2 := startServer(t, Config{}, b2)
	noRetry := options.Client().ApplyURI("mongodb://" + addr2 + "/?directConnection=true").SetRetryWrites(false)
	_, err = connectWith(t, noRetry).Database("db").Collection("c").InsertMany(context.Background(), docs)
	var ce mongo.CommandError
	require.True(t, errors.As(err, &ce), "%v", err)
	require.Equal(t, int32(462), ce.Code)
	require.True(t, ce.HasErrorLabel("RetryableWriteError"))
}

// flakyBackend fails its first inserts with err, records each write's write concern, and can
// report every delete as applied without reaching its write concern.
type flakyBackend struct {
	*memBackend
	mu        sync.Mutex
	failFirst int
	err       error
	inserts   int
	concerns  []WriteConcern
	deleteWCE *WriteConcernError
}

func (f *flakyBackend) Insert(ctx context.Context, c *meta.Collection, docs []bson.Raw) error {
	f.mu.Lock()
	f.inserts++
	f.concerns = append(f.concerns, WriteConcernOf(ctx))
	fail := f.inserts <= f.failFirst
	f.mu.Unlock()
	if fail {
		return f.err
	}
	return f.memBackend.Insert(ctx, c, docs)
}

func (f *flakyBackend) Delete(ctx context.Context, c *meta.Collection, p *Pushdown) (int64, error) {
	n, err := f.memBackend.Delete(ctx, c, p)
	if err == nil && f.deleteWCE != nil {
		return n, f.deleteWCE
	}
	return n, err
}

// TestDriverRetriesOverloadedWrite is issue #14's "the driver retries an overload error by
// itself": the server presents itself as a router (mongos), so the Go driver runs retryable
// writes; an insert refused once with 462 and the RetryableWriteError label succeeds without the
// application seeing an error, and its documents are stored once.
func TestDriverRetriesOverloadedWrite(t *testing.T) {
	over := mongoerr.New(mongoerr.IngressRequestRateLimitExceeded, "coordinator overloaded")
	over.Labels = []string{mongoerr.LabelRetryableWrite}
	b := &flakyBackend{memBackend: newMemBackend(t), failFirst: 1, err: over}
	seedCollection(t, b.memBackend)
	_, addr := startServer(t, Config{}, b)
	coll := connect(t, addr).Database("db").Collection("c")
	docs := []any{bson.D{{Key: "ts", Value: time.Now()}, {Key: "v", Value: 1}}, bson.D{{Key: "ts", Value: time.Now()}, {Key: "v", Value: 2}}}
	_, err := coll.InsertMany(context.Background(), docs)
	require.NoError(t, err, "the driver retried the overloaded insert")
	require.Equal(t, 2, b.inserts, "one refused attempt, one retry")
	n, err := coll.CountDocuments(context.Background(), bson.D{})
	require.NoError(t, err)
	require.EqualValues(t, 2, n)

	// twice overloaded: without a client timeout a driver retries once, then the application
	// sees the labelled error (with timeoutMS it retries until the timeout)
	b.failFirst = 4
	once := connectWith(t, options.Client().ApplyURI("mongodb://"+addr+"/?directConnection=true"))
	_, err = once.Database("db").Collection("c").InsertMany(context.Background(), docs)
	var ce mongo.CommandError
	require.True(t, errors.As(err, &ce), "%v", err)
	require.Equal(t, int32(462), ce.Code)
	require.True(t, ce.HasErrorLabel("RetryableWriteError"))
	require.Equal(t, 4, b.inserts)
}

// TestWriteConcernAsked: the writeConcern a client sends reaches the backend (which maps it to a
// consistency level); malformed ones are refused with mongod's codes before anything is written;
// a delete applied without reaching its write concern reports writeConcernError with n counted.
func TestWriteConcernAsked(t *testing.T) {
	b := &flakyBackend{memBackend: newMemBackend(t)}
	seedCollection(t, b.memBackend)
	_, addr := startServer(t, Config{}, b)
	client := connect(t, addr)
	ctx := context.Background()
	db := client.Database("db")
	doc := bson.D{{Key: "ts", Value: time.Now()}, {Key: "v", Value: 1}}
	cases := []struct {
		wc   any // writeConcern sent; nil: none
		want WriteConcern
		code int32 // 0: accepted
	}{
		{wc: nil, want: WriteConcern{W: -1}},
		{wc: bson.D{{Key: "w", Value: "majority"}}, want: WriteConcern{W: -1, Mode: "majority"}},
		{wc: bson.D{{Key: "w", Value: 1}, {Key: "j", Value: true}}, want: WriteConcern{W: 1}},
		{wc: bson.D{{Key: "w", Value: 3.0}, {Key: "wtimeout", Value: 1000}}, want: WriteConcern{W: 3, WTimeout: time.Second}},
		{wc: bson.D{{Key: "w", Value: 3}, {Key: "wtimeout", Value: 0}}, want: WriteConcern{W: 3}},
		{wc: bson.D{{Key: "w", Value: "all"}}, want: WriteConcern{W: -1, Mode: "all"}},
		{wc: bson.D{{Key: "j", Value: true}}, want: WriteConcern{W: -1}},
		{wc: bson.D{{Key: "w", Value: "dc-east"}}, code: 79},
		{wc: bson.D{{Key: "w", Value: -1}}, code: 9},
		{wc: bson.D{{Key: "w", Value: 1.5}}, code: 9},
		{wc: bson.D{{Key: "w", Value: true}}, code: 9},
		{wc: bson.D{{Key: "wtimeout", Value: "soon"}}, code: 14},
		{wc: 1, code: 14},
	}
	for _, tc := range cases {
		cmd := bson.D{{Key: "insert", Value: "c"}, {Key: "documents", Value: bson.A{doc}}}
		if tc.wc != nil {
			cmd = append(cmd, bson.E{Key: "writeConcern", Value: tc.wc})
		}
		before := b.inserts
		err := db.RunCommand(ctx, cmd).Err()
		if tc.code != 0 {
			var ce mongo.CommandError
			require.True(t, errors.As(err, &ce), "%v: %v", tc.wc, err)
			require.Equal(t, tc.code, ce.Code, "%v", tc.wc)
			require.Equal(t, before, b.inserts, "%v: nothing written", tc.wc)
			continue
		}
		require.NoError(t, err, "%v", tc.wc)
		require.Equal(t, tc.want, b.concerns[len(b.concerns)-1], "%v", tc.wc)
	}

	b.deleteWCE = &WriteConcernError{Msg: "1 of 1 replica sets missed quorum"}
	res, err := db.Collection("c").DeleteMany(ctx, bson.D{})
	var we mongo.WriteException
	require.True(t, errors.As(err, &we), "%v", err)
	require.NotNil(t, we.WriteConcernError)
	require.Equal(t, 64, we.WriteConcernError.Code)
	require.Empty(t, we.WriteErrors)
	require.NotNil(t, res)
	require.EqualValues(t, 7, res.DeletedCount, "the delete was applied (one document per accepted insert)")
}
