package integration

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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
