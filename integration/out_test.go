package integration

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chronogo/chronogo/integration/setup"
)

// TestOutReplacesTimeSeriesWhole: a $out into an existing time-series collection replaces it
// in one step, as MongoDB's does. Readers counting the target during the $out see the old
// documents or the new ones, never a mix; a SIGKILL at any point of a $out (while it fills,
// around the swap) leaves, after the restart, one generation whole (the old or the new, every
// document of it); the staging collection a crash leaves is never listed and the TTL pass drops
// it (logged).
func TestOutReplacesTimeSeriesWhole(t *testing.T) {
	t.Parallel()
	srv := setup.Start(t, "", "--ttl-interval=1s", "--out-staging-max-age=2s")
	ctx := testCtx(t)
	db := srv.Client().Database("outdb")
	base := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	create := func(db *mongo.Database, name string) {
		require.NoError(t, db.CreateCollection(ctx, name, options.CreateCollection().
			SetTimeSeriesOptions(options.TimeSeries().SetTimeField("t").SetMetaField("host"))))
	}
	fill := func(db *mongo.Database, name string, n int, gen string) {
		docs := make([]any, 0, 5000)
		for i := 0; i < n; i++ {
			docs = append(docs, bson.D{{Key: "t", Value: base.Add(time.Duration(i) * time.Second)},
				{Key: "host", Value: fmt.Sprintf("h%d", i%50)}, {Key: "gen", Value: gen}, {Key: "i", Value: int32(i)}})
			if len(docs) == cap(docs) || i == n-1 {
				_, err := db.Collection(name).InsertMany(ctx, docs)
				require.NoError(t, err)
				docs = docs[:0]
			}
		}
	}
	// gens counts the target's documents per generation
	gens := func(db *mongo.Database) map[string]int32 {
		cur, err := db.Collection("target").Aggregate(ctx, bson.A{bson.D{{Key: "$group", Value: bson.D{{Key: "_id", Value: "$gen"}, {Key: "n", Value: bson.D{{Key: "$sum", Value: 1}}}}}}})
		require.NoError(t, err)
		out := map[string]int32{}
		for cur.Next(ctx) {
			out[cur.Current.Lookup("_id").StringValue()] = cur.Current.Lookup("n").Int32()
		}
		require.NoError(t, cur.Err())
		return out
	}
	const nOld, nSrc = 20_000, 120_000
	create(db, "target")
	fill(db, "target", nOld, "old")
	create(db, "src")
	fill(db, "src", nSrc, "src")
	out := func(db *mongo.Database, gen string) error {
		cur, err := db.Collection("src").Aggregate(ctx, bson.A{
			bson.D{{Key: "$set", Value: bson.D{{Key: "gen", Value: gen}}}}, bson.D{{Key: "$out", Value: "target"}}})
		if err == nil {
			err = cur.Close(ctx)
		}
		return err
	}

	// readers during a $out see one generation
	var (
		reads   atomic.Int64
		stop    = make(chan struct{})
		wg      sync.WaitGroup
		mixedMu sync.Mutex
		mixed   []map[string]int32
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			g := gens(db)
			reads.Add(1)
			if !(len(g) == 1 && (g["old"] == nOld || g["g1"] == nSrc)) {
				mixedMu.Lock()
				mixed = append(mixed, g)
				mixedMu.Unlock()
			}
		}
	}()
	began := time.Now()
	require.NoError(t, out(db, "g1"))
	took := time.Since(began)
	time.Sleep(200 * time.Millisecond)
	close(stop)
	wg.Wait()
	require.Empty(t, mixed, "readers saw a mix of generations")
	require.Equal(t, map[string]int32{"g1": nSrc}, gens(db))
	t.Logf("$out of %d documents took %v; %d reads during it saw one generation each", nSrc, took, reads.Load())
	names, err := db.ListCollectionNames(ctx, bson.D{})
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"src", "target"}, names)

	// a SIGKILL during a $out leaves one whole generation: the first trial kills once the
	// staging collection holds series (the node's vnodes hold more series than before the $out),
	// the others at fractions of the time a $out took
	localSeries := func() int64 {
		var vn struct{ Local []struct{ Series int64 } }
		require.NoError(t, getJSON("http://"+srv.HTTPAddr+"/api/v1/vnodes", &vn))
		n := int64(0)
		for _, v := range vn.Local {
			n += v.Series
		}
		return n
	}
	want := map[string]int32{"g1": nSrc}
	var logs strings.Builder // of every launch: a sweep may come before a later kill
	for trial, frac := range []float64{-1, 0.3, 0.6, 0.85, 1.0, 1.2} {
		gen := fmt.Sprintf("g%d", trial+2)
		errc := make(chan error, 1)
		baseline := localSeries()
		go func() { errc <- out(db, gen) }()
		if frac < 0 {
			require.Eventually(t, func() bool { return localSeries() > baseline }, 60*time.Second, 2*time.Millisecond, "the staging collection fills")
		} else {
			time.Sleep(time.Duration(frac * float64(took)))
		}
		srv.Kill()
		outErr := <-errc
		logs.WriteString(srv.Log())
		srv.Restart()
		db = srv.Client().Database("outdb")
		got := gens(db)
		switch {
		case frac < 0:
			require.Error(t, outErr, "killed while the staging collection filled")
			require.Equal(t, want, got, "a $out killed while filling leaves the old target")
		case outErr == nil:
			require.Equal(t, map[string]int32{gen: nSrc}, got, "trial %d: the acknowledged $out is whole", trial)
		default:
			require.True(t, equalGens(got, want) || equalGens(got, map[string]int32{gen: nSrc}),
				"trial %d (kill at %.0f%% of a $out): the target is %v; want %v or all of %s", trial, frac*100, got, want, gen)
		}
		want = got
		names, err := db.ListCollectionNames(ctx, bson.D{})
		require.NoError(t, err)
		require.ElementsMatch(t, []string{"src", "target"}, names, "trial %d", trial)
		t.Logf("trial %d: killed at %.0f%% of a $out (its error: %v): target %v", trial, frac*100, outErr, got)
	}

	// the hidden collections the crashes left are dropped by the TTL pass
	require.Eventually(t, func() bool {
		return strings.Contains(logs.String()+srv.Log(), "dropped a hidden collection an interrupted $out left")
	},
		20*time.Second, 200*time.Millisecond, "no hidden collection was dropped")
	require.Equal(t, want, gens(db), "the sweep leaves the target alone")
	require.NoError(t, out(db, "last"))
	require.Equal(t, map[string]int32{"last": nSrc}, gens(db))

	// the replaced collection takes every kind of write and delete as any other: line protocol
	// into a $out made with line protocol's shape, a delete, a drop and a new collection
	_, err = db.Collection("src").Aggregate(ctx, bson.A{
		bson.D{{Key: "$sort", Value: bson.D{{Key: "t", Value: 1}}}}, bson.D{{Key: "$limit", Value: 10}},
		bson.D{{Key: "$project", Value: bson.D{{Key: "time", Value: "$t"}, {Key: "tags", Value: bson.D{{Key: "host", Value: "$host"}}}, {Key: "v", Value: "$i"}}}},
		bson.D{{Key: "$out", Value: bson.D{{Key: "coll", Value: "lp"}, {Key: "timeseries", Value: bson.D{{Key: "timeField", Value: "time"}, {Key: "metaField", Value: "tags"}}}}}}})
	require.NoError(t, err)
	resp, err := http.Post("http://"+srv.HTTPAddr+"/write?db=outdb&precision=s", "text/plain",
		strings.NewReader(fmt.Sprintf("lp,host=new v=99i %d\n", base.Add(time.Hour).Unix())))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	lp := db.Collection("lp")
	n, err := lp.CountDocuments(ctx, bson.D{})
	require.NoError(t, err)
	require.Equal(t, int64(11), n, "the line written after the $out is read with its documents")
	n, err = lp.CountDocuments(ctx, bson.D{{Key: "tags.host", Value: "new"}, {Key: "v", Value: int64(99)}})
	require.NoError(t, err)
	require.Equal(t, int64(1), n)
	del, err := lp.DeleteMany(ctx, bson.D{{Key: "tags.host", Value: "h1"}})
	require.NoError(t, err)
	require.Equal(t, int64(1), del.DeletedCount)
	n, err = lp.CountDocuments(ctx, bson.D{})
	require.NoError(t, err)
	require.Equal(t, int64(10), n)

	// a backup of the replaced collection restores into a fresh server whole
	dir := t.TempDir()
	msg, err := run(t, setup.Binary(t), "backup", "--addr", srv.HTTPAddr, "--to", dir, "--quiet")
	require.NoError(t, err, msg)
	fresh := setup.Start(t, "")
	msg, err = run(t, setup.Binary(t), "restore", "--from", filepath.Join(dir, backupIDs(t, dir)[0]), "--addr", fresh.HTTPAddr, "--quiet")
	require.NoError(t, err, msg)
	for _, name := range []string{"lp", "target"} {
		want := allDocs(t, ctx, db.Collection(name))
		require.NotEmpty(t, want)
		require.Equal(t, want, allDocs(t, ctx, fresh.Client().Database("outdb").Collection(name)), name)
	}
	names, err = fresh.Client().Database("outdb").ListCollectionNames(ctx, bson.D{})
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"lp", "src", "target"}, names)

	require.NoError(t, db.Collection("target").Drop(ctx))
	create(db, "target")
	fill(db, "target", 5, "fresh")
	require.Equal(t, map[string]int32{"fresh": 5}, gens(db), "a collection created after a drop shows none of the old data")
}

func equalGens(a, b map[string]int32) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
