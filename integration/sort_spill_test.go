package integration

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chronogo/chronogo/integration/setup"
)

// TestSortedQueriesSpill is issue #7's "a sorted find took 26 s and 3.7 GB before its first
// batch": with --sort-memory=1MiB, a sorted find and a $sort over ~60 MB of documents answer in
// the order a model computes, while the server's heap grows by far less than the result; with
// allowDiskUse: false the same sort fails with 292, and a top-k sort needs no disk.
func TestSortedQueriesSpill(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	srv := setup.Start(t, "", "--sort-memory=1MiB", "--pprof")
	coll := createTS(t, srv.Client().Database("sorts"), "m")
	const n = 200_000
	pad := strings.Repeat("x", 250)
	base := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	for lo := 0; lo < n; lo += 5000 {
		docs := make([]any, 0, 5000)
		for i := lo; i < lo+5000; i++ {
			// k is a permutation of 0..n-1 that does not follow time or series order
			k := (int64(i) * 7919) % n
			docs = append(docs, bson.D{{Key: "ts", Value: base.Add(time.Duration(i) * time.Second)},
				{Key: "meta", Value: i % 50}, {Key: "k", Value: k}, {Key: "pad", Value: pad}})
		}
		_, err := coll.InsertMany(ctx, docs)
		require.NoError(t, err)
	}

	// allowDiskUse: false past the sort memory: 292, as mongod
	_, err := coll.Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "k", Value: -1}}).SetAllowDiskUse(false))
	requireCode(t, err, 292)
	_, err = coll.Aggregate(ctx, mongo.Pipeline{{{Key: "$sort", Value: bson.D{{Key: "k", Value: 1}}}}}, options.Aggregate().SetAllowDiskUse(false))
	requireCode(t, err, 292)

	// a top-k sort holds only k documents: no disk needed
	cur, err := coll.Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "k", Value: -1}}).SetLimit(5).SetAllowDiskUse(false))
	require.NoError(t, err)
	var top []bson.Raw
	require.NoError(t, cur.All(ctx, &top))
	require.Len(t, top, 5)
	for j, d := range top {
		require.EqualValues(t, n-1-j, d.Lookup("k").Int64())
	}

	// the whole result, sorted descending, spilled: every k once, in order
	before := liveHeapMiB(t, srv)
	cur, err = coll.Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "k", Value: -1}}).SetBatchSize(1000))
	require.NoError(t, err)
	require.True(t, cur.Next(ctx))
	during := liveHeapMiB(t, srv)
	entries, err := os.ReadDir(filepath.Join(srv.DataDir, "tmp"))
	require.NoError(t, err)
	require.Empty(t, entries, "spill files are unlinked at creation")
	want := int64(n - 1)
	for {
		require.Equal(t, want, cur.Current.Lookup("k").Int64())
		want--
		if !cur.Next(ctx) {
			break
		}
	}
	require.NoError(t, cur.Err())
	require.EqualValues(t, -1, want, "every document once")
	t.Logf("heap %d MiB -> %d MiB with a spilled sort of %d MB open", before, during, n*300>>20)
	require.Less(t, during-before, 40, "the sorted result (~57 MiB) is not held in memory")

	// the same through aggregate, with a skip after the sort
	acur, err := coll.Aggregate(ctx, mongo.Pipeline{
		{{Key: "$sort", Value: bson.D{{Key: "k", Value: 1}}}},
		{{Key: "$skip", Value: 10}},
		{{Key: "$project", Value: bson.D{{Key: "k", Value: 1}, {Key: "_id", Value: 0}}}},
	}, options.Aggregate().SetBatchSize(500))
	require.NoError(t, err)
	want = 10
	for acur.Next(ctx) {
		require.Equal(t, want, acur.Current.Lookup("k").Int64())
		want++
	}
	require.NoError(t, acur.Err())
	require.EqualValues(t, n, want)
}

// liveHeapMiB is the server's heap after a forced garbage collection (the heap profile's gc=1,
// with --pprof): what the server holds, not what it has yet to collect.
func liveHeapMiB(t *testing.T, srv *setup.Server) int {
	t.Helper()
	resp, err := http.Get("http://" + srv.HTTPAddr + "/debug/pprof/heap?gc=1")
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode)
	return heapMiB(t, srv)
}
