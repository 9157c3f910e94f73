package coordinator

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/actors"
	"github.com/chronogo/chronogo/actors/actorstest"
	"github.com/chronogo/chronogo/actors/handoff"
	"github.com/chronogo/chronogo/actors/vnode"
	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/storage"
)

// hintedCluster is startCluster with a handoff manager (hints for node 2, which nobody serves,
// are stored and never replayed during the test).
type hintedCluster struct {
	*cluster
	handoff *handoff.Handoff
	dir     string
}

func startHintedCluster(t *testing.T, nodeIDs []uint64, db meta.Database, maxBytes int64) *hintedCluster {
	t.Helper()
	log := logrus.New()
	log.SetOutput(io.Discard)
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }))
	mgr, err := sys.Root.SpawnNamed(vnode.ManagerProps(vnode.Config{Root: t.TempDir(), Logger: log}), actors.ManagerName)
	require.NoError(t, err)
	place := actorstest.NewMemPlacement(meta.Node{ID: localID}, meta.Node{ID: remoteID, ActorAddr: "127.0.0.1:1"})
	place.NodeIDs = nodeIDs
	db.Tenant, db.Name = tenant, dbName
	place.AddDatabase(db)
	dir := t.TempDir()
	h, err := handoff.Spawn(sys, handoff.Config{Dir: dir, NodeID: localID, LocalManager: mgr, Placement: place, MaxBytes: maxBytes,
		MinBackoff: time.Hour, Logger: log})
	require.NoError(t, err)
	client, err := Spawn(sys, Config{NodeID: localID, Placement: place, Manager: mgr, Handoff: h.PID(), ReplicaTimeout: time.Second, Logger: log})
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, client.Stop())
		require.NoError(t, h.Stop())
		require.NoError(t, sys.Root.StopFuture(mgr).Wait())
		sys.Shutdown()
	})
	return &hintedCluster{cluster: &cluster{sys: sys, mgr: mgr, client: client, place: place}, handoff: h, dir: dir}
}

// hintsFor is the number of hints queued for node.
func (c *hintedCluster) hintsFor(node uint64) int {
	for _, s := range c.handoff.Stats() {
		if s.Node == node {
			return s.Hints
		}
	}
	return 0
}

// TestWriteHints: replicas on the unreachable node 2 are hinted; hints count toward Any only.
func TestWriteHints(t *testing.T) {
	const sets = 4 // 2 buckets x 2 replica sets
	cases := []struct {
		name     string
		level    string
		nodes    []uint64
		maxBytes int64
		// want
		partial   bool
		hints     int // queued for node 2
		hinted    int // per failed replica set
		localData bool
	}{
		{name: "one, a replica here", level: "one", nodes: []uint64{localID, remoteID}, hints: sets, localData: true},
		{name: "all, a replica here", level: "all", nodes: []uint64{localID, remoteID}, partial: true, hints: sets, hinted: 1, localData: true},
		{name: "any, no replica reachable", level: "any", nodes: []uint64{remoteID, remoteID}, hints: 2 * sets},
		{name: "one, no replica reachable", level: "one", nodes: []uint64{remoteID, remoteID}, partial: true, hints: 2 * sets, hinted: 2},
		{name: "quorum, 1 of 3 reachable", level: "quorum", nodes: []uint64{localID, remoteID, remoteID}, partial: true, hints: 2 * sets, hinted: 2, localData: true},
		{name: "any, queue full", level: "any", nodes: []uint64{remoteID, remoteID}, maxBytes: 1, partial: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := startHintedCluster(t, tc.nodes, meta.Database{BucketDuration: 1000, ShardCount: 2, Consistency: tc.level}, tc.maxBytes)
			model := map[pt]float64{}
			err := c.client.Write(context.Background(), tenant, dbName, table, makeBatch(t, hosts(8), []int64{10, 1010}, 1, model))
			if tc.partial {
				var pe *PartialWriteError
				require.True(t, errors.As(err, &pe), "got %v", err)
				require.Len(t, pe.Failed, sets)
				for _, f := range pe.Failed {
					require.Equal(t, tc.hinted, f.Hinted)
				}
				require.Contains(t, err.Error(), "hinted")
			} else {
				require.NoError(t, err)
			}
			// a failed write is answered after every hint is stored, a met one maybe before
			if tc.partial {
				require.Equal(t, tc.hints, c.hintsFor(remoteID))
			}
			require.Eventually(t, func() bool { return c.hintsFor(remoteID) == tc.hints }, 5*time.Second, 5*time.Millisecond)
			if tc.localData {
				require.Equal(t, model, c.scanAll(t))
			}
		})
	}
}

// TestWriteHintContents: the hints hold exactly the rows of the replicas they stand for, with the
// write's version and vnode ids.
func TestWriteHintContents(t *testing.T) {
	c := startHintedCluster(t, []uint64{localID, remoteID}, meta.Database{BucketDuration: 1000, ShardCount: 2, Consistency: "one"}, 0)
	model := map[pt]float64{}
	require.NoError(t, c.client.Write(context.Background(), tenant, dbName, table, makeBatch(t, hosts(6), []int64{5, 700, 1500}, 3, model)))
	require.Eventually(t, func() bool { return c.hintsFor(remoteID) == 4 }, 5*time.Second, 5*time.Millisecond)
	require.NoError(t, c.handoff.Stop())

	remoteVnodes := map[uint64]bool{}
	buckets, err := c.place.BucketsIn(context.Background(), tenant, dbName, 0, 2000)
	require.NoError(t, err)
	for _, b := range buckets {
		for _, rs := range b.ReplicaSets {
			remoteVnodes[rs.Vnodes[1].ID] = true
		}
	}

	q, err := handoff.OpenQueue(filepath.Join(c.dir, "2"), handoff.QueueOptions{})
	require.NoError(t, err)
	defer q.Close()
	entries, err := q.Peek(100, 1<<30, time.Now())
	require.NoError(t, err)
	require.Len(t, entries, len(remoteVnodes))
	got := map[pt]float64{}
	var version uint64
	for _, e := range entries {
		require.True(t, remoteVnodes[e.Batch.GetVnodeId()], "vnode %d is node 2's", e.Batch.GetVnodeId())
		delete(remoteVnodes, e.Batch.GetVnodeId())
		if version == 0 {
			version = e.Batch.GetVersion()
		}
		require.Equal(t, version, e.Batch.GetVersion(), "one write, one version")
		b, err := e.Batch.DecodeBatch()
		require.NoError(t, err)
		addPoints(t, b, got)
	}
	require.NotZero(t, version)
	require.Equal(t, model, got)
}

// addPoints adds a batch's values to out.
func addPoints(t *testing.T, b *storage.Batch, out map[pt]float64) {
	for _, s := range b.Series {
		k, err := storage.UnmarshalSeriesKey(s.Key)
		require.NoError(t, err)
		h, _ := k.Tag("host")
		for _, f := range s.Fields {
			for i, v := range f.Values.Floats {
				row := i
				if f.Rows != nil {
					row = int(f.Rows[i])
				}
				out[pt{string(h.Raw), s.Times[row], f.Name}] = v
			}
		}
	}
}

// TestDeleteLevels: deletes and renames follow the write path's consistency levels. Replicas on
// the unreachable node 2 are hinted, which counts toward Any only; a level the reachable replicas
// cannot meet is a *PartialWriteError naming the hinted replicas. A level asked with WithLevel
// wins over the database's.
func TestDeleteLevels(t *testing.T) {
	const sets = 4 // 2 buckets x 2 replica sets
	cases := []struct {
		name   string
		level  string
		asked  Level
		nodes  []uint64
		failed bool
		hinted int // per failed replica set
	}{
		{name: "one, a replica here", level: "one", nodes: []uint64{localID, remoteID}},
		{name: "all, a replica here", level: "all", nodes: []uint64{localID, remoteID}, failed: true, hinted: 1},
		{name: "all asked over a database's one", level: "one", asked: All, nodes: []uint64{localID, remoteID}, failed: true, hinted: 1},
		{name: "one asked over a database's all", level: "all", asked: One, nodes: []uint64{localID, remoteID}},
		{name: "quorum, 1 of 3 reachable", level: "quorum", nodes: []uint64{localID, remoteID, remoteID}, failed: true, hinted: 2},
		{name: "quorum, 2 of 3 reachable", level: "quorum", nodes: []uint64{localID, localID, remoteID}},
		{name: "any, no replica reachable", level: "any", nodes: []uint64{remoteID, remoteID}},
		{name: "one, no replica reachable", level: "one", nodes: []uint64{remoteID, remoteID}, failed: true, hinted: 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := startHintedCluster(t, tc.nodes, meta.Database{BucketDuration: 1000, ShardCount: 2, Consistency: tc.level}, 0)
			remote := 0
			for _, n := range tc.nodes {
				if n == remoteID {
					remote++
				}
			}
			// points in both buckets (so both exist), written whatever the level: hinted to node 2
			require.NoError(t, c.client.Write(WithLevel(context.Background(), Any), tenant, dbName, table,
				makeBatch(t, hosts(8), []int64{10, 1010}, 1, map[pt]float64{})))
			require.Eventually(t, func() bool { return c.hintsFor(remoteID) == sets*remote }, 5*time.Second, 5*time.Millisecond)
			ctx := context.Background()
			if tc.asked != 0 {
				ctx = WithLevel(ctx, tc.asked)
			}
			for _, op := range []string{"delete", "update"} {
				var err error
				if op == "delete" {
					err = c.client.Delete(ctx, tenant, dbName, table, nil, 0, 1999)
				} else {
					upd := &storage.TagUpdate{Ops: []storage.TagOp{{Path: "host", Tags: []storage.Tag{{Key: "host", Value: storage.StringTag("z")}}}}}
					_, err = c.client.Rename(ctx, tenant, dbName, table, nil, upd)
				}
				if !tc.failed {
					require.NoError(t, err, op)
					continue
				}
				var pe *PartialWriteError
				require.True(t, errors.As(err, &pe), "%s: got %v", op, err)
				require.Equal(t, op, pe.Op)
				require.Len(t, pe.Failed, sets, op)
				for _, f := range pe.Failed {
					require.Equal(t, tc.hinted, f.Hinted, op)
					require.True(t, f.Retryable, op)
				}
				require.Contains(t, err.Error(), "partial "+op+" of "+table)
			}
			// every replica on node 2 got both requests as hints, whatever the level
			require.Equal(t, 3*sets*remote, c.hintsFor(remoteID))
		})
	}
}
