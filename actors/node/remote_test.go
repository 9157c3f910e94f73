//go:build !race

// Two nodes with protoactor remote in one process: remote.Start sets the process-global gRPC
// logger, which the race detector always reports (research-actors-raft-cnosdb.md §1.9).

package node

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/actors/actorstest"
	"github.com/chronogo/chronogo/meta"
)

// TestNodeRemoteReplica writes through node 1 to replica sets with a replica on each node: node
// 2's replicas get their WriteBatch over protoactor remote, in envelopes, and answer in envelopes.
func TestNodeRemoteReplica(t *testing.T) {
	ctx := context.Background()
	place := actorstest.NewMemPlacement(meta.Node{ID: 1}, meta.Node{ID: 2})
	place.AddDatabase(meta.Database{Tenant: meta.DefaultTenant, Name: "db1", ReplicationFactor: 2, ShardCount: 1, BucketDuration: 1000, Consistency: "all"})
	start := func(id uint64) *Node {
		n, err := Start(Config{NodeID: id, DataDir: t.TempDir(), ActorAddr: "127.0.0.1:0", Placement: place, Logger: actorstest.QuietLogger()})
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, n.Stop(ctx)) })
		place.SetNode(meta.Node{ID: id, ActorAddr: n.Address()})
		return n
	}
	n1, n2 := start(1), start(2)
	require.NotEqual(t, n1.Address(), n2.Address())

	model := map[pt]float64{}
	require.NoError(t, n1.Write(ctx, meta.DefaultTenant, "db1", "cpu", batch(t, "a", []int64{1, 2, 1001}, model)))
	require.NoError(t, n1.Write(ctx, meta.DefaultTenant, "db1", "cpu", batch(t, "b", []int64{3}, model)))

	for _, n := range []*Node{n1, n2} {
		stats, err := n.Stats(ctx)
		require.NoError(t, err)
		require.Len(t, stats, 2, "one replica of each bucket on each node")
		var writes uint64
		for _, s := range stats {
			writes += s.GetWrites()
		}
		require.Equal(t, uint64(3), writes, "node %s", n.Address())
		require.Equal(t, model, scan(t, n), "each node reads its own replicas")
	}
}
