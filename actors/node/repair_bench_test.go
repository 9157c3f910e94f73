//go:build !race

package node

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/actors/actorstest"
	"github.com/chronogo/chronogo/actors/coordinator"
	"github.com/chronogo/chronogo/actors/vnode"
	"github.com/chronogo/chronogo/meta"
)

// BenchmarkRepairManyVersions: one replica missed 500 writes of 4 points each (each write its
// own version, as hints that expired); a repair copies them to it. Reports versions/s.
func BenchmarkRepairManyVersions(b *testing.B) {
	const writes = 500
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		place := actorstest.NewMemPlacement(meta.Node{ID: 1}, meta.Node{ID: 2})
		place.Replicas = func(int64, int) []uint64 { return []uint64{1, 2} }
		place.AddDatabase(meta.Database{Tenant: meta.DefaultTenant, Name: "db1", ReplicationFactor: 2, ShardCount: 1, BucketDuration: 1 << 60, Consistency: "all"})
		nodes := startNodes(b, place, []uint64{1, 2}, nil)
		ctx := context.Background()
		require.NoError(b, nodes[1].Write(ctx, meta.DefaultTenant, "db1", "cpu", batch(b, "seed", []int64{0}, map[pt]float64{})))
		buckets, err := place.BucketsIn(ctx, meta.DefaultTenant, "db1", 0, 1)
		require.NoError(b, err)
		rs := buckets[0].ReplicaSets[0]
		var spec vnode.Spec
		for _, v := range rs.Vnodes {
			if v.NodeID == 1 {
				spec = vnode.Spec{Tenant: meta.DefaultTenant, DB: "db1", BucketID: buckets[0].ID, ReplicaSetID: rs.ID, VnodeID: v.ID}
			}
		}
		version := uint64(time.Now().UnixMilli()) << 16
		for w := 0; w < writes; w++ {
			bt := batch(b, fmt.Sprintf("h%d", w%20), []int64{int64(w*4 + 1), int64(w*4 + 2), int64(w*4 + 3), int64(w*4 + 4)}, map[pt]float64{})
			bt.Version = version + uint64(w)
			writeOnly(b, nodes[1], spec, bt)
		}
		b.StartTimer()
		rep, err := nodes[2].Repair(ctx, meta.DefaultTenant, "db1", coordinator.RepairOptions{Window: time.Hour, Tables: map[string]int64{"cpu": 0}})
		b.StopTimer()
		require.NoError(b, err)
		require.EqualValues(b, writes*4, rep.PointsCopied)
		for _, n := range nodes {
			_ = n.Stop(ctx)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(writes*b.N)/b.Elapsed().Seconds(), "versions/s")
}
