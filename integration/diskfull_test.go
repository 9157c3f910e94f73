package integration

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chronogo/chronogo/integration/setup"
)

// smallDisk mounts a tmpfs of size MiB (a real full disk, without root it is skipped).
func smallDisk(t *testing.T, mib int) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+strconv.Itoa(mib)+"m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (needs root): %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	return dir
}

// TestDiskFullThenSpaceFreed is issue #7's disk-fault finding with a real full disk (a 64 MiB
// tmpfs): inserts fail with OutOfDiskSpace (14031), never "corruption"; reads keep working; when
// space is freed, writes resume without a restart; every acknowledged document is there, then and
// after a restart.
func TestDiskFullThenSpaceFreed(t *testing.T) {
	disk := smallDisk(t, 64)
	filler := filepath.Join(disk, "filler")
	require.NoError(t, os.WriteFile(filler, make([]byte, 24<<20), 0o644))
	srv := setup.Start(t, filepath.Join(disk, "data"), "--cache-size=1MiB")
	ctx := testCtx(t)
	coll := createTS(t, srv.Client().Database("full"), "m")

	base := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	acked := map[int32]bool{}
	insert := func(n int) error {
		docs := make([]any, 500)
		for i := range docs {
			docs[i] = bson.D{{Key: "ts", Value: base.Add(time.Duration(n*500+i) * time.Second)}, {Key: "meta", Value: n % 7},
				{Key: "batch", Value: int32(n)}, {Key: "pad", Value: string(make([]byte, 200))}}
		}
		_, err := coll.InsertMany(ctx, docs)
		if err == nil {
			acked[int32(n)] = true
		}
		return err
	}
	n, full := 0, 0
	for ; n < 2000 && full < 5; n++ {
		if err := insert(n); err != nil {
			var bwe mongo.BulkWriteException
			require.True(t, errors.As(err, &bwe) && len(bwe.WriteErrors) > 0, "got %v", err)
			require.Equal(t, 14031, bwe.WriteErrors[0].Code, "a full disk is OutOfDiskSpace: %v", err)
			full++
		}
	}
	require.Equal(t, 5, full, "the disk never filled")
	count := func(c *mongo.Client) map[int32]int {
		cur, err := c.Database("full").Collection("m").Find(ctx, bson.D{}, options.Find().SetProjection(bson.D{{Key: "batch", Value: 1}}))
		require.NoError(t, err)
		seen := map[int32]int{}
		for cur.Next(ctx) {
			seen[cur.Current.Lookup("batch").Int32()]++
		}
		require.NoError(t, cur.Err())
		return seen
	}
	check := func(c *mongo.Client, when string) {
		seen := count(c)
		for b := range acked {
			require.Equal(t, 500, seen[b], "%s: acknowledged batch %d", when, b)
		}
	}
	check(srv.Client(), "while the disk is full")

	require.NoError(t, os.Remove(filler))
	require.Eventually(t, func() bool { return insert(n) == nil }, 30*time.Second, 500*time.Millisecond, "writes did not resume")
	n++
	for i := 0; i < 5; i++ {
		require.NoError(t, insert(n))
		n++
	}
	check(srv.Client(), "after space was freed")
	require.NotContains(t, srv.Log(), "marked broken")
	require.NotContains(t, srv.Log(), "CORRUPTION")

	srv.Stop()
	srv.Restart()
	c, err := mongo.Connect(options.Client().ApplyURI(srv.URI()))
	require.NoError(t, err)
	defer c.Disconnect(context.Background())
	check(c, "after a restart")
	t.Logf("%d batches acknowledged, %d refused while full, none lost", len(acked), full)
}

// TestOutOnFullDisk: a $out into a time series that the disk cannot hold (a 64 MiB tmpfs, left
// with about 1 MiB) fails with a clear error and changes nothing: the target keeps every old
// document, no staging collection is listed, and the server goes on (no crash, no corruption).
// With space freed the same $out replaces the target whole, also after a restart.
func TestOutOnFullDisk(t *testing.T) {
	disk := smallDisk(t, 64)
	srv := setup.Start(t, filepath.Join(disk, "data"), "--cache-size=1MiB")
	ctx := testCtx(t)
	db := srv.Client().Database("outfull")
	base := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	fill := func(name string, n int, gen string) {
		require.NoError(t, db.CreateCollection(ctx, name, options.CreateCollection().
			SetTimeSeriesOptions(options.TimeSeries().SetTimeField("t").SetMetaField("host"))))
		docs := make([]any, 0, 2000)
		for i := 0; i < n; i++ {
			docs = append(docs, bson.D{{Key: "t", Value: base.Add(time.Duration(i) * time.Second)},
				{Key: "host", Value: "h" + strconv.Itoa(i%20)}, {Key: "gen", Value: gen}, {Key: "i", Value: int32(i)}})
			if len(docs) == cap(docs) || i == n-1 {
				_, err := db.Collection(name).InsertMany(ctx, docs)
				require.NoError(t, err)
				docs = docs[:0]
			}
		}
	}
	gens := func(c *mongo.Client) map[string]int32 {
		cur, err := c.Database("outfull").Collection("target").Aggregate(ctx, bson.A{bson.D{{Key: "$group", Value: bson.D{{Key: "_id", Value: "$gen"}, {Key: "n", Value: bson.D{{Key: "$sum", Value: 1}}}}}}})
		require.NoError(t, err)
		out := map[string]int32{}
		for cur.Next(ctx) {
			out[cur.Current.Lookup("_id").StringValue()] = cur.Current.Lookup("n").Int32()
		}
		require.NoError(t, cur.Err())
		return out
	}
	names := func() []string {
		n, err := db.ListCollectionNames(ctx, bson.D{})
		require.NoError(t, err)
		slices.Sort(n)
		return n
	}
	const nOld, nSrc = 5_000, 60_000
	fill("target", nOld, "old")
	fill("src", nSrc, "src")
	out := func() error {
		cur, err := db.Collection("src").Aggregate(ctx, bson.A{bson.D{{Key: "$set", Value: bson.D{{Key: "gen", Value: "new"}, {Key: "pad", Value: strings.Repeat("x", 300)}}}},
			bson.D{{Key: "$out", Value: "target"}}})
		if err == nil {
			err = cur.Close(ctx)
		}
		return err
	}
	var st syscall.Statfs_t
	require.NoError(t, syscall.Statfs(disk, &st))
	free := int64(st.Bavail) * st.Bsize
	filler := filepath.Join(disk, "filler")
	require.NoError(t, os.WriteFile(filler, make([]byte, max(free-(1<<20), 0)), 0o644))

	err := out()
	require.Error(t, err, "a $out the disk cannot hold")
	t.Logf("$out on a full disk: %v", err)
	require.NotContains(t, err.Error(), "orrupt")
	require.Equal(t, map[string]int32{"old": nOld}, gens(srv.Client()), "the target is untouched")
	require.Equal(t, []string{"src", "target"}, names(), "no staging collection is listed")

	require.NoError(t, os.Remove(filler))
	require.Eventually(t, func() bool { return out() == nil }, 60*time.Second, time.Second, "the $out works once there is space")
	require.Equal(t, map[string]int32{"new": nSrc}, gens(srv.Client()))
	require.Equal(t, []string{"src", "target"}, names())
	require.NotContains(t, srv.Log(), "marked broken")
	require.NotContains(t, srv.Log(), "CORRUPTION")
	srv.Stop()
	srv.Restart()
	c, err := mongo.Connect(options.Client().ApplyURI(srv.URI()))
	require.NoError(t, err)
	defer c.Disconnect(context.Background())
	require.Equal(t, map[string]int32{"new": nSrc}, gens(c), "after a restart")
}
