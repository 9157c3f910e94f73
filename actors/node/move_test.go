//go:build !race

package node

import (
	"context"
	"fmt"
	"math"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/actors/actorstest"
	"github.com/chronogo/chronogo/actors/vnode"
	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/index"
	"github.com/chronogo/chronogo/storage/layout"
)

// TestMoveVnodeWhileWriting moves every replica of node 1 to node 3 while a writer goes on:
// each replica set gets a joining vnode on node 3 (written to, never read: node 3 reads the
// others), FillVnode copies node 1's points and its delete with their versions and verifies,
// then the placement drops node 1's vnodes and its sweep removes their directories. Node 3's
// replicas end up equal to node 1's, every acknowledged write (before and during the move) is
// read back, the deleted points stay deleted, and writes at consistency "all" go on after the
// switch without node 1.
func TestMoveVnodeWhileWriting(t *testing.T) {
	place := actorstest.NewMemPlacement(meta.Node{ID: 1}, meta.Node{ID: 2}, meta.Node{ID: 3})
	place.Replicas = func(int64, int) []uint64 { return []uint64{1, 2} }
	place.AddDatabase(meta.Database{Tenant: meta.DefaultTenant, Name: "db1", ReplicationFactor: 2, ShardCount: 1, BucketDuration: bucketNs, Consistency: "all"})
	nodes := startNodes(t, place, []uint64{1, 2, 3}, nil)
	ctx := context.Background()

	model := map[pt]float64{}
	writeHosts(t, nodes[1], 3, model)
	filter, err := index.AppendExpr(nil, index.Match{Key: "host", Op: index.OpEq, Value: storage.StringTag("h2")})
	require.NoError(t, err)
	expr, err := index.UnmarshalExpr(filter)
	require.NoError(t, err)
	require.NoError(t, nodes[2].Delete(ctx, meta.DefaultTenant, "db1", "cpu", expr, 1000, 1099))
	for p := range model {
		if p.host == "h2" && p.ts >= 1000 && p.ts <= 1099 {
			delete(model, p)
		}
	}
	buckets, err := place.BucketsIn(ctx, meta.DefaultTenant, "db1", math.MinInt64, math.MaxInt64)
	require.NoError(t, err)
	require.Len(t, buckets, 4)

	// join: a vnode on node 3 in every replica set
	joining := map[uint64]meta.Vnode{}
	for i, b := range buckets {
		v := meta.Vnode{ID: 1000 + uint64(i), NodeID: 3, Joining: true}
		joining[b.ID] = v
		b.ReplicaSets[0].Vnodes = append(append([]meta.Vnode(nil), b.ReplicaSets[0].Vnodes...), v)
		place.SetBucket(b)
		buckets[i] = b
	}
	require.Equal(t, model, scan(t, nodes[3]), "node 3 reads the full members, not its joining vnodes")

	// a writer goes on during the fill: new points of h9, acknowledged ones recorded
	var (
		mu      sync.Mutex
		written = map[pt]float64{}
		stop    = make(chan struct{})
		done    = make(chan struct{})
	)
	go func() {
		defer close(done)
		for ts := int64(1); ; ts += 7 {
			select {
			case <-stop:
				return
			default:
			}
			m := map[pt]float64{}
			if err := nodes[2].Write(ctx, meta.DefaultTenant, "db1", "cpu", batch(t, "h9", []int64{ts % (4 * bucketNs)}, m)); err != nil {
				continue
			}
			mu.Lock()
			for p, v := range m {
				written[p] = v
			}
			mu.Unlock()
			time.Sleep(time.Millisecond)
		}
	}()
	time.Sleep(20 * time.Millisecond)
	// node 2's replica of bucket 0 alone has h8 at 33 (node 1 missed it; its hint would have come
	// to the vnode that leaves): the fill takes it from node 2
	only2 := map[pt]float64{}
	b8 := batch(t, "h8", []int64{33}, only2)
	b8.Version = uint64(time.Now().UnixMilli()) << 16
	writeOnly(t, nodes[2], vnode.Spec{Tenant: buckets[0].Tenant, DB: buckets[0].DB, BucketID: buckets[0].ID,
		ReplicaSetID: buckets[0].ReplicaSets[0].ID, VnodeID: buckets[0].ReplicaSets[0].Vnodes[1].ID}, b8)
	deletes := 0
	for _, b := range buckets {
		rs := b.ReplicaSets[0]
		rep, err := nodes[2].FillVnode(ctx, b, rs, rs.Vnodes[0], joining[b.ID], nil)
		require.NoError(t, err, "bucket %d", b.ID)
		require.Zero(t, rep.Missing)
		require.Equal(t, 2, rep.Sources, "node 1, then node 2")
		require.Empty(t, rep.SourcesSkipped)
		require.Positive(t, rep.PointsCopied, "bucket %d", b.ID)
		deletes += rep.DeletesCopied
	}
	require.Equal(t, 1, deletes, "the one delete (bucket [1000, 2000)) is copied once")
	time.Sleep(20 * time.Millisecond)
	close(stop)
	<-done
	mu.Lock()
	require.NotEmpty(t, written)
	for p, v := range written {
		model[p] = v
	}
	mu.Unlock()

	specOf := func(b meta.Bucket, v meta.Vnode) vnode.Spec {
		return vnode.Spec{Tenant: b.Tenant, DB: b.DB, BucketID: b.ID, ReplicaSetID: b.ReplicaSets[0].ID, VnodeID: v.ID}
	}
	on1, on3 := map[pt]float64{}, map[pt]float64{}
	for _, b := range buckets {
		for p, v := range replicaPoints(t, nodes[1], specOf(b, b.ReplicaSets[0].Vnodes[0])) {
			on1[p] = v
		}
		for p, v := range replicaPoints(t, nodes[3], specOf(b, joining[b.ID])) {
			on3[p] = v
		}
	}
	require.Equal(t, model, on1)
	for p, v := range only2 {
		model[p] = v
	}
	require.Equal(t, model, on3, "the new replicas hold every acknowledged write, without the deleted points, and what node 2 alone had")

	// switch: node 3's vnodes are full members, node 1's leave
	for i, b := range buckets {
		v := joining[b.ID]
		v.Joining = false
		b.ReplicaSets[0].Vnodes = []meta.Vnode{b.ReplicaSets[0].Vnodes[1], v}
		place.SetBucket(b)
		buckets[i] = b
	}
	removed, err := nodes[1].SweepOrphans(ctx)
	require.NoError(t, err)
	require.Equal(t, 4, removed, "node 1's four vnodes moved away")
	for _, b := range buckets {
		dir := layout.VnodeDir(nodes[1].cfg.DataDir, b.Tenant, b.DB, b.ID, b.ReplicaSets[0].ID, b.ReplicaSets[0].Vnodes[0].ID)
		_, err := os.Stat(dir)
		require.ErrorIs(t, err, os.ErrNotExist)
	}
	removed, err = nodes[3].SweepOrphans(ctx)
	require.NoError(t, err)
	require.Zero(t, removed, "node 3 keeps what is placed on it")

	after := map[pt]float64{}
	require.NoError(t, nodes[1].Write(ctx, meta.DefaultTenant, "db1", "cpu", batch(t, "h7", []int64{5, 1005, 2005, 3005}, after)))
	for p, v := range after {
		model[p] = v
	}
	for _, id := range []uint64{1, 2, 3} {
		require.Equal(t, model, scan(t, nodes[id]), "reads through node %d", id)
	}
}

// TestJoiningReplicaNotCounted: a replica set of one vnode on node 1 takes a joining vnode on
// node 2, which never answers (it does not run): writes at consistency "all" still succeed on
// the one full member, and reads return them.
func TestJoiningReplicaNotCounted(t *testing.T) {
	place := actorstest.NewMemPlacement(meta.Node{ID: 1}, meta.Node{ID: 2})
	place.Replicas = func(int64, int) []uint64 { return []uint64{1} }
	place.AddDatabase(meta.Database{Tenant: meta.DefaultTenant, Name: "db1", ReplicationFactor: 1, ShardCount: 1, BucketDuration: bucketNs, Consistency: "all"})
	nodes := startNodes(t, place, []uint64{1}, nil)
	ctx := context.Background()
	model := map[pt]float64{}
	require.NoError(t, nodes[1].Write(ctx, meta.DefaultTenant, "db1", "cpu", batch(t, "h0", []int64{10}, model)))
	buckets, err := place.BucketsIn(ctx, meta.DefaultTenant, "db1", math.MinInt64, math.MaxInt64)
	require.NoError(t, err)
	b := buckets[0]
	b.ReplicaSets[0].Vnodes = append(append([]meta.Vnode(nil), b.ReplicaSets[0].Vnodes...), meta.Vnode{ID: 999, NodeID: 2, Joining: true})
	place.SetBucket(b)
	require.NoError(t, nodes[1].Write(ctx, meta.DefaultTenant, "db1", "cpu", batch(t, "h0", []int64{20, 30}, model)))
	require.Equal(t, model, scan(t, nodes[1]))

	// the same vnode as a full member: "all" is not met
	b.ReplicaSets[0].Vnodes[1].Joining = false
	place.SetBucket(b)
	require.Error(t, nodes[1].Write(ctx, meta.DefaultTenant, "db1", "cpu", batch(t, "h0", []int64{40}, map[pt]float64{})))
}

// BenchmarkFillVnode fills a joining vnode on node 2 from node 1's replica of one day of 100
// hosts, one point every 10 s, written 1000 points per write (so 864 versions) and flushed: the rate of a
// vnode move's copy between two nodes over loopback, in points per second.
func BenchmarkFillVnode(b *testing.B) {
	const day = int64(24 * time.Hour)
	place := actorstest.NewMemPlacement(meta.Node{ID: 1}, meta.Node{ID: 2})
	place.Replicas = func(int64, int) []uint64 { return []uint64{1} }
	place.AddDatabase(meta.Database{Tenant: meta.DefaultTenant, Name: "db1", ReplicationFactor: 1, ShardCount: 1, BucketDuration: day, Consistency: "one"})
	nodes := startNodes(b, place, []uint64{1, 2}, nil)
	ctx := context.Background()
	points := 0
	for ts := int64(0); ts < day; ts += 100e9 {
		bt := &storage.Batch{}
		for h := range 100 {
			var times []int64
			for k := range 10 {
				times = append(times, ts+int64(k)*10e9)
			}
			bt.Series = append(bt.Series, batch(b, fmt.Sprintf("h%d", h), times, map[pt]float64{}).Series...)
			points += len(times)
		}
		require.NoError(b, nodes[1].Write(ctx, meta.DefaultTenant, "db1", "cpu", bt))
	}
	buckets, err := place.BucketsIn(ctx, meta.DefaultTenant, "db1", math.MinInt64, math.MaxInt64)
	require.NoError(b, err)
	bk := buckets[0]
	require.NoError(b, nodes[1].Flush(ctx)) // the source's data in TSM files, as a settled vnode's
	b.ResetTimer()
	for i := range b.N {
		v := meta.Vnode{ID: 5000 + uint64(i), NodeID: 2, Joining: true}
		rs := bk.ReplicaSets[0]
		rs.Vnodes = append(append([]meta.Vnode(nil), rs.Vnodes...), v)
		rep, err := nodes[1].FillVnode(ctx, bk, rs, rs.Vnodes[0], v, nil)
		require.NoError(b, err)
		require.EqualValues(b, points, rep.PointsCopied)
	}
	b.ReportMetric(float64(points)*float64(b.N)/b.Elapsed().Seconds(), "points/s")
}
