package vnode

import (
	"context"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/actors"
	"github.com/chronogo/chronogo/messages"
	"github.com/chronogo/chronogo/storage/layout"
)

// fakeFence is a placement whose cache (cached) lags its truth (fresh) until SyncPlacement.
type fakeFence struct {
	mu            sync.Mutex
	cached, fresh map[uint64]bool // vnode ids placed on this node
	syncs         atomic.Int64
	fail          error
	gate          chan struct{} // when set, SyncPlacement waits for it
}

func (f *fakeFence) placed(s Spec) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cached[s.VnodeID]
}

func (f *fakeFence) sync(context.Context) error {
	f.syncs.Add(1)
	f.mu.Lock()
	gate := f.gate
	f.mu.Unlock()
	if gate != nil {
		<-gate
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	f.cached = map[uint64]bool{}
	for id := range f.fresh {
		f.cached[id] = true
	}
	return nil
}

// TestFenceRefusesVnodesPlacedElsewhere: a write for a vnode the cached placement has here runs
// at once; one it does not have waits for one placement check: taken if the fresh placement has
// the vnode here (a bucket created a moment ago), refused NOT_OWNER "not placed" otherwise (moved
// or dropped: no vnode directory is made for it), and UNAVAILABLE (retryable) when the placement
// cannot be read. Requests waiting together share one check.
func TestFenceRefusesVnodesPlacedElsewhere(t *testing.T) {
	placedHere := Spec{Tenant: "default", DB: "db1", BucketID: 1, ReplicaSetID: 2, VnodeID: 3}
	newBucket := Spec{Tenant: "default", DB: "db1", BucketID: 5, ReplicaSetID: 6, VnodeID: 7}
	movedAway := Spec{Tenant: "default", DB: "db1", BucketID: 1, ReplicaSetID: 2, VnodeID: 4}
	f := &fakeFence{cached: map[uint64]bool{3: true}, fresh: map[uint64]bool{3: true, 7: true}}
	root := t.TempDir()
	sys, mgr := startManager(t, Config{Root: root, Placed: f.placed, SyncPlacement: f.sync})
	write := func(s Spec, ts int64) *messages.WriteAck {
		res, err := sys.Root.RequestFuture(mgr, writeMsg(s, pointBatch(t, "a", ts, 1), 1), timeout).Result()
		require.NoError(t, err)
		return res.(*messages.WriteAck)
	}
	require.Equal(t, messages.ErrorCode_ERROR_CODE_OK, write(placedHere, 1).GetCode())
	require.Zero(t, f.syncs.Load(), "a placed vnode costs no placement read")

	require.Equal(t, messages.ErrorCode_ERROR_CODE_OK, write(newBucket, 1).GetCode(), "the fresh placement has it")
	require.Equal(t, int64(1), f.syncs.Load())

	ack := write(movedAway, 1)
	require.Equal(t, messages.ErrorCode_ERROR_CODE_NOT_OWNER, ack.GetCode())
	require.Contains(t, ack.GetMessage(), actors.NotPlaced)
	_, err := os.Stat(layout.VnodeDir(root, movedAway.Tenant, movedAway.DB, movedAway.BucketID, movedAway.ReplicaSetID, movedAway.VnodeID))
	require.True(t, os.IsNotExist(err), "no directory for a vnode placed elsewhere")
	del, err := sys.Root.RequestFuture(mgr, &messages.DeleteRequest{Vnode: movedAway.VnodeRef(), Table: "cpu", MinTime: 0, MaxTime: 10, Version: 2}, timeout).Result()
	require.NoError(t, err)
	require.Equal(t, messages.ErrorCode_ERROR_CODE_NOT_OWNER, del.(*messages.ErrorReply).GetCode(), "deletes are fenced too")

	// requests arriving while a check runs wait for it together
	gate := make(chan struct{})
	f.mu.Lock()
	f.gate = gate
	f.mu.Unlock()
	before := f.syncs.Load()
	var wg sync.WaitGroup
	codes := make([]messages.ErrorCode, 20)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := sys.Root.RequestFuture(mgr, writeMsg(movedAway, pointBatch(t, "a", int64(i), 1), 1), timeout).Result()
			if assert(t, err == nil, "%v", err) {
				codes[i] = res.(*messages.WriteAck).GetCode()
			}
		}()
	}
	require.Eventually(t, func() bool { return f.syncs.Load() == before+1 }, timeout, time.Millisecond)
	time.Sleep(50 * time.Millisecond) // the others arrive while the check waits
	f.mu.Lock()
	f.gate = nil
	f.mu.Unlock()
	close(gate)
	wg.Wait()
	for _, c := range codes {
		require.Equal(t, messages.ErrorCode_ERROR_CODE_NOT_OWNER, c)
	}
	require.LessOrEqual(t, f.syncs.Load(), before+2, "one check (or two, when some arrived as the first ended) for twenty requests")

	// the placement cannot be read: retryable, and the write may come again
	f.mu.Lock()
	f.fail = errors.New("no meta leader")
	f.mu.Unlock()
	ack = write(movedAway, 1)
	require.Equal(t, messages.ErrorCode_ERROR_CODE_UNAVAILABLE, ack.GetCode())
	require.True(t, messages.Retryable(ack.GetCode()))
}
