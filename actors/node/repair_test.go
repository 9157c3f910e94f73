//go:build !race

package node

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/actors/actorstest"
	"github.com/chronogo/chronogo/actors/coordinator"
	"github.com/chronogo/chronogo/actors/vnode"
	"github.com/chronogo/chronogo/messages"
	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/engine"
	"github.com/chronogo/chronogo/storage/index"
)

// replicaPoints reads one replica directly (its vnode's snapshot on its node).
func replicaPoints(t *testing.T, n *Node, spec vnode.Spec) map[pt]float64 {
	t.Helper()
	res, err := n.sys.Root.RequestFuture(n.manager, &vnode.Forward{Spec: spec, Msg: &vnode.GetSnapshot{}}, 5*time.Second).Result()
	require.NoError(t, err)
	snap, ok := res.(*engine.Snapshot)
	require.True(t, ok, "snapshot of %+v: %T", spec, res)
	defer snap.Release()
	out := map[pt]float64{}
	require.NoError(t, snap.Scan(engine.ScanQuery{Table: "cpu", MinTime: math.MinInt64, MaxTime: math.MaxInt64}, func(c *engine.ScanColumn) error {
		k, _ := snap.SeriesKey(c.Series)
		h, _ := k.Tag("host")
		for i, ts := range c.Points.Times {
			out[pt{string(h.Raw), ts}] = c.Points.Values.Floats[i]
		}
		return nil
	}))
	return out
}

// writeOnly writes a batch to one replica alone, as a hint would (bypassing the coordinator).
func writeOnly(t testing.TB, n *Node, spec vnode.Spec, b *storage.Batch) {
	t.Helper()
	w := &messages.WriteBatch{VnodeId: spec.VnodeID, Tenant: spec.Tenant, Db: spec.DB, BucketId: spec.BucketID, ReplicaSetId: spec.ReplicaSetID, Hinted: true}
	w.SetBatch(b)
	res, err := n.sys.Root.RequestFuture(n.manager, w, 5*time.Second).Result()
	require.NoError(t, err)
	ack, ok := res.(*messages.WriteAck)
	require.True(t, ok, "%T", res)
	require.Zero(t, ack.GetCode(), ack.GetMessage())
}

// TestRepairFillsGaps: two replicas of every replica set (on nodes 1 and 2) agree after normal
// writes; then each misses writes the other took, and one takes a delete the other missed.
// A dry run finds exactly the differing windows and changes nothing; a repair started on
// either node gives each replica the points it lacked and the delete it missed (both then show
// every write but the deleted points); a second repair finds the replicas equal.
func TestRepairFillsGaps(t *testing.T) {
	place := actorstest.NewMemPlacement(meta.Node{ID: 1}, meta.Node{ID: 2})
	place.Replicas = func(int64, int) []uint64 { return []uint64{1, 2} }
	place.AddDatabase(meta.Database{Tenant: meta.DefaultTenant, Name: "db1", ReplicationFactor: 2, ShardCount: 1, BucketDuration: bucketNs, Consistency: "all"})
	// answers of two series digests at most: the comparison of a window pages through them
	nodes := startNodes(t, place, []uint64{1, 2}, func(c *Config) { c.Reader.DetailDigests = 2 })
	ctx := context.Background()

	model := map[pt]float64{}
	writeHosts(t, nodes[1], 3, model)
	buckets, err := place.BucketsIn(ctx, meta.DefaultTenant, "db1", math.MinInt64, math.MaxInt64)
	require.NoError(t, err)
	require.Len(t, buckets, 4)
	specOf := func(b meta.Bucket, node uint64) vnode.Spec {
		for _, v := range b.ReplicaSets[0].Vnodes {
			if v.NodeID == node {
				return vnode.Spec{Tenant: b.Tenant, DB: b.DB, BucketID: b.ID, ReplicaSetID: b.ReplicaSets[0].ID, VnodeID: v.ID}
			}
		}
		t.Fatalf("no replica of bucket %d on node %d", b.ID, node)
		return vnode.Spec{}
	}
	replicas := func(node uint64) map[pt]float64 {
		out := map[pt]float64{}
		for _, b := range buckets {
			for p, v := range replicaPoints(t, nodes[node], specOf(b, node)) {
				out[p] = v
			}
		}
		return out
	}
	require.Equal(t, model, replicas(1))
	require.Equal(t, model, replicas(2))
	opt := coordinator.RepairOptions{Window: 100 * time.Nanosecond, Tables: map[string]int64{"cpu": 0}}
	rep, err := nodes[1].Repair(ctx, meta.DefaultTenant, "db1", opt)
	require.NoError(t, err)
	require.Equal(t, 4, rep.ReplicaSets)
	require.Zero(t, rep.WindowsDifferent, "replicas that took the same writes agree")
	require.Positive(t, rep.WindowsCompared)

	// node 1's replica of bucket 0 alone takes h0 at 5 and 7; node 2's replica of bucket 2
	// alone takes h1 at 2005; node 1's replica of bucket 1 alone deletes h2 in [1000, 1099]
	version := uint64(time.Now().UnixMilli()) << 16
	only1 := map[pt]float64{}
	b1 := batch(t, "h0", []int64{5, 7}, only1)
	b1.Version = version
	writeOnly(t, nodes[1], specOf(buckets[0], 1), b1)
	only2 := map[pt]float64{}
	b2 := batch(t, "h1", []int64{2005}, only2)
	b2.Version = version
	writeOnly(t, nodes[2], specOf(buckets[2], 2), b2)
	s := specOf(buckets[1], 1)
	del := &messages.DeleteRequest{Vnode: s.VnodeRef(), Table: "cpu", MinTime: 1000, MaxTime: 1099, Version: version, Hinted: true}
	del.Filter, err = index.AppendExpr(nil, index.Match{Key: "host", Op: index.OpEq, Value: storage.StringTag("h2")})
	require.NoError(t, err)
	_, err = nodes[1].sys.Root.RequestFuture(nodes[1].manager, del, 5*time.Second).Result()
	require.NoError(t, err)
	deleted := 0
	for p := range model {
		if p.host == "h2" && p.ts >= 1000 && p.ts <= 1099 {
			deleted++
		}
	}
	require.Positive(t, deleted)
	// node 2's replica of bucket 1 alone takes two writes to h2 inside the delete's range: one
	// made after the delete (a newer version: it stays, and node 1 must get it although the
	// delete touches h2 there) and one made before it (older: the delete hides it everywhere)
	after := map[pt]float64{}
	newer := batchValue(t, "h2", 1050, 555, after)
	newer.Version = version + 1
	writeOnly(t, nodes[2], specOf(buckets[1], 2), newer)
	older := batchValue(t, "h2", 1070, 777, map[pt]float64{})
	older.Version = version - 1
	writeOnly(t, nodes[2], specOf(buckets[1], 2), older)
	withDelete := func(m map[pt]float64) map[pt]float64 {
		out := map[pt]float64{}
		for p, v := range m {
			if !(p.host == "h2" && p.ts >= 1000 && p.ts <= 1099) {
				out[p] = v
			}
		}
		return out
	}

	before1, before2 := replicas(1), replicas(2)
	dry := opt
	dry.DryRun = true
	rep, err = nodes[2].Repair(ctx, meta.DefaultTenant, "db1", dry)
	require.NoError(t, err)
	require.Equal(t, 3, rep.WindowsDifferent, "h0's window [0,100), h1's [2000,2100), h2's [1000,1100)")
	require.Equal(t, 3, rep.SeriesDifferent)
	require.Zero(t, rep.PointsCopied)
	require.Equal(t, before1, replicas(1), "a dry run changes nothing")
	require.Equal(t, before2, replicas(2), "a dry run changes nothing")

	rep, err = nodes[2].Repair(ctx, meta.DefaultTenant, "db1", opt)
	require.NoError(t, err)
	require.Empty(t, rep.Errors)
	require.EqualValues(t, 4, rep.PointsCopied, "h0's two points to node 2, h1's one and h2's newer one to node 1")
	require.Equal(t, 1, rep.DeletesCopied, "node 1's delete to node 2")
	require.Equal(t, 3, rep.SeriesRepaired)
	require.Zero(t, rep.StillDifferent)
	require.Zero(t, rep.PointsWithheld)

	all := map[pt]float64{}
	for _, m := range []map[pt]float64{model, only1, only2} {
		for p, v := range m {
			all[p] = v
		}
	}
	want := withDelete(all)
	want[pt{"h2", 1050}] = after[pt{"h2", 1050}]
	require.Equal(t, want, replicas(1), "node 1: every write, the deleted points still deleted, the later write to h2 there")
	require.Equal(t, want, replicas(2), "node 2: every write, and node 1's delete hiding the older one")

	rep, err = nodes[1].Repair(ctx, meta.DefaultTenant, "db1", opt)
	require.NoError(t, err)
	require.Zero(t, rep.WindowsDifferent, "the replicas agree")
	require.Zero(t, rep.PointsCopied)
}
