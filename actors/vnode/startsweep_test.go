package vnode

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/actors"
	"github.com/chronogo/chronogo/actors/actorstest"
	"github.com/chronogo/chronogo/storage/compaction"
	"github.com/chronogo/chronogo/storage/engine"
	"github.com/chronogo/chronogo/storage/layout"
)

// TestStartSweepSettlesVnodesLeftUnsettled: a node stopped before its vnode settled (data only in
// the WAL) starts again, and the vnode settles without any client touching it; a node whose
// vnodes are all settled opens none of them at start.
func TestStartSweepSettlesVnodesLeftUnsettled(t *testing.T) {
	root := t.TempDir()
	dir := layout.VnodeDir(root, testSpec.Tenant, testSpec.DB, testSpec.BucketID, testSpec.ReplicaSetID, testSpec.VnodeID)
	start := func(settleAfter time.Duration) (*actor.ActorSystem, *actor.PID, func()) {
		return startSweepNode(t, root, settleAfter)
	}
	running := func(sys *actor.ActorSystem, mgr *actor.PID) int {
		res, err := sys.Root.RequestFuture(mgr, &ListVnodes{}, timeout).Result()
		require.NoError(t, err)
		return len(res.([]Ref))
	}

	// a node that never settles takes writes and stops: they are in the WAL only
	sys, mgr, stop := start(-1)
	want := map[point]float64{}
	for i := range 300 {
		host := fmt.Sprintf("h%d", i%3)
		res, err := sys.Root.RequestFuture(mgr, writeMsg(testSpec, pointBatch(t, host, int64(i/3), float64(i)), uint64(i+1)), timeout).Result()
		require.True(t, assertAck(t, res, err))
		want[point{host, int64(i / 3)}] = float64(i)
	}
	stop()
	unsettled, err := engine.Unsettled(dir, compaction.Options{})
	require.NoError(t, err)
	require.True(t, unsettled, "the WAL holds the writes")

	// started again with settling on: the sweep opens the vnode, which settles by itself
	sys, mgr, stop = start(200 * time.Millisecond)
	require.Eventually(t, func() bool { return running(sys, mgr) == 1 }, 5*time.Second, 20*time.Millisecond, "the sweep opened the vnode")
	require.Eventually(t, func() bool {
		u, err := engine.Unsettled(dir, compaction.Options{})
		require.NoError(t, err)
		return !u && stats(t, sys, mgr, testSpec.VnodeID).GetFiles() == 1
	}, 10*time.Second, 50*time.Millisecond, "the vnode settled without a request")
	require.Equal(t, want, scanAll(t, sys, mgr, testSpec))
	stop()

	// everything settled: a start opens nothing
	sys, mgr, stop = start(200 * time.Millisecond)
	defer stop()
	time.Sleep(500 * time.Millisecond)
	require.Zero(t, running(sys, mgr), "no vnode needed settling")
}

// TestStartSweepCorruptVnode: the sweep opens a vnode left unsettled whose summary is damaged; the
// engine sets the damaged summary aside (summary.bad.*, byte for byte, for an operator), rebuilds
// it from the TSM files, replays the WAL, and every acknowledged point is there, without a client
// touching the vnode; the node serves other vnodes meanwhile.
func TestStartSweepCorruptVnode(t *testing.T) {
	root := t.TempDir()
	dir := layout.VnodeDir(root, testSpec.Tenant, testSpec.DB, testSpec.BucketID, testSpec.ReplicaSetID, testSpec.VnodeID)
	start := func(settleAfter time.Duration) (*actor.ActorSystem, *actor.PID, func()) {
		return startSweepNode(t, root, settleAfter)
	}
	sys, mgr, stop := start(-1)
	want := map[point]float64{}
	for i := range 30 {
		res, err := sys.Root.RequestFuture(mgr, writeMsg(testSpec, pointBatch(t, "h", int64(i), float64(i)), uint64(i+1)), timeout).Result()
		require.True(t, assertAck(t, res, err))
		want[point{"h", int64(i)}] = float64(i)
	}
	stop()
	damaged := []byte("this is not a summary file")
	require.NoError(t, os.WriteFile(filepath.Join(dir, layout.SummaryFile), damaged, 0o644))

	sys, mgr, stop = start(100 * time.Millisecond)
	defer stop()
	other := testSpec
	other.VnodeID, other.BucketID = testSpec.VnodeID+100, testSpec.BucketID+100
	res, err := sys.Root.RequestFuture(mgr, writeMsg(other, pointBatch(t, "h", 1, 1), 1), timeout).Result()
	require.True(t, assertAck(t, res, err), "another vnode takes writes")
	require.Eventually(t, func() bool {
		bad, _ := filepath.Glob(filepath.Join(dir, layout.SummaryFile+".bad.*"))
		return len(bad) == 1 && stats(t, sys, mgr, testSpec.VnodeID).GetFiles() == 1
	}, 10*time.Second, 50*time.Millisecond, "the sweep opened the damaged vnode and it settled")
	bad, _ := filepath.Glob(filepath.Join(dir, layout.SummaryFile+".bad.*"))
	got, err := os.ReadFile(bad[0])
	require.NoError(t, err)
	require.Equal(t, damaged, got, "the damaged summary is kept for inspection")
	require.Equal(t, want, scanAll(t, sys, mgr, testSpec), "every acknowledged point")
}

// startSweepNode starts a vnode manager on root with the given settle delay, as a node's start
// would; the returned func stops it.
func startSweepNode(t *testing.T, root string, settleAfter time.Duration) (*actor.ActorSystem, *actor.PID, func()) {
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}))
	pid, err := sys.Root.SpawnNamed(ManagerProps(Config{Root: root, SettleAfter: settleAfter, Logger: actorstest.QuietLogger()}), actors.ManagerName)
	require.NoError(t, err)
	return sys, pid, func() {
		require.NoError(t, sys.Root.StopFuture(pid).Wait())
		sys.Shutdown()
	}
}
