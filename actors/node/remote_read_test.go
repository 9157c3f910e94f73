//go:build !race

// Several nodes with protoactor remote in one process: remote.Start sets the process-global gRPC
// logger, which the race detector always reports (research-actors-raft-cnosdb.md §1.9).

package node

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/actors"
	"github.com/chronogo/chronogo/actors/actorstest"
	"github.com/chronogo/chronogo/actors/coordinator"
	"github.com/chronogo/chronogo/actors/reader"
	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/engine"
	"github.com/chronogo/chronogo/storage/index"
)

const bucketNs = 1000

// startNodes starts nodes with remote on 127.0.0.1:0 over one placement; tune adjusts each config.
func startNodes(t testing.TB, place *actorstest.MemPlacement, ids []uint64, tune func(*Config)) map[uint64]*Node {
	t.Helper()
	nodes := map[uint64]*Node{}
	for _, id := range ids {
		cfg := Config{NodeID: id, DataDir: t.TempDir(), ActorAddr: "127.0.0.1:0", Placement: place, Logger: actorstest.QuietLogger(), ScanChunkBytes: 256}
		if tune != nil {
			tune(&cfg)
		}
		n, err := Start(cfg)
		require.NoError(t, err)
		t.Cleanup(func() { _ = n.Stop(context.Background()) })
		place.SetNode(meta.Node{ID: id, ActorAddr: n.Address()})
		nodes[id] = n
	}
	return nodes
}

// restart starts a stopped node again on its address and data directory, and stops it only after
// its peers: a peer that sent to it while it was down then reconnects at its next retry (within
// 2 s) instead of waiting in Stop for its endpoint writer to give up (about 10 s).
func restart(t *testing.T, n *Node, peers ...*Node) *Node {
	t.Helper()
	cfg := n.cfg
	cfg.ActorAddr = n.Address()
	n2, err := Start(cfg)
	require.NoError(t, err)
	t.Cleanup(func() {
		for _, p := range peers {
			_ = p.Stop(context.Background())
		}
		_ = n2.Stop(context.Background())
	})
	require.Equal(t, n.Address(), n2.Address())
	return n2
}

// writeHosts writes hosts h0..h<hosts-1> with points every 20 ns in [0, 4*bucketNs) through n.
func writeHosts(t *testing.T, n *Node, hosts int, model map[pt]float64) {
	t.Helper()
	var times []int64
	for ts := int64(0); ts < 4*bucketNs; ts += 20 {
		times = append(times, ts)
	}
	for h := range hosts {
		require.NoError(t, n.Write(context.Background(), meta.DefaultTenant, "db1", "cpu", batch(t, fmt.Sprintf("h%d", h), times, model)))
	}
}

// readerOpened is how many cursors n's reader opened for other nodes.
func readerOpened(t *testing.T, n *Node) uint64 {
	res, err := n.sys.Root.RequestFuture(n.reader, &reader.Stats{}, 5*time.Second).Result()
	require.NoError(t, err)
	return res.(*reader.StatsReply).Opened
}

// win is one aggregate window of one host.
type win struct {
	host  string
	start int64
}

type aggWant struct {
	count         int64
	sum, min, max float64
	lastTime      int64
	last          float64
}

// aggregate merges the per-bucket partial aggregates of usage per (host, window).
func aggregate(t *testing.T, n *Node, q engine.AggQuery) map[win]aggWant {
	t.Helper()
	out := map[win]aggWant{}
	q.Fields = []string{"usage"}
	err := n.Aggregate(context.Background(), meta.DefaultTenant, "db1", "cpu", q, func(src coordinator.Source, r *engine.AggResult) error {
		k, ok := src.SeriesKey(r.Series)
		require.True(t, ok)
		h, _ := k.Tag("host")
		w := win{string(h.Raw), r.Start}
		a, seen := out[w]
		if !seen {
			a = aggWant{min: math.Inf(1), max: math.Inf(-1), lastTime: math.MinInt64}
		}
		a.count += r.Count
		a.sum += r.FSum
		a.min, a.max = min(a.min, r.FMin), max(a.max, r.FMax)
		if r.LastTime > a.lastTime {
			a.lastTime, a.last = r.LastTime, r.FLast
		}
		out[w] = a
		return nil
	})
	require.NoError(t, err)
	return out
}

// wantAggregate computes aggregate's answer from the model.
func wantAggregate(model map[pt]float64, window int64, lastOnly bool) map[win]aggWant {
	out := map[win]aggWant{}
	for p, v := range model {
		w := win{p.host, 0}
		if window > 0 {
			w.start = storage.FloorDiv(p.ts, window) * window
		}
		a, seen := out[w]
		if !seen {
			a = aggWant{min: math.Inf(1), max: math.Inf(-1), lastTime: math.MinInt64}
		}
		a.count++
		a.sum += v
		a.min, a.max = min(a.min, v), max(a.max, v)
		if p.ts > a.lastTime {
			a.lastTime, a.last = p.ts, v
		}
		out[w] = a
	}
	if lastOnly {
		for w, a := range out {
			out[w] = aggWant{lastTime: a.lastTime, last: a.last}
		}
	}
	return out
}

// lastOnly reads the newest usage point of every host (one per bucket, merged).
func lastOnly(t *testing.T, n *Node) map[win]aggWant {
	t.Helper()
	out := map[win]aggWant{}
	err := n.Aggregate(context.Background(), meta.DefaultTenant, "db1", "cpu", engine.AggQuery{
		ScanQuery: engine.ScanQuery{MinTime: math.MinInt64, MaxTime: math.MaxInt64, Fields: []string{"usage"}}, LastOnly: true},
		func(src coordinator.Source, r *engine.AggResult) error {
			k, ok := src.SeriesKey(r.Series)
			require.True(t, ok)
			h, _ := k.Tag("host")
			w := win{string(h.Raw), 0}
			if a, seen := out[w]; !seen || r.LastTime > a.lastTime {
				out[w] = aggWant{lastTime: r.LastTime, last: r.FLast}
			}
			return nil
		})
	require.NoError(t, err)
	return out
}

// alternate places each replica set on one node, alternating over buckets and replica sets, so
// each node holds about half the data.
func alternate(start int64, rs int) []uint64 {
	return []uint64{uint64((start/bucketNs+int64(rs))%2) + 1}
}

// TestRemoteReadRF1: with one replica per replica set spread over two nodes, either node reads
// everything (scan, windowed aggregate, LastOnly), fetching the other node's part over remote
// in many small chunks.
func TestRemoteReadRF1(t *testing.T) {
	place := actorstest.NewMemPlacement(meta.Node{ID: 1}, meta.Node{ID: 2})
	place.Replicas = alternate
	place.AddDatabase(meta.Database{Tenant: meta.DefaultTenant, Name: "db1", ReplicationFactor: 1, ShardCount: 2, BucketDuration: bucketNs, Consistency: "one"})
	nodes := startNodes(t, place, []uint64{1, 2}, nil)

	model := map[pt]float64{}
	writeHosts(t, nodes[1], 6, model)
	require.Len(t, model, 6*200)

	on := map[uint64]int{}
	buckets, err := place.BucketsIn(context.Background(), meta.DefaultTenant, "db1", math.MinInt64, math.MaxInt64)
	require.NoError(t, err)
	require.Len(t, buckets, 4)
	for _, b := range buckets {
		for _, rs := range b.ReplicaSets {
			require.Len(t, rs.Vnodes, 1)
			on[rs.Vnodes[0].NodeID]++
		}
	}
	require.Equal(t, map[uint64]int{1: 4, 2: 4}, on)

	for _, id := range []uint64{1, 2} {
		n, other := nodes[id], nodes[3-id]
		before := readerOpened(t, other)
		require.Equal(t, model, scan(t, n), "scan through node %d", id)
		require.Equal(t, uint64(4), readerOpened(t, other)-before, "node %d read the other node's 4 replica sets remotely", id)

		for _, w := range []int64{0, 300, 1000} {
			got := aggregate(t, n, engine.AggQuery{ScanQuery: engine.ScanQuery{MinTime: math.MinInt64, MaxTime: math.MaxInt64}, Window: w})
			want := wantAggregate(model, w, false)
			if w == 0 {
				// window 0: one window per bucket, starting at MinTime; merged per host
				got = mergeStarts(got)
			}
			require.Equal(t, want, got, "aggregate window %d through node %d", w, id)
		}
		require.Equal(t, wantAggregate(model, 0, true), lastOnly(t, n), "last only through node %d", id)
		require.Equal(t, presenceWindows(wantAggregate(model, 300, false)), presence(t, n, 300), "presence marks through node %d", id)
	}
}

// presence reads the windows where each host has usage points as presence marks (ValueFields
// names another field), checking that each is a bare mark.
func presence(t *testing.T, n *Node, window int64) map[win]bool {
	t.Helper()
	out := map[win]bool{}
	q := engine.AggQuery{ScanQuery: engine.ScanQuery{MinTime: math.MinInt64, MaxTime: math.MaxInt64}, Window: window, ValueFields: []string{"other"}}
	err := n.Aggregate(context.Background(), meta.DefaultTenant, "db1", "cpu", q, func(src coordinator.Source, r *engine.AggResult) error {
		k, ok := src.SeriesKey(r.Series)
		require.True(t, ok)
		h, _ := k.Tag("host")
		require.Equal(t, engine.AggResult{Series: r.Series, Field: "usage", Type: r.Type, Start: r.Start, Count: 1}, *r, "a presence mark")
		out[win{string(h.Raw), r.Start}] = true
		return nil
	})
	require.NoError(t, err)
	return out
}

// presenceWindows is the set of windows of a model aggregate.
func presenceWindows(in map[win]aggWant) map[win]bool {
	out := map[win]bool{}
	for w := range in {
		out[w] = true
	}
	return out
}

// mergeStarts folds the windows of a host into one (start 0).
func mergeStarts(in map[win]aggWant) map[win]aggWant {
	out := map[win]aggWant{}
	for w, a := range in {
		k := win{w.host, 0}
		b, seen := out[k]
		if !seen {
			out[k] = a
			continue
		}
		b.count += a.count
		b.sum += a.sum
		b.min, b.max = min(b.min, a.min), max(b.max, a.max)
		if a.lastTime > b.lastTime {
			b.lastTime, b.last = a.lastTime, a.last
		}
		out[k] = b
	}
	return out
}

// TestRemoteReadFailover: with two replicas per replica set on three nodes, stopping one node
// leaves every replica set readable through the two others. Hedging is off (a delay longer than
// the replica timeout), so replica sets whose preferred replica is on the stopped node fail over
// after the replica timeout.
func TestRemoteReadFailover(t *testing.T) {
	place := actorstest.NewMemPlacement(meta.Node{ID: 1}, meta.Node{ID: 2}, meta.Node{ID: 3})
	place.Replicas = func(start int64, rs int) []uint64 {
		k := (start/bucketNs*2 + int64(rs)) % 3
		return []uint64{uint64(k) + 1, uint64((k+1)%3) + 1}
	}
	place.AddDatabase(meta.Database{Tenant: meta.DefaultTenant, Name: "db1", ReplicationFactor: 2, ShardCount: 2, BucketDuration: bucketNs, Consistency: "all"})
	nodes := startNodes(t, place, []uint64{1, 2, 3}, func(c *Config) {
		c.ReplicaTimeout, c.HedgeDelay = 500*time.Millisecond, time.Minute
	})
	model := map[pt]float64{}
	writeHosts(t, nodes[1], 4, model)
	require.Equal(t, model, scan(t, nodes[1]))

	require.NoError(t, nodes[2].Stop(context.Background()))
	for _, id := range []uint64{1, 3} {
		require.Equal(t, model, scan(t, nodes[id]), "scan through node %d with node 2 down", id)
		got := aggregate(t, nodes[id], engine.AggQuery{ScanQuery: engine.ScanQuery{MinTime: math.MinInt64, MaxTime: math.MaxInt64}, Window: 250})
		require.Equal(t, wantAggregate(model, 250, false), got, "aggregate through node %d with node 2 down", id)
	}
	n2 := restart(t, nodes[2], nodes[1], nodes[3])
	require.Equal(t, model, scan(t, n2), "node 2 is back")
}

// blackHoleReader runs an actor system with remote whose "reader" takes requests and never
// answers: a replica that is alive but slow. It counts the requests.
func blackHoleReader(t *testing.T) (addr string, requests *atomic.Int64) {
	t.Helper()
	requests = new(atomic.Int64)
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return newSlogLogger(actorstest.QuietLogger()) }))
	r := remote.NewRemote(sys, remote.Configure("127.0.0.1", 0))
	r.Start()
	_, err := sys.Root.SpawnNamed(actor.PropsFromFunc(func(ctx actor.Context) {
		if _, ok := ctx.Message().(actor.SystemMessage); !ok {
			requests.Add(1)
		}
	}), actors.ReaderName)
	require.NoError(t, err)
	t.Cleanup(func() {
		r.Shutdown(true)
		sys.Shutdown()
	})
	return sys.Address(), requests
}

// TestRemoteReadHedged: every replica set's preferred replica never answers; the hedged request
// to the second replica answers, so the read takes about one hedge delay per replica set instead
// of the replica timeout.
func TestRemoteReadHedged(t *testing.T) {
	addr, requests := blackHoleReader(t)
	place := actorstest.NewMemPlacement(meta.Node{ID: 1}, meta.Node{ID: 2}, meta.Node{ID: 3, ActorAddr: addr})
	place.Replicas = func(int64, int) []uint64 { return []uint64{3, 2} }
	place.AddDatabase(meta.Database{Tenant: meta.DefaultTenant, Name: "db1", ReplicationFactor: 2, ShardCount: 2, BucketDuration: bucketNs, Consistency: "one"})
	const replicaTimeout = 1500 * time.Millisecond
	nodes := startNodes(t, place, []uint64{1, 2}, func(c *Config) {
		c.ReplicaTimeout, c.RequestTimeout, c.HedgeDelay = replicaTimeout, 20*time.Second, 30*time.Millisecond
	})
	model := map[pt]float64{}
	writeHosts(t, nodes[1], 3, model)

	began := time.Now()
	require.Equal(t, model, scan(t, nodes[1]))
	took := time.Since(began)
	require.Less(t, took, replicaTimeout, "8 replica sets, each hedged after 30 ms")
	require.Equal(t, int64(8), requests.Load(), "the slow replica got every opening request")

	began = time.Now()
	got := aggregate(t, nodes[1], engine.AggQuery{ScanQuery: engine.ScanQuery{MinTime: math.MinInt64, MaxTime: math.MaxInt64}, Window: 500})
	require.Equal(t, wantAggregate(model, 500, false), got)
	require.Less(t, time.Since(began), replicaTimeout)
}

// TestRemoteAdmin: Delete, ExpireBefore and DropTable through node 1 reach node 2's replicas.
func TestRemoteAdmin(t *testing.T) {
	ctx := context.Background()
	place := actorstest.NewMemPlacement(meta.Node{ID: 1}, meta.Node{ID: 2})
	place.Replicas = alternate
	place.AddDatabase(meta.Database{Tenant: meta.DefaultTenant, Name: "db1", ReplicationFactor: 1, ShardCount: 2, BucketDuration: bucketNs, Consistency: "one"})
	nodes := startNodes(t, place, []uint64{1, 2}, nil)
	model := map[pt]float64{}
	writeHosts(t, nodes[2], 4, model)

	filter := index.Match{Key: "host", Op: index.OpIn, Values: []storage.TagValue{storage.StringTag("h1"), storage.StringTag("h2")}}
	require.NoError(t, nodes[1].Delete(ctx, meta.DefaultTenant, "db1", "cpu", filter, 500, 2500))
	for p := range model {
		if (p.host == "h1" || p.host == "h2") && p.ts >= 500 && p.ts <= 2500 {
			delete(model, p)
		}
	}
	require.Equal(t, model, scan(t, nodes[2]), "node 2 sees the delete on its own and node 1's replicas")

	require.NoError(t, nodes[1].ExpireBefore(ctx, meta.DefaultTenant, "db1", 1300))
	for p := range model {
		if p.ts < 1300 {
			delete(model, p)
		}
	}
	require.NotEmpty(t, model)
	require.Equal(t, model, scan(t, nodes[2]))
	require.Equal(t, model, scan(t, nodes[1]))

	require.NoError(t, nodes[1].DropTable(ctx, meta.DefaultTenant, "db1", "cpu"))
	require.Empty(t, scan(t, nodes[2]))
	require.Empty(t, scan(t, nodes[1]))

	// a replica that cannot be reached fails the request, naming vnode and node
	require.NoError(t, nodes[2].Stop(ctx))
	dctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	err := nodes[1].DropTable(dctx, meta.DefaultTenant, "db1", "cpu")
	require.Error(t, err)
	require.Contains(t, err.Error(), "on node 2")
	require.NotContains(t, err.Error(), "on node 1")
	restart(t, nodes[2], nodes[1])
}
