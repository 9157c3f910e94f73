package vnode

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/messages"
	"github.com/chronogo/chronogo/storage"
)

func TestVnodeDecider(t *testing.T) {
	corrupt := &storage.CorruptionError{Path: "tsm/000001.tsm", Offset: 10, Err: errors.New("crc mismatch")}
	cases := []struct {
		name   string
		reason any
		want   actor.Directive
	}{
		{"corruption", corrupt, actor.StopDirective},
		{"wrapped corruption", fmt.Errorf("opening vnode 3: %w", corrupt), actor.StopDirective},
		{"plain error", errors.New("disk full"), actor.RestartDirective},
		{"string panic", "boom", actor.RestartDirective},
		{"runtime error", func() (r any) { defer func() { r = recover() }(); var m map[int]int; m[1] = 1; return nil }(), actor.RestartDirective},
		{"nil", nil, actor.RestartDirective},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, vnodeDecider(tc.reason))
		})
	}
}

func TestBackoff(t *testing.T) {
	s := &backoffStrategy{initial: 100 * time.Millisecond, maxBackoff: time.Second}
	for n, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 3: 400 * time.Millisecond,
		4: 800 * time.Millisecond, 5: time.Second, 9: time.Second} {
		require.Equal(t, want, s.backoff(n), "restart %d", n)
	}
}

// supervisorEvents records the supervision directives published on the event stream.
func supervisorEvents(t *testing.T, sys *actor.ActorSystem) func() []actor.Directive {
	var mu sync.Mutex
	var got []actor.Directive
	sub := sys.EventStream.Subscribe(func(evt any) {
		if e, ok := evt.(*actor.SupervisorEvent); ok {
			mu.Lock()
			got = append(got, e.Directive)
			mu.Unlock()
		}
	})
	t.Cleanup(func() { sys.EventStream.Unsubscribe(sub) })
	return func() []actor.Directive {
		mu.Lock()
		defer mu.Unlock()
		return append([]actor.Directive(nil), got...)
	}
}

// TestVnodeRestartKeepsAcknowledgedWrites panics the vnode actor while writers run: the actor
// restarts, reopens from summary and WAL, and every write a client saw acknowledged is readable.
// Clients see only retryable failures (timeouts, UNAVAILABLE, OVERLOADED) and retry them.
func TestVnodeRestartKeepsAcknowledgedWrites(t *testing.T) {
	sys, mgr := startManager(t, Config{RestartBackoff: 20 * time.Millisecond})
	events := supervisorEvents(t, sys)
	const writers, perWriter = 4, 60
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		acked     = map[point]float64{}
		retries   atomic.Int64
		ackedN    atomic.Int64
		flushedAt = make(chan struct{})
		panicAt   = make(chan struct{})
	)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			host := fmt.Sprintf("w%d", w)
			for i := range perWriter {
				v := float64(w*1000 + i)
				for attempt := 0; ; attempt++ {
					if !assert(t, attempt < 50, "write %s/%d: too many retries", host, i) {
						return
					}
					res, err := sys.Root.RequestFuture(mgr, writeMsg(testSpec, pointBatch(t, host, int64(i), v), 1), 2*time.Second).Result()
					if err != nil {
						if !assert(t, errors.Is(err, actor.ErrTimeout), "non-retryable error %v", err) {
							return
						}
						retries.Add(1)
						continue
					}
					ack := res.(*messages.WriteAck)
					if ack.GetCode() != messages.ErrorCode_ERROR_CODE_OK {
						if !assert(t, messages.Retryable(ack.GetCode()), "non-retryable ack %v: %s", ack.GetCode(), ack.GetMessage()) {
							return
						}
						retries.Add(1)
						continue
					}
					break
				}
				mu.Lock()
				acked[point{host, int64(i)}] = v
				mu.Unlock()
				switch ackedN.Add(1) {
				case writers * perWriter / 4:
					close(flushedAt)
				case writers * perWriter / 2:
					close(panicAt)
				}
			}
		}()
	}
	// part of the data goes to TSM files and the summary, the rest stays in the WAL
	<-flushedAt
	res, err := sys.Root.RequestFuture(mgr, &messages.FlushRequest{VnodeId: testSpec.VnodeID, Force: true}, timeout).Result()
	require.NoError(t, err)
	require.Equal(t, messages.ErrorCode_ERROR_CODE_OK, res.(*messages.ErrorReply).GetCode())
	<-panicAt
	sys.Root.Send(mgr, &Forward{Spec: testSpec, Msg: &PanicForTest{Reason: "panic for test"}})
	wg.Wait()
	require.False(t, t.Failed())

	require.Contains(t, events(), actor.RestartDirective, "the vnode actor was restarted")
	st := stats(t, sys, mgr, testSpec.VnodeID)
	require.Greater(t, st.GetFlushedSeq(), uint64(0), "the flush before the panic is in the summary")
	require.Less(t, st.GetWrites(), uint64(writers*perWriter), "the restarted actor counts only its own writes")
	require.Equal(t, acked, scanAll(t, sys, mgr, testSpec))
	t.Logf("acked=%d retries=%d writes after restart=%d", len(acked), retries.Load(), st.GetWrites())
}

func TestVnodeCorruptionStops(t *testing.T) {
	sys, mgr := startManager(t, Config{})
	events := supervisorEvents(t, sys)
	res, err := sys.Root.RequestFuture(mgr, writeMsg(testSpec, pointBatch(t, "a", 1, 1), 1), timeout).Result()
	require.True(t, assertAck(t, res, err))

	sys.Root.Send(mgr, &Forward{Spec: testSpec, Msg: &PanicForTest{Reason: &storage.CorruptionError{Path: "x", Err: errors.New("bad crc")}}})
	require.Eventually(t, func() bool {
		// writes queued in the stopping actor's suspended mailbox are never answered: short timeout
		res, err := sys.Root.RequestFuture(mgr, writeMsg(testSpec, pointBatch(t, "a", 2, 2), 1), 200*time.Millisecond).Result()
		return err == nil && res.(*messages.WriteAck).GetCode() == messages.ErrorCode_ERROR_CODE_CORRUPTION
	}, timeout, 10*time.Millisecond, "a stopped vnode is not respawned")
	require.Equal(t, []actor.Directive{actor.StopDirective}, events())

	res, err = sys.Root.RequestFuture(mgr, &ListVnodes{}, timeout).Result()
	require.NoError(t, err)
	require.Empty(t, res)
}

func TestVnodeRestartLimit(t *testing.T) {
	sys, mgr := startManager(t, Config{MaxRestarts: 2, RestartBackoff: time.Millisecond})
	events := supervisorEvents(t, sys)
	for i := range 3 {
		sys.Root.Send(mgr, &Forward{Spec: testSpec, Msg: &PanicForTest{Reason: fmt.Sprintf("panic %d", i)}})
		require.Eventually(t, func() bool { return len(events()) == i+1 }, timeout, time.Millisecond)
	}
	require.Equal(t, []actor.Directive{actor.RestartDirective, actor.RestartDirective, actor.StopDirective}, events())
}
