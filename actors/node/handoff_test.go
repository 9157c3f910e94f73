//go:build !race

// Hinted handoff between two nodes with protoactor remote in one process: remote.Start sets the
// process-global gRPC logger, which the race detector always reports
// (research-actors-raft-cnosdb.md §1.9).

package node

import (
	"context"
	"errors"
	"math"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/actors/actorstest"
	"github.com/chronogo/chronogo/actors/coordinator"
	"github.com/chronogo/chronogo/actors/handoff"
	"github.com/chronogo/chronogo/actors/vnode"
	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/engine"
	"github.com/chronogo/chronogo/storage/index"
)

// freeAddr is a loopback address with a port that was free a moment ago (a node that restarts
// must come back on the same address).
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// hintNodes are two nodes on fixed addresses and data dirs, which tests stop and start again.
type hintNodes struct {
	place *actorstest.MemPlacement
	dirs  [3]string
	addrs [3]string
	nodes [3]*Node
}

func newHintNodes(t *testing.T, consistency string, replicas func(int64, int) []uint64) *hintNodes {
	h := &hintNodes{place: actorstest.NewMemPlacement(meta.Node{ID: 1}, meta.Node{ID: 2})}
	h.place.Replicas = replicas
	rf := 2
	if replicas != nil {
		rf = len(replicas(0, 0))
	}
	h.place.AddDatabase(meta.Database{Tenant: meta.DefaultTenant, Name: "db1", ReplicationFactor: rf, ShardCount: 2, BucketDuration: 1000, Consistency: consistency})
	for id := 1; id <= 2; id++ {
		h.dirs[id], h.addrs[id] = t.TempDir(), freeAddr(t)
		h.place.SetNode(meta.Node{ID: uint64(id), ActorAddr: h.addrs[id]})
	}
	t.Cleanup(func() {
		for id := 1; id <= 2; id++ {
			h.stop(t, id)
		}
	})
	return h
}

func (h *hintNodes) start(t *testing.T, id int) *Node {
	t.Helper()
	n, err := Start(Config{NodeID: uint64(id), DataDir: h.dirs[id], ActorAddr: h.addrs[id], Placement: h.place, Logger: actorstest.QuietLogger(),
		ReplicaTimeout: time.Second, Handoff: handoff.Config{MinBackoff: 50 * time.Millisecond, MaxBackoff: 300 * time.Millisecond, ReplayTimeout: time.Second}})
	require.NoError(t, err)
	require.Equal(t, h.addrs[id], n.Address())
	h.nodes[id] = n
	return n
}

func (h *hintNodes) stop(t *testing.T, id int) {
	t.Helper()
	if h.nodes[id] != nil {
		require.NoError(t, h.nodes[id].Stop(context.Background()))
		h.nodes[id] = nil
	}
}

// queued is the number of hints node id holds for node target.
func (h *hintNodes) queued(id int, target uint64) int {
	for _, s := range h.nodes[id].HandoffStats() {
		if s.Node == target {
			return s.Hints
		}
	}
	return 0
}

// localPoints reads the replicas placed on node n directly from its vnodes (not through the
// coordinator, which may read another node's replica).
func (h *hintNodes) localPoints(t *testing.T, n *Node) map[pt]float64 {
	t.Helper()
	ctx := context.Background()
	buckets, err := h.place.BucketsIn(ctx, meta.DefaultTenant, "db1", math.MinInt64, math.MaxInt64)
	require.NoError(t, err)
	out := map[pt]float64{}
	for _, b := range buckets {
		for _, rs := range b.ReplicaSets {
			for _, v := range rs.Vnodes {
				if v.NodeID != n.cfg.NodeID {
					continue
				}
				spec := vnode.Spec{Tenant: meta.DefaultTenant, DB: "db1", BucketID: b.ID, ReplicaSetID: rs.ID, VnodeID: v.ID}
				res, err := n.sys.Root.RequestFuture(n.manager, &vnode.Forward{Spec: spec, Msg: &vnode.GetSnapshot{}}, 5*time.Second).Result()
				require.NoError(t, err)
				snap, ok := res.(*engine.Snapshot)
				require.True(t, ok, "got %T", res)
				err = snap.Scan(engine.ScanQuery{Table: "cpu", MinTime: math.MinInt64, MaxTime: math.MaxInt64}, func(col *engine.ScanColumn) error {
					k, _ := snap.SeriesKey(col.Series)
					host, _ := k.Tag("host")
					for i, ts := range col.Points.Times {
						out[pt{string(host.Raw), ts}] = col.Points.Values.Floats[i]
					}
					return nil
				})
				snap.Release()
				require.NoError(t, err)
			}
		}
	}
	return out
}

// TestHintedHandoff: writes acknowledged while node 2 is down are hinted on node 1 and reach node
// 2's own replicas once it is back, also when node 1 restarted in between.
func TestHintedHandoff(t *testing.T) {
	cases := []struct {
		name          string
		consistency   string
		replicas      func(int64, int) []uint64 // nil: one replica on each node
		restartHinter bool
	}{
		{name: "one", consistency: "one"},
		{name: "any, only replicas on node 2", consistency: "any", replicas: func(int64, int) []uint64 { return []uint64{2} }},
		{name: "one, hinting node restarts", consistency: "one", restartHinter: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			h := newHintNodes(t, tc.consistency, tc.replicas)
			n1 := h.start(t, 1)
			h.start(t, 2)
			model := map[pt]float64{}
			require.NoError(t, n1.Write(ctx, meta.DefaultTenant, "db1", "cpu", batch(t, "before", []int64{1, 1001}, model)))
			// level one answers after the first ack: let node 2's replica get it before it stops
			require.Eventually(t, func() bool { return len(h.localPoints(t, h.nodes[2])) == len(model) }, 5*time.Second, 10*time.Millisecond)
			require.Zero(t, h.queued(1, 2))

			h.stop(t, 2)
			for i, host := range []string{"a", "b", "c", "d", "e"} {
				require.NoError(t, n1.Write(ctx, meta.DefaultTenant, "db1", "cpu", batch(t, host, []int64{int64(10 + i), int64(1500 + i)}, model)))
			}
			// overwrite a point written before the outage: the hint must win (newer version)
			require.NoError(t, n1.Write(ctx, meta.DefaultTenant, "db1", "cpu", batchValue(t, "before", 1, 99.5, model)))
			// one hint per batch and bucket (the single series of a batch is in one replica set);
			// a met write may be answered before its hint is stored
			const hints = 5*2 + 1
			require.Eventually(t, func() bool { return h.queued(1, 2) == hints }, 10*time.Second, 10*time.Millisecond,
				"writes for node 2 are hinted")

			if tc.restartHinter {
				h.stop(t, 1)
				n1 = h.start(t, 1)
				require.Eventually(t, func() bool { return h.queued(1, 2) == hints }, 5*time.Second, 10*time.Millisecond,
					"the queue is found on disk after a restart")
			}

			n2 := h.start(t, 2)
			require.Eventually(t, func() bool { return h.queued(1, 2) == 0 }, 15*time.Second, 20*time.Millisecond, "the queue drains")
			require.Equal(t, model, h.localPoints(t, n2), "node 2's replicas hold every point")
			if tc.replicas == nil {
				require.Equal(t, model, h.localPoints(t, n1))
			}
			s := n1.HandoffStats()
			require.Len(t, s, 1)
			require.Zero(t, s[0].Skipped)
			require.Zero(t, s[0].Bytes)
		})
	}
}

// TestHintedHandoffOneFailsWithoutReplica: level one with every replica on the stopped node
// fails (a hint does not count), but the hint still brings the data to node 2.
func TestHintedHandoffOneFailsWithoutReplica(t *testing.T) {
	ctx := context.Background()
	h := newHintNodes(t, "one", func(int64, int) []uint64 { return []uint64{2} })
	n1 := h.start(t, 1)
	h.start(t, 2)
	h.stop(t, 2)
	model := map[pt]float64{}
	err := n1.Write(ctx, meta.DefaultTenant, "db1", "cpu", batch(t, "a", []int64{1, 2}, model))
	var pe *coordinator.PartialWriteError
	require.True(t, errors.As(err, &pe), "got %v", err)
	require.Equal(t, 1, pe.Failed[0].Hinted)
	require.Equal(t, 1, h.queued(1, 2))
	n2 := h.start(t, 2)
	require.Eventually(t, func() bool { return h.queued(1, 2) == 0 }, 15*time.Second, 20*time.Millisecond)
	require.Equal(t, model, h.localPoints(t, n2))
}

// batchValue is cpu,host=<host> usage=<v> at ts.
func batchValue(t *testing.T, host string, ts int64, v float64, model map[pt]float64) *storage.Batch {
	b := batch(t, host, []int64{ts}, map[pt]float64{})
	b.Series[0].Fields[0].Values.Floats[0] = v
	model[pt{host, ts}] = v
	return b
}

// TestHintedDelete is issue #14's delete through node loss: with node 2 down, a delete succeeds
// (node 2's replicas get it as a hint), and once node 2 is back its replicas hide exactly what
// the delete hid, while a write made after the delete stays.
func TestHintedDelete(t *testing.T) {
	ctx := context.Background()
	h := newHintNodes(t, "one", nil)
	n1 := h.start(t, 1)
	h.start(t, 2)
	model := map[pt]float64{}
	require.NoError(t, n1.Write(ctx, meta.DefaultTenant, "db1", "cpu", batch(t, "a", []int64{1, 2, 1001, 1002}, model)))
	require.NoError(t, n1.Write(ctx, meta.DefaultTenant, "db1", "cpu", batch(t, "b", []int64{3, 1003}, model)))
	require.Eventually(t, func() bool { return len(h.localPoints(t, h.nodes[2])) == len(model) }, 5*time.Second, 10*time.Millisecond)

	h.stop(t, 2)
	filter := index.Match{Key: "host", Op: index.OpIn, Values: []storage.TagValue{storage.StringTag("a")}}
	require.NoError(t, n1.Delete(ctx, meta.DefaultTenant, "db1", "cpu", filter, 0, 1001), "delete with a replica down")
	delete(model, pt{"a", 1})
	delete(model, pt{"a", 2})
	delete(model, pt{"a", 1001})
	require.NoError(t, n1.Write(ctx, meta.DefaultTenant, "db1", "cpu", batch(t, "a", []int64{2}, model)), "a write after the delete")
	require.Eventually(t, func() bool { return h.queued(1, 2) >= 3 }, 10*time.Second, 10*time.Millisecond,
		"the delete is hinted for node 2's two replicas, then the write")
	require.Equal(t, model, h.localPoints(t, n1))

	n2 := h.start(t, 2)
	require.Eventually(t, func() bool { return h.queued(1, 2) == 0 }, 15*time.Second, 20*time.Millisecond, "the queue drains")
	require.Equal(t, model, h.localPoints(t, n2), "node 2's replicas converge: deleted points gone, the later write kept")
	require.Zero(t, n1.HandoffStats()[0].Skipped)
}

// TestHintedRename: with node 2 down, renaming host a to host z (updateMany of the meta field)
// succeeds, and node 2's replicas converge once it is back.
func TestHintedRename(t *testing.T) {
	ctx := context.Background()
	h := newHintNodes(t, "one", nil)
	n1 := h.start(t, 1)
	h.start(t, 2)
	model := map[pt]float64{}
	require.NoError(t, n1.Write(ctx, meta.DefaultTenant, "db1", "cpu", batch(t, "a", []int64{1, 1001}, model)))
	require.NoError(t, n1.Write(ctx, meta.DefaultTenant, "db1", "cpu", batch(t, "b", []int64{2}, model)))
	require.Eventually(t, func() bool { return len(h.localPoints(t, h.nodes[2])) == len(model) }, 5*time.Second, 10*time.Millisecond)

	h.stop(t, 2)
	filter := index.Match{Key: "host", Op: index.OpIn, Values: []storage.TagValue{storage.StringTag("a")}}
	upd := &storage.TagUpdate{Ops: []storage.TagOp{{Path: "host", Tags: []storage.Tag{{Key: "host", Value: storage.StringTag("z")}}}}}
	_, err := n1.Rename(ctx, meta.DefaultTenant, "db1", "cpu", filter, upd)
	require.NoError(t, err, "rename with a replica down")
	for _, ts := range []int64{1, 1001} {
		model[pt{"z", ts}] = model[pt{"a", ts}]
		delete(model, pt{"a", ts})
	}
	require.Equal(t, model, h.localPoints(t, n1))
	require.Eventually(t, func() bool { return h.queued(1, 2) > 0 }, 10*time.Second, 10*time.Millisecond, "the rename is hinted")

	n2 := h.start(t, 2)
	require.Eventually(t, func() bool { return h.queued(1, 2) == 0 }, 15*time.Second, 20*time.Millisecond, "the queue drains")
	require.Equal(t, model, h.localPoints(t, n2), "node 2's replicas converge")
	require.Zero(t, n1.HandoffStats()[0].Skipped)
}
