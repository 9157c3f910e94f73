//go:build !race

package node

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/actors"
	"github.com/chronogo/chronogo/actors/actorstest"
	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/storage"
)

// TestSkewedClockObserves is issue #14's clock-skew check: node 2's wall clock is ten minutes
// behind node 1's. Node 1 writes a point; node 2, a replica of it, then overwrites the same point.
// Node 2's clock observed node 1's version when the replica write arrived, so its later write
// versions after it and wins last-write-wins on both replicas (without observing, node 2's
// version would be ten minutes older and the first value would stay).
func TestSkewedClockObserves(t *testing.T) {
	ctx := context.Background()
	place := actorstest.NewMemPlacement(meta.Node{ID: 1}, meta.Node{ID: 2})
	place.AddDatabase(meta.Database{Tenant: meta.DefaultTenant, Name: "db1", ReplicationFactor: 2, ShardCount: 1, BucketDuration: 1000, Consistency: "all"})
	behind := func() time.Time { return time.Now().Add(-10 * time.Minute) }
	nodes := startNodes(t, place, []uint64{1, 2}, func(c *Config) {
		if c.NodeID == 2 {
			c.Clock = actors.NewHLC(behind)
		}
	})
	point := func(v float64) *storage.Batch {
		k := storage.SeriesKey{Table: "cpu", Tags: []storage.Tag{{Key: "host", Value: storage.StringTag("a")}}}
		require.NoError(t, k.Normalize())
		return &storage.Batch{Series: []storage.SeriesRows{{Key: k.Marshal(nil), Times: []int64{5},
			Fields: []storage.FieldColumn{{Name: "usage", Values: storage.Values{Type: storage.TypeDouble, Floats: []float64{v}}}}}}}
	}
	require.NoError(t, nodes[1].Write(ctx, meta.DefaultTenant, "db1", "cpu", point(1)))
	require.NoError(t, nodes[2].Write(ctx, meta.DefaultTenant, "db1", "cpu", point(2)))
	for id, n := range nodes {
		require.Equal(t, map[pt]float64{{"a", 5}: 2}, scan(t, n), "node %d: the later write wins", id)
	}
	require.Greater(t, nodes[2].cfg.Clock.Now()>>actors.HLCLogicalBits, uint64(behind().UnixMilli()+60_000),
		"node 2's clock moved past its own wall clock")
}
