package handoff

import (
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/chronogo/chronogo/actors"
	"github.com/chronogo/chronogo/actors/actorstest"
	"github.com/chronogo/chronogo/messages"
	"github.com/chronogo/chronogo/meta"
)

const waitFor = 10 * time.Second

// fakeManager stands in for a node's vnode manager: it answers WriteBatch envelopes with the
// code its answer function returns and records what it got.
type fakeManager struct {
	mu       sync.Mutex
	answer   func(n int, wb *messages.WriteBatch) messages.ErrorCode // n counts requests from 0
	moved    map[uint64]bool                                         // vnodes refused as not placed here
	requests int
	got      []*messages.WriteBatch // acknowledged ones, in arrival order
}

func (f *fakeManager) Receive(ctx actor.Context) {
	env, ok := ctx.Message().(*messages.Envelope)
	if !ok {
		return
	}
	m, err := env.Open()
	if err != nil {
		ctx.Respond(messages.ErrorFor(err))
		return
	}
	wb := m.(*messages.WriteBatch)
	f.mu.Lock()
	code, msg := messages.ErrorCode_ERROR_CODE_OK, ""
	if f.answer != nil {
		code = f.answer(f.requests, wb)
	}
	if f.moved[wb.GetVnodeId()] {
		code, msg = messages.ErrorCode_ERROR_CODE_NOT_OWNER, "vnode is "+actors.NotPlaced
	}
	f.requests++
	if code == messages.ErrorCode_ERROR_CODE_OK {
		f.got = append(f.got, wb)
	}
	f.mu.Unlock()
	ctx.Respond(&messages.WriteAck{Seq: 1, Code: code, Message: msg})
}

func (f *fakeManager) acked() []uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []uint64
	for _, wb := range f.got {
		out = append(out, wb.GetVnodeId())
	}
	return out
}

// env is an actor system, a placement where node 2 lives at the system's own address, and a
// handoff config writing to dir.
type env struct {
	sys   *actor.ActorSystem
	place *actorstest.MemPlacement
	cfg   Config
}

func newEnv(t *testing.T, dir string) *env {
	t.Helper()
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }))
	t.Cleanup(sys.Shutdown)
	place := actorstest.NewMemPlacement(meta.Node{ID: 1}, meta.Node{ID: 2, ActorAddr: sys.Address()})
	cfg := Config{Dir: dir, NodeID: 1, Placement: place, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
		ReplayTimeout: time.Second, ReplayBatch: 3, Logger: actorstest.QuietLogger()}
	return &env{sys: sys, place: place, cfg: cfg}
}

func (e *env) spawnHandoff(t *testing.T, cfg Config) *Handoff {
	t.Helper()
	h, err := Spawn(e.sys, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = h.Stop() })
	return h
}

// startTarget spawns the fake vnode manager of node 2 (under actors.ManagerName).
func (e *env) startTarget(t *testing.T, f *fakeManager) *actor.PID {
	t.Helper()
	pid, err := e.sys.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return f }), actors.ManagerName)
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.sys.Root.StopFuture(pid).Wait() })
	return pid
}

func statsOf(h *Handoff, node uint64) TargetStats {
	for _, s := range h.Stats() {
		if s.Node == node {
			return s
		}
	}
	return TargetStats{Node: node}
}

// TestReplayAfterOutage: hints stored while the target is down (dead letters, then UNAVAILABLE)
// are replayed in order once it answers, the queue drains and its files go away.
func TestReplayAfterOutage(t *testing.T) {
	e := newEnv(t, t.TempDir())
	h := e.spawnHandoff(t, e.cfg)
	const n = 10
	for i := range n {
		require.NoError(t, h.Store(2, testBatch(i), waitFor))
	}
	s := statsOf(h, 2)
	require.Equal(t, n, s.Hints)
	require.Equal(t, bytesOf(0, n), s.Bytes)

	// the target comes up overloaded: the first 4 requests fail retryably
	f := &fakeManager{answer: func(k int, _ *messages.WriteBatch) messages.ErrorCode {
		if k < 4 {
			return messages.ErrorCode_ERROR_CODE_UNAVAILABLE
		}
		return messages.ErrorCode_ERROR_CODE_OK
	}}
	e.startTarget(t, f)
	require.Eventually(t, func() bool { return statsOf(h, 2).Hints == 0 }, waitFor, 5*time.Millisecond)
	s = statsOf(h, 2)
	require.Zero(t, s.Bytes)
	require.GreaterOrEqual(t, s.Replayed, uint64(n))
	require.Zero(t, s.Skipped)

	// every hint arrived once, in queue order up to the ReplayBatch hints of one round in flight
	got := f.acked()
	require.ElementsMatch(t, ids(0, n), got, "an acknowledged hint is not sent again")
	for pos, v := range got {
		require.Less(t, absDiff(pos, int(v)-100), e.cfg.ReplayBatch, "hint %d arrived at %d: %v", v, pos, got)
	}
	f.mu.Lock()
	require.Equal(t, n+4, f.requests, "only the refused requests are sent again")
	f.mu.Unlock()
	require.Empty(t, segmentFiles(t, filepath.Join(e.cfg.Dir, "2")), "a drained queue keeps no segment")
}

// TestReplayNonRetryableSkipped: a hint the target refuses for good is dropped, not retried.
func TestReplayNonRetryableSkipped(t *testing.T) {
	e := newEnv(t, t.TempDir())
	f := &fakeManager{answer: func(_ int, wb *messages.WriteBatch) messages.ErrorCode {
		switch wb.GetVnodeId() {
		case 101:
			return messages.ErrorCode_ERROR_CODE_BAD_REQUEST
		case 103:
			return messages.ErrorCode_ERROR_CODE_NOT_OWNER
		}
		return messages.ErrorCode_ERROR_CODE_OK
	}}
	e.startTarget(t, f)
	h := e.spawnHandoff(t, e.cfg)
	for i := range 5 {
		require.NoError(t, h.Store(2, testBatch(i), waitFor))
	}
	require.Eventually(t, func() bool { return statsOf(h, 2).Hints == 0 }, waitFor, 5*time.Millisecond)
	s := statsOf(h, 2)
	require.Equal(t, uint64(2), s.Skipped)
	require.Equal(t, uint64(3), s.Replayed)
	require.ElementsMatch(t, []uint64{100, 102, 104}, f.acked())
	f.mu.Lock()
	require.Equal(t, 5, f.requests, "refused hints are sent once")
	f.mu.Unlock()
}

// TestHintsSurviveRestart: hints stored by one handoff manager are replayed by the next one on the
// same directory (the hinting node restarted), including after a partial replay.
func TestHintsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t, dir)
	h := e.spawnHandoff(t, e.cfg)
	for i := range 6 {
		require.NoError(t, h.Store(2, testBatch(i), waitFor))
	}
	require.NoError(t, h.Store(3, testBatch(9), waitFor), "node 3 is unknown to placement: stored, never replayed")
	require.NoError(t, h.Stop())

	e2 := newEnv(t, dir)
	f := &fakeManager{}
	e2.startTarget(t, f)
	h2 := e2.spawnHandoff(t, e2.cfg)
	require.Eventually(t, func() bool { return statsOf(h2, 2).Hints == 0 && len(h2.Stats()) == 2 }, waitFor, 5*time.Millisecond)
	require.Equal(t, ids(0, 6), f.acked())
	require.Equal(t, 1, statsOf(h2, 3).Hints, "the queue of node 3 was found on disk")
	require.Equal(t, recordSize(testBatch(9)), statsOf(h2, 3).Bytes)
}

// TestHintRefusedWhenFull: a hint over the byte bound is refused and counted.
func TestHintRefusedWhenFull(t *testing.T) {
	e := newEnv(t, t.TempDir())
	cfg := e.cfg
	cfg.MaxBytes = bytesOf(0, 2)
	h := e.spawnHandoff(t, cfg)
	require.NoError(t, h.Store(2, testBatch(0), waitFor))
	require.NoError(t, h.Store(2, testBatch(1), waitFor))
	require.ErrorIs(t, h.Store(2, testBatch(2), waitFor), ErrFull)
	// the target is unreachable: the first hint waits to be retried, and its age is known
	before := time.Now()
	require.Eventually(t, func() bool { return !statsOf(h, 2).Oldest.IsZero() }, waitFor, 5*time.Millisecond)
	s := statsOf(h, 2)
	require.False(t, s.Oldest.After(before), "the oldest hint was queued before now")
	s.Oldest = time.Time{}
	require.Equal(t, TargetStats{Node: 2, Hints: 2, Bytes: bytesOf(0, 2), Refused: 1}, s)
	require.Error(t, h.Store(0, testBatch(0), waitFor), "a hint needs a target")
}

// TestHintsGroupCommit: hints sent together are all stored and answered (one fsync per group;
// checked through the answers, the count is an implementation detail).
func TestHintsGroupCommit(t *testing.T) {
	e := newEnv(t, t.TempDir())
	h := e.spawnHandoff(t, e.cfg)
	futures := make([]*actor.Future, 20)
	for i := range futures {
		futures[i] = e.sys.Root.RequestFuture(h.PID(), &Hint{Target: 2, Batch: testBatch(i)}, waitFor)
	}
	for i, f := range futures {
		res, err := f.Result()
		require.NoError(t, err)
		require.NoError(t, res.(*HintResult).Err, "hint %d", i)
	}
	require.NoError(t, h.Stop())
	q := openQueue(t, filepath.Join(e.cfg.Dir, "2"), QueueOptions{})
	got, err := q.Peek(100, 1<<30, time.Now())
	require.NoError(t, err)
	require.Equal(t, ids(0, 20), vnodes(got))
	require.True(t, proto.Equal(testBatch(7), got[7].Batch))
}

// TestReplayExpired: hints older than the window are dropped, not replayed.
func TestReplayExpired(t *testing.T) {
	e := newEnv(t, t.TempDir())
	var mu sync.Mutex
	now := t0
	cfg := e.cfg
	cfg.MaxHintWindow = time.Hour
	cfg.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	h := e.spawnHandoff(t, cfg)
	for i := range 3 {
		require.NoError(t, h.Store(2, testBatch(i), waitFor))
	}
	mu.Lock()
	now = t0.Add(2 * time.Hour)
	mu.Unlock()
	require.NoError(t, h.Store(2, testBatch(3), waitFor))
	f := &fakeManager{}
	e.startTarget(t, f)
	require.Eventually(t, func() bool { return statsOf(h, 2).Hints == 0 }, waitFor, 5*time.Millisecond)
	require.Equal(t, ids(3, 4), f.acked())
	require.Equal(t, uint64(3), statsOf(h, 2).Expired)
}

func absDiff(a, b int) int { return max(a-b, b-a) }

// TestReplayReroutesMovedVnode: a hint whose vnode the target node no longer has (it answers
// NOT_OWNER, not placed: the vnode moved while the hint waited) is hinted again for the vnodes its
// replica set has now, with the same version and data, each in its node's queue, and the old hint
// is acknowledged; a hint for a replica set that is gone is dropped. A plain NOT_OWNER stays a
// refusal (TestReplayNonRetryableSkipped).
func TestReplayReroutesMovedVnode(t *testing.T) {
	e := newEnv(t, t.TempDir())
	e.place.SetNode(meta.Node{ID: 3}) // no address: its hints wait
	// bucket 7, replica set 8 of testBatch: vnode 100 moved to vnode 200 (node 2) and 300 (node 3)
	e.place.SetBucket(meta.Bucket{ID: 7, Tenant: "t", DB: "db", Start: 0, End: 1 << 40,
		ReplicaSets: []meta.ReplicaSet{{ID: 8, Vnodes: []meta.Vnode{{ID: 200, NodeID: 2}, {ID: 300, NodeID: 3, Joining: true}}}}})
	f := &fakeManager{moved: map[uint64]bool{100: true, 101: true}}
	e.startTarget(t, f)
	h := e.spawnHandoff(t, e.cfg)
	moved := testBatch(0) // vnode 100
	gone := testBatch(1)  // vnode 101, of a replica set that no longer exists
	gone.ReplicaSetId = 99
	require.NoError(t, h.Store(2, moved, waitFor))
	require.NoError(t, h.Store(2, gone, waitFor))
	require.Eventually(t, func() bool { return statsOf(h, 2).Hints == 0 && statsOf(h, 3).Hints == 1 }, waitFor, 5*time.Millisecond)
	require.Equal(t, []uint64{200}, f.acked(), "the moved hint reached the replica set's vnode on node 2")
	f.mu.Lock()
	got := f.got[0]
	f.mu.Unlock()
	require.Equal(t, moved.GetVersion(), got.GetVersion(), "same version: last-write-wins keeps copies harmless")
	require.Equal(t, moved.GetBatch(), got.GetBatch())
	require.True(t, got.GetHinted())
	require.Equal(t, 1, statsOf(h, 3).Hints, "the joining vnode on node 3 gets its own hint")
}

// A hinted request without a vnode (a damaged or foreign record) is refused by reroute with an
// error, never re-addressed (which would dereference the missing vnode).
func TestRerouteNeedsAVnode(t *testing.T) {
	for _, m := range []proto.Message{&messages.DeleteRequest{Table: "cpu"}, &messages.RenameRequest{Table: "cpu"}} {
		_, _, _, _, _, ok := hintVnode(m)
		require.False(t, ok, "%T", m)
		_, err := reroute(t.Context(), Config{}, nil, nil, m, 2)
		require.ErrorContains(t, err, "names no vnode")
	}
}

// TestHandOver: the queue of a node that is down (node 3, no address) is handed over: a hint
// whose replica set has a vnode on another node (node 2) reaches it with its version, and leaves
// node 3's queue; a hint of a single-replica set stays (and stops the hand-over), named in the
// answer; replay of what stays goes on.
func TestHandOver(t *testing.T) {
	e := newEnv(t, t.TempDir())
	e.place.SetNode(meta.Node{ID: 3}) // no address: its hints wait
	e.place.SetBucket(meta.Bucket{ID: 7, Tenant: "t", DB: "db", Start: 0, End: 1 << 40,
		ReplicaSets: []meta.ReplicaSet{{ID: 8, Vnodes: []meta.Vnode{{ID: 200, NodeID: 2}, {ID: 300, NodeID: 3}}},
			{ID: 9, Vnodes: []meta.Vnode{{ID: 301, NodeID: 3}}}}})
	f := &fakeManager{}
	e.startTarget(t, f)
	h := e.spawnHandoff(t, e.cfg)
	shared := testBatch(0)
	shared.VnodeId = 300
	single := testBatch(1)
	single.VnodeId, single.ReplicaSetId = 301, 9
	require.NoError(t, h.Store(3, shared, waitFor))
	require.NoError(t, h.Store(3, single, waitFor))
	require.Equal(t, 2, statsOf(h, 3).Hints)

	res, err := h.HandOver(3, waitFor)
	require.NoError(t, err)
	require.Equal(t, 1, res.HandedOver)
	require.Equal(t, 1, res.Remaining, "the single replica's hint stays")
	require.ErrorContains(t, res.Err, "no replica on another node")
	require.Eventually(t, func() bool { return len(f.acked()) == 1 }, waitFor, 5*time.Millisecond)
	require.Equal(t, []uint64{200}, f.acked(), "node 2's vnode of the set got the hint")
	f.mu.Lock()
	got := f.got[0]
	f.mu.Unlock()
	require.Equal(t, shared.GetVersion(), got.GetVersion())
	require.Equal(t, shared.GetBatch(), got.GetBatch())
	require.Equal(t, 1, statsOf(h, 3).Hints)
	require.Eventually(t, func() bool { return statsOf(h, 2).Hints == 0 }, waitFor, 5*time.Millisecond, "node 2's queue drained into it")

	_, err = h.HandOver(5, waitFor)
	require.NoError(t, err)
	res, _ = h.HandOver(5, waitFor)
	require.ErrorContains(t, res.Err, "no hint queue")
}
