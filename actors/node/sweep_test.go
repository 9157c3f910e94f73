package node

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/actors/actorstest"
	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/storage/layout"
)

// dirBytes is the size of the files under dir (0 when it does not exist).
func dirBytes(t *testing.T, dir string) int64 {
	var n int64
	_ = filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			n += info.Size()
		}
		return nil
	})
	return n
}

// TestSweepReclaimsDroppedBuckets is issue #14's "disk is never reclaimed after a drop": once the
// placement drops a database's buckets, the sweep stops their vnodes and removes their
// directories, and du shrinks; the other database is untouched, and a new database of the same
// name writes and reads again.
func TestSweepReclaimsDroppedBuckets(t *testing.T) {
	ctx := context.Background()
	place := actorstest.NewMemPlacement(meta.Node{ID: 1, Role: "standalone"})
	for _, db := range []string{"db1", "keep"} {
		place.AddDatabase(meta.Database{Tenant: meta.DefaultTenant, Name: db, ReplicationFactor: 1, ShardCount: 2, BucketDuration: 1000})
	}
	dir := t.TempDir()
	n, err := Start(Config{NodeID: 1, DataDir: dir, Placement: place, Logger: actorstest.QuietLogger(), SweepInterval: -1})
	require.NoError(t, err)
	defer n.Stop(ctx)

	model := map[pt]float64{}
	require.NoError(t, n.Write(ctx, meta.DefaultTenant, "db1", "cpu", batch(t, "a", []int64{1, 2, 1001, 2500}, model)))
	require.NoError(t, n.Write(ctx, meta.DefaultTenant, "keep", "cpu", batch(t, "b", []int64{3}, map[pt]float64{})))
	require.NoError(t, n.flush(ctx))
	db1 := filepath.Join(dir, layout.DataDir, meta.DefaultTenant, "db1")
	keep := filepath.Join(dir, layout.DataDir, meta.DefaultTenant, "keep")
	before := dirBytes(t, db1)
	require.Greater(t, before, int64(0))

	removed, err := n.SweepOrphans(ctx)
	require.NoError(t, err)
	require.Zero(t, removed, "nothing is removed while the placement has the buckets")

	place.DropBuckets(meta.DefaultTenant, "db1") // dropDatabase
	removed, err = n.SweepOrphans(ctx)
	require.NoError(t, err)
	require.Equal(t, 3, removed, "the three buckets of db1")
	_, err = os.Stat(db1)
	require.True(t, os.IsNotExist(err), "db1's directory is gone")
	require.Greater(t, dirBytes(t, keep), int64(0), "the other database is untouched")

	// the same name again: new buckets, written and read
	model = map[pt]float64{}
	require.NoError(t, n.Write(ctx, meta.DefaultTenant, "db1", "cpu", batch(t, "c", []int64{7}, model)))
	require.Equal(t, model, scan(t, n))
	removed, err = n.SweepOrphans(ctx)
	require.NoError(t, err)
	require.Zero(t, removed)
}
