package integration

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chronogo/chronogo/integration/setup"
)

// TestFindStreamsLargeResults reads a result far larger than one batch through getMore (a find
// without a sort streams from storage), applies skip/limit without a sort, and abandons a cursor
// half way: the server must still stop cleanly.
func TestFindStreamsLargeResults(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	srv := setup.Start(t, "")
	coll := createTS(t, srv.Client().Database("s"), "m")
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	const n = 20000
	for lo := 0; lo < n; lo += 5000 {
		docs := make([]any, 0, 5000)
		for i := lo; i < lo+5000; i++ {
			docs = append(docs, bson.D{{Key: "ts", Value: base.Add(time.Duration(i) * time.Second)},
				{Key: "meta", Value: bson.D{{Key: "h", Value: i % 7}}}, {Key: "i", Value: int32(i)}})
		}
		_, err := coll.InsertMany(ctx, docs)
		require.NoError(t, err)
	}
	cur, err := coll.Find(ctx, bson.D{{Key: "i", Value: bson.D{{Key: "$gte", Value: 100}}}}, options.Find().SetBatchSize(500))
	require.NoError(t, err)
	seen := make(map[int32]bool, n)
	for cur.Next(ctx) {
		i := cur.Current.Lookup("i").Int32()
		require.False(t, seen[i], "document %d twice", i)
		seen[i] = true
	}
	require.NoError(t, cur.Err())
	require.Len(t, seen, n-100)

	cur, err = coll.Find(ctx, bson.D{{Key: "meta.h", Value: 3}}, options.Find().SetSkip(3).SetLimit(7).SetBatchSize(2))
	require.NoError(t, err)
	var got []bson.Raw
	require.NoError(t, cur.All(ctx, &got))
	require.Len(t, got, 7)
	for _, d := range got {
		require.EqualValues(t, 3, d.Lookup("meta", "h").Int32())
	}

	// an abandoned cursor: read one batch, then close it (killCursors)
	cur, err = coll.Find(ctx, bson.D{}, options.Find().SetBatchSize(10))
	require.NoError(t, err)
	require.True(t, cur.Next(ctx))
	require.NoError(t, cur.Close(ctx))
	// and one left open when the server stops (Stop checks a clean exit)
	cur, err = coll.Find(ctx, bson.D{}, options.Find().SetBatchSize(10))
	require.NoError(t, err)
	require.True(t, cur.Next(ctx))
}
