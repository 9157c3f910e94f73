package integration

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chronogo/chronogo/integration/setup"
)

// loadOneSeries inserts n documents of one series (one meta value), 4 fields each.
func loadOneSeries(t *testing.T, coll *mongo.Collection, n int) {
	t.Helper()
	ctx := testCtx(t)
	base := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	for lo := 0; lo < n; lo += 1000 {
		docs := make([]any, 0, 1000)
		for i := lo; i < min(lo+1000, n); i++ {
			docs = append(docs, bson.D{{Key: "ts", Value: base.Add(time.Duration(i) * 100 * time.Millisecond)},
				{Key: "meta", Value: "one"}, {Key: "i", Value: int64(i)}, {Key: "a", Value: float64(i)}, {Key: "b", Value: "payload"}})
		}
		_, err := coll.InsertMany(ctx, docs)
		require.NoError(t, err)
	}
}

// TestCursorsUnderMemoryBudget is issue #7's "each open cursor holds about 160 MB; 184 cursors
// were OOM-killed": 200 streaming cursors open at once on a 300k-document series cost a few MB
// each (the scan goes in time slices), and cursors that would pass --cursor-memory are refused
// with ExceededMemoryLimit (146) while the open ones stay readable.
func TestCursorsUnderMemoryBudget(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	srv := setup.Start(t, "", "--cursor-memory=1GiB")
	coll := createTS(t, srv.Client().Database("cm"), "m")
	const n = 300_000
	loadOneSeries(t, coll, n)

	before := heapMiB(t, srv)
	var curs []*mongo.Cursor
	for i := 0; i < 200; i++ {
		cur, err := coll.Find(ctx, bson.D{}, options.Find().SetBatchSize(10))
		require.NoError(t, err, "cursor %d", i)
		require.True(t, cur.Next(ctx))
		curs = append(curs, cur)
	}
	time.Sleep(time.Second) // the producers fill their buffers
	during := heapMiB(t, srv)
	require.Less(t, during-before, 800, "heap %d MiB -> %d MiB with 200 open cursors", before, during)
	t.Logf("heap %d MiB -> %d MiB with 200 open cursors", before, during)

	// Streams are accounted at 4 MiB each: past 256 of them, 1 GiB is reached and queries refused.
	refused := 0
	var more []*mongo.Cursor
	for i := 0; i < 100; i++ {
		cur, err := coll.Find(ctx, bson.D{}, options.Find().SetBatchSize(10))
		if err != nil {
			requireCode(t, err, 146)
			refused++
			continue
		}
		more = append(more, cur)
	}
	require.Greater(t, refused, 0)
	for _, c := range more {
		require.NoError(t, c.Close(ctx))
	}
	// The open ones still read to the end (in larger batches from here: 30,000 getMores of 10
	// documents each took most of the test's time on a loaded machine).
	for _, c := range curs[:2] {
		c.SetBatchSize(1000)
		count := 1
		for c.Next(ctx) {
			count++
		}
		require.NoError(t, c.Err())
		require.Equal(t, n, count)
	}
	for _, c := range curs {
		_ = c.Close(context.Background())
	}
}

// TestSlowlyReadFindCompletes is issue #7's "a slowly read 5M-document find is cut off mid-stream
// (context deadline exceeded)": a client that reads a batch every 300 ms for longer than the
// coordinator's 10 s request timeout gets the whole result.
func TestSlowlyReadFindCompletes(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	srv := setup.Start(t, "")
	coll := createTS(t, srv.Client().Database("slow"), "m")
	const n = 30_000
	loadOneSeries(t, coll, n)
	cur, err := coll.Find(ctx, bson.D{}, options.Find().SetBatchSize(600))
	require.NoError(t, err)
	start := time.Now()
	count := 0
	var last int64 = -1
	for cur.Next(ctx) {
		i := cur.Current.Lookup("i").Int64()
		require.Equal(t, last+1, i, "documents in time order")
		last = i
		if count++; count%600 == 0 {
			time.Sleep(300 * time.Millisecond)
		}
	}
	require.NoError(t, cur.Err())
	require.Equal(t, n, count)
	require.Greater(t, time.Since(start), 12*time.Second, "the read was not slow enough to test anything")
}
