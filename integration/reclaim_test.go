package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chronogo/chronogo/integration/setup"
)

func duBytes(dir string) int64 {
	var n int64
	_ = filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			n += info.Size()
		}
		return nil
	})
	return n
}

// TestDiskReclaimedAfterDropAndExpiry is issue #14's "du shrinks after a drop or an expiry": a
// dropped database's directories are removed by the node's sweep, and buckets whose every point
// expired are dropped whole by the TTL pass and removed too, with the server running.
func TestDiskReclaimedAfterDropAndExpiry(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	srv := setup.Start(t, "", "--sweep-interval", "500ms", "--ttl-interval", "500ms")
	c := srv.Client()
	dataDir := filepath.Join(srv.DataDir, "data", "default")

	// a database that will be dropped
	gone := createTS(t, c.Database("gone"), "m")
	loadOneSeries(t, gone, 20_000)
	require.Greater(t, duBytes(filepath.Join(dataDir, "gone")), int64(100_000))
	require.NoError(t, c.Database("gone").Drop(ctx))
	require.Eventually(t, func() bool {
		_, err := os.Stat(filepath.Join(dataDir, "gone"))
		return os.IsNotExist(err)
	}, 20*time.Second, 100*time.Millisecond, "the dropped database's directory is removed")

	// a collection whose points are older than its TTL: emptied, then its buckets dropped whole
	require.NoError(t, c.Database("ttl").CreateCollection(ctx, "m", options.CreateCollection().
		SetTimeSeriesOptions(options.TimeSeries().SetTimeField("ts").SetMetaField("meta")).SetExpireAfterSeconds(3600)))
	old := c.Database("ttl").Collection("m")
	loadOneSeries(t, old, 5_000) // March 2024: long expired
	require.Eventually(t, func() bool {
		n, err := old.CountDocuments(ctx, bson.D{})
		return err == nil && n == 0
	}, 20*time.Second, 100*time.Millisecond, "the TTL pass deletes the expired points")
	require.Eventually(t, func() bool {
		ents, err := os.ReadDir(filepath.Join(dataDir, "ttl"))
		return os.IsNotExist(err) || (err == nil && len(ents) == 0)
	}, 20*time.Second, 100*time.Millisecond, "expired buckets are dropped whole and their directories removed")

	// and the database still takes writes
	_, err := old.InsertOne(ctx, bson.D{{Key: "ts", Value: time.Now()}, {Key: "meta", Value: "new"}, {Key: "v", Value: 1.0}})
	require.NoError(t, err)
	n, err := old.CountDocuments(ctx, bson.D{})
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
}

// TestDropDatabaseWithANodeDown is issue #14's drop through node loss: with one of three replicas
// killed, drop of a collection and dropDatabase succeed; a collection created again shows none of
// the old points; the two live nodes remove the database's directories, the third removes its own
// when it comes back and hides the dropped collection's points, and a database created again
// under the same name starts empty.
func TestDropDatabaseWithANodeDown(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four processes")
	}
	t.Parallel()
	ctx := testCtx(t)
	c := setup.StartCluster(t, 1, 3, "--replication-factor", "3", "--sweep-interval", "1s", "--log-level", "info")
	cl := c.Data[0].Client()
	coll := createTS(t, cl.Database("dropme"), "m")
	// the dnodes register with the placement after they listen: writes need all three (RF 3)
	require.Eventually(t, func() bool {
		_, err := coll.InsertOne(ctx, bson.D{{Key: "ts", Value: time.Now()}, {Key: "meta", Value: "probe"}})
		return err == nil
	}, 30*time.Second, 100*time.Millisecond, "the three data nodes registered")
	loadOneSeries(t, coll, 3000)
	dbDir := func(s *setup.Server) string { return filepath.Join(s.DataDir, "data", "default", "dropme") }
	for _, s := range c.Data {
		require.Eventually(t, func() bool { return duBytes(dbDir(s)) > 0 }, 10*time.Second, 50*time.Millisecond)
	}

	// a collection of another database, dropped with a replica down too
	other := createTS(t, cl.Database("keep"), "gone")
	loadOneSeries(t, other, 1000)

	c.Data[2].Kill()
	require.NoError(t, other.Drop(ctx), "drop of a collection with a replica down")
	again := createTS(t, cl.Database("keep"), "gone")
	_, err := again.InsertOne(ctx, bson.D{{Key: "ts", Value: time.Now()}, {Key: "meta", Value: "new"}, {Key: "v", Value: 1.0}})
	require.NoError(t, err)
	n, err := again.CountDocuments(ctx, bson.D{})
	require.NoError(t, err)
	require.EqualValues(t, 1, n, "the collection created again shows none of the dropped points")

	require.NoError(t, cl.Database("dropme").Drop(ctx), "drop with a replica down")
	names, err := cl.ListDatabaseNames(ctx, bson.D{})
	require.NoError(t, err)
	require.NotContains(t, names, "dropme")
	for _, s := range c.Data[:2] {
		require.Eventually(t, func() bool {
			_, err := os.Stat(dbDir(s))
			return os.IsNotExist(err)
		}, 20*time.Second, 100*time.Millisecond, "a live node removes the dropped database's data")
	}
	require.Greater(t, duBytes(dbDir(c.Data[2])), int64(0), "the killed node still has it")
	c.Data[2].Restart()
	require.Eventually(t, func() bool {
		_, err := os.Stat(dbDir(c.Data[2]))
		return os.IsNotExist(err)
	}, 30*time.Second, 100*time.Millisecond, "the node that was down removes it once back")

	recreated := createTS(t, cl.Database("dropme"), "m")
	n, err = recreated.CountDocuments(ctx, bson.D{})
	require.NoError(t, err)
	require.Zero(t, n, "a database created again starts empty")

	// the node that was down got the collection drop's delete as a hint: it hides the old points
	third := c.Data[2].Client().Database("keep").Collection("gone")
	var last string
	start := time.Now()
	agreed := assert.Eventually(t, func() bool {
		n, err := third.CountDocuments(ctx, bson.D{})
		last = fmt.Sprintf("count %d, err %v", n, err)
		return err == nil && n == 1
	}, 30*time.Second, 200*time.Millisecond)
	if !agreed {
		for i, s := range c.Data {
			t.Logf("dnode%d log:\n%s", i+1, s.Log())
		}
	}
	require.True(t, agreed, "the returning node agrees: last %s", last)
	t.Logf("the returning node agreed after %v", time.Since(start))
}
