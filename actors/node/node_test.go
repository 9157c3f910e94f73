package node

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/chronogo/chronogo/actors/actorstest"
	"github.com/chronogo/chronogo/actors/coordinator"
	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/engine"
)

func TestMain(m *testing.M) {
	// remote tests stop nodes that others still talk to: see actorstest.RemoteGoroutines
	goleak.VerifyTestMain(m, append(actorstest.ProtoactorGoroutines(), actorstest.RemoteGoroutines()...)...)
}

type pt struct {
	host string
	ts   int64
}

// batch is cpu,host=<host> usage=<ts/10> at each time.
func batch(t testing.TB, host string, times []int64, model map[pt]float64) *storage.Batch {
	k := storage.SeriesKey{Table: "cpu", Tags: []storage.Tag{{Key: "host", Value: storage.StringTag(host)}}}
	require.NoError(t, k.Normalize())
	s := storage.SeriesRows{Key: k.Marshal(nil), Times: times, Fields: []storage.FieldColumn{{Name: "usage", Values: storage.Values{Type: storage.TypeDouble}}}}
	for _, ts := range times {
		v := float64(ts) / 10
		s.Fields[0].Values.Floats = append(s.Fields[0].Values.Floats, v)
		model[pt{host, ts}] = v
	}
	return &storage.Batch{Series: []storage.SeriesRows{s}}
}

func scan(t *testing.T, n *Node) map[pt]float64 {
	t.Helper()
	out := map[pt]float64{}
	err := n.Scan(context.Background(), meta.DefaultTenant, "db1", "cpu", engine.ScanQuery{MinTime: math.MinInt64, MaxTime: math.MaxInt64},
		func(snap coordinator.Source, col *engine.ScanColumn) error {
			k, _ := snap.SeriesKey(col.Series)
			h, _ := k.Tag("host")
			for i, ts := range col.Points.Times {
				out[pt{string(h.Raw), ts}] = col.Points.Values.Floats[i]
			}
			return nil
		})
	require.NoError(t, err)
	return out
}

func TestNodeStandalone(t *testing.T) {
	ctx := context.Background()
	place := actorstest.NewMemPlacement(meta.Node{ID: 1, Role: "standalone"})
	place.AddDatabase(meta.Database{Tenant: meta.DefaultTenant, Name: "db1", ReplicationFactor: 1, ShardCount: 2, BucketDuration: 1000})
	cfg := Config{NodeID: 1, DataDir: t.TempDir(), Placement: place, Logger: actorstest.QuietLogger()}
	n, err := Start(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = n.Stop(ctx) })
	require.Equal(t, "nonhost", n.Address(), "no remote without ActorAddr")

	model := map[pt]float64{}
	for h := range 6 {
		require.NoError(t, n.Write(ctx, meta.DefaultTenant, "db1", "cpu", batch(t, fmt.Sprintf("h%d", h), []int64{10, 500, 1010, 1990}, model)))
	}
	require.Equal(t, model, scan(t, n))

	var count int64
	require.NoError(t, n.Aggregate(ctx, meta.DefaultTenant, "db1", "cpu", engine.AggQuery{ScanQuery: engine.ScanQuery{MinTime: 0, MaxTime: 999}},
		func(_ coordinator.Source, r *engine.AggResult) error { count += r.Count; return nil }))
	require.Equal(t, int64(12), count, "6 hosts x 2 points in the first bucket")

	stats, err := n.Stats(ctx)
	require.NoError(t, err)
	require.Len(t, stats, 4, "2 buckets x 2 replica sets, one replica each")
	require.NoError(t, n.Flush(ctx))
	stats, err = n.Stats(ctx)
	require.NoError(t, err)
	var writes uint64
	for _, s := range stats {
		require.Equal(t, s.GetSeq(), s.GetFlushedSeq(), "vnode %d flushed", s.GetVnodeId())
		writes += s.GetWrites()
	}
	require.Equal(t, uint64(6*2), writes, "each host's batch was split over 2 buckets")

	// more data stays in the WAL only; a new node on the same directory reads everything back
	require.NoError(t, n.Write(ctx, meta.DefaultTenant, "db1", "cpu", batch(t, "late", []int64{20, 1020}, model)))
	require.NoError(t, n.Stop(ctx))
	require.ErrorIs(t, n.Write(ctx, meta.DefaultTenant, "db1", "cpu", batch(t, "x", []int64{1}, map[pt]float64{})), ErrStopped)
	require.NoError(t, n.Stop(ctx), "Stop is idempotent")

	n2, err := Start(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = n2.Stop(ctx) })
	require.Equal(t, model, scan(t, n2))
}

func TestStartErrors(t *testing.T) {
	_, err := Start(Config{DataDir: t.TempDir()})
	require.Error(t, err)
	place := actorstest.NewMemPlacement(meta.Node{ID: 1})
	_, err = Start(Config{NodeID: 1, DataDir: t.TempDir(), Placement: place, ActorAddr: "no-port", Logger: actorstest.QuietLogger()})
	require.ErrorContains(t, err, "actor address")
}
