package node

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/actors"
	"github.com/chronogo/chronogo/actors/actorstest"
	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/storage/tsm"
)

// TestStableVersionIsBehindTheClock: the stable version lies LateWriteWindow behind the HLC.
func TestStableVersionIsBehindTheClock(t *testing.T) {
	clock := actors.NewHLC(time.Now)
	now := clock.Now()
	st := StableVersion()
	require.Less(t, st, now)
	lag := actors.HLCTime(now).Sub(actors.HLCTime(st))
	require.InDelta(t, LateWriteWindow.Seconds(), lag.Seconds(), 2, "lag %v", lag)
	require.Greater(t, st, uint64(time.Now().Add(-2*LateWriteWindow).UnixMilli())<<actors.HLCLogicalBits)
}

// TestStableVersionLag: a standalone node lags its stable version by the late-write window
// only while it holds no hint; with hints, or in a cluster (other nodes' queues are not seen),
// by the hint window too.
func TestStableVersionLag(t *testing.T) {
	clock := actors.NewHLC(nil)
	held := false
	hints := func() bool { return held }
	lagOf := func(f func() uint64) time.Duration {
		now := clock.Now()
		return actors.HLCTime(now).Sub(actors.HLCTime(f()))
	}
	standalone := stableVersion(clock, true, 3*time.Hour, hints)
	cluster := stableVersion(clock, false, 3*time.Hour, hints)
	require.InDelta(t, LateWriteWindow.Seconds(), lagOf(standalone).Seconds(), 1)
	require.InDelta(t, (LateWriteWindow + 3*time.Hour).Seconds(), lagOf(cluster).Seconds(), 1)
	held = true
	require.InDelta(t, (LateWriteWindow + 3*time.Hour).Seconds(), lagOf(standalone).Seconds(), 1)
}

// TestSettledStandaloneVnodeKeepsOneVersion is issue #9's "versions that cost nothing once
// settled": a standalone node whose vnode has been quiet for SettleAfter compacts it into one
// file in which every block holds one version and one seq, once its writes are older than the
// late-write window (the node's clock is moved ahead instead of waiting). The data reads back
// the same, and a write that arrives afterwards still wins over the collapsed points.
func TestSettledStandaloneVnodeKeepsOneVersion(t *testing.T) {
	ctx := context.Background()
	var ahead atomic.Int64
	clock := actors.NewHLC(func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) })
	place := actorstest.NewMemPlacement(meta.Node{ID: 1, Role: "standalone"})
	place.AddDatabase(meta.Database{Tenant: meta.DefaultTenant, Name: "db1", ReplicationFactor: 1, ShardCount: 1, BucketDuration: 1 << 40})
	dir := t.TempDir()
	cfg := Config{NodeID: 1, DataDir: dir, Placement: place, Logger: actorstest.QuietLogger(), Clock: clock}
	cfg.Vnodes.SettleAfter = 300 * time.Millisecond
	n, err := Start(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = n.Stop(ctx) })

	model := map[pt]float64{}
	for i := range 20 { // 20 writes, 20 versions, each with points of 3 hosts
		for h := range 3 {
			require.NoError(t, n.Write(ctx, meta.DefaultTenant, "db1", "cpu", batch(t, fmt.Sprintf("h%d", h), []int64{int64(i * 10), int64(i*10 + 5)}, model)))
		}
	}
	require.NoError(t, n.Flush(ctx))
	versionsPerBlock := func() (files, blocks, varying int) {
		paths, err := filepath.Glob(filepath.Join(dir, "data", "*", "*", "*", "*", "*", "tsm", "*.tsm"))
		require.NoError(t, err)
		for _, p := range paths {
			r, err := tsm.Open(p)
			require.NoError(t, err)
			for _, e := range r.Entries() {
				for _, m := range e.Blocks {
					blocks++
					if m.MinVersion != m.MaxVersion || m.MinSeq != m.MaxSeq {
						varying++
					}
				}
			}
			require.NoError(t, r.Close())
		}
		return len(paths), blocks, varying
	}
	_, _, varying := versionsPerBlock()
	require.Positive(t, varying, "flushed blocks hold the versions of several writes")

	ahead.Store(int64(2 * LateWriteWindow)) // the writes are now older than the window
	require.Eventually(t, func() bool {
		files, blocks, varying := versionsPerBlock()
		return files == 1 && blocks > 0 && varying == 0
	}, 10*time.Second, 50*time.Millisecond, "settled into one file with one version per block")
	require.Equal(t, model, scan(t, n))

	require.NoError(t, n.Write(ctx, meta.DefaultTenant, "db1", "cpu", batch(t, "h1", []int64{50}, model)))
	require.Equal(t, model, scan(t, n), "a later write wins over the settled points")
}
