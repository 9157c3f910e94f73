//go:build !race

package node

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/actors"
	"github.com/chronogo/chronogo/actors/actorstest"
	"github.com/chronogo/chronogo/actors/coordinator"
	"github.com/chronogo/chronogo/actors/liveness"
	"github.com/chronogo/chronogo/meta"
)

// reports records what the liveness watchers tell meta.
type reports struct {
	mu  sync.Mutex
	got []string
}

func (r *reports) add(_ context.Context, id uint64, down bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	state := "up"
	if down {
		state = "down"
	}
	r.got = append(r.got, string(rune('0'+id))+" "+state)
	return nil
}

func (r *reports) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.got...)
}

// peerUp reports whether n sees peer id, and up.
func peerUp(n *Node, id uint64) (known, up bool) {
	for _, p := range n.Peers() {
		if p.ID == id {
			return true, p.Up
		}
	}
	return false, false
}

// TestPeersWatched is issue #14's supervision across nodes: every node watches its peers. A peer
// that stops is seen down at once (its watch ends: far sooner than the three missed probes of a
// second each that a silent peer needs), reported to meta, and writes to its replicas are hinted
// at once instead of waiting for the replica timeout; when it starts again it is seen up and
// reported, and its clock, ten minutes ahead, moves the others' clocks through the probes alone.
// A peer whose address answers nothing is down after three missed probes.
func TestPeersWatched(t *testing.T) {
	ctx := context.Background()
	place := actorstest.NewMemPlacement(meta.Node{ID: 1}, meta.Node{ID: 2}, meta.Node{ID: 3})
	place.AddDatabase(meta.Database{Tenant: meta.DefaultTenant, Name: "db1", ReplicationFactor: 3, ShardCount: 1, BucketDuration: 1000, Consistency: "all"})
	rep := &reports{}
	tune := func(c *Config) {
		c.Peers, c.ReportPeer = place.Nodes, rep.add
		c.Liveness = liveness.Config{Interval: time.Second, ProbeTimeout: 500 * time.Millisecond}
		c.ReplicaTimeout = 5 * time.Second
	}
	nodes := startNodes(t, place, []uint64{1, 2, 3}, tune)
	for _, id := range []uint64{2, 3} {
		require.Eventually(t, func() bool { known, up := peerUp(nodes[1], id); return known && up }, 5*time.Second, 20*time.Millisecond)
	}
	// the watch is set up after the first answered probe
	time.Sleep(1500 * time.Millisecond)

	stopped := time.Now()
	require.NoError(t, nodes[3].Stop(ctx))
	require.Eventually(t, func() bool { _, up := peerUp(nodes[1], 3); return !up }, 2*time.Second, 10*time.Millisecond,
		"a stopped peer is seen down by its watch")
	t.Logf("node 3 seen down %v after it stopped", time.Since(stopped))
	require.Eventually(t, func() bool {
		for _, r := range rep.list() {
			if r == "3 down" {
				return true
			}
		}
		return false
	}, 2*time.Second, 10*time.Millisecond, "reported to meta")

	// level all with a replica on a node seen down: the write fails at once with its replica hinted
	began := time.Now()
	err := nodes[1].Write(ctx, meta.DefaultTenant, "db1", "cpu", batch(t, "a", []int64{1}, map[pt]float64{}))
	var pe *coordinator.PartialWriteError
	require.True(t, errors.As(err, &pe), "got %v", err)
	require.Equal(t, 1, pe.Failed[0].Hinted)
	require.ErrorIs(t, err, coordinator.ErrPeerDown)
	require.Less(t, time.Since(began), 2*time.Second, "not sent to the down node (the replica timeout is 5 s)")

	// node 3 comes back with a clock ten minutes ahead
	cfg := nodes[3].cfg
	cfg.ActorAddr = nodes[3].Address()
	ahead := func() time.Time { return time.Now().Add(10 * time.Minute) }
	cfg.Clock = actors.NewHLC(ahead)
	n3, err := Start(cfg)
	require.NoError(t, err)
	t.Cleanup(func() {
		for i, n := range []*Node{nodes[1], nodes[2], n3} {
			began := time.Now()
			_ = n.Stop(ctx)
			t.Logf("node %d stopped in %v", i+1, time.Since(began))
		}
	})
	require.Eventually(t, func() bool { _, up := peerUp(nodes[1], 3); return up }, 10*time.Second, 20*time.Millisecond, "seen up again")
	require.Eventually(t, func() bool {
		return nodes[2].cfg.Clock.Now()>>actors.HLCLogicalBits > uint64(ahead().Add(-time.Minute).UnixMilli())
	}, 5*time.Second, 20*time.Millisecond, "node 2's clock moved past node 3's through the probes")
	require.Contains(t, rep.list(), "3 up")

	// a peer whose address answers nothing: down after three missed probes
	place.SetNode(meta.Node{ID: 4, ActorAddr: "127.0.0.1:1"})
	require.Eventually(t, func() bool { known, up := peerUp(nodes[1], 4); return known && !up }, 10*time.Second, 20*time.Millisecond)
	require.Contains(t, rep.list(), "4 down")
	t.Logf("test body done")
}
