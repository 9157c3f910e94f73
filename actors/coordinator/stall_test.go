package coordinator

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/actors/actorstest"
	"github.com/chronogo/chronogo/actors/vnode"
	"github.com/chronogo/chronogo/messages"
	"github.com/chronogo/chronogo/meta"
)

// stallingManager answers the first stalls LocalWrites with a write stall (OVERLOADED), then acks.
type stallingManager struct {
	stalls   int32
	attempts atomic.Int32
}

func (m *stallingManager) Receive(ctx actor.Context) {
	if _, ok := ctx.Message().(*vnode.LocalWrite); !ok {
		return
	}
	if m.attempts.Add(1) <= m.stalls {
		ctx.Respond(&messages.WriteAck{Code: messages.ErrorCode_ERROR_CODE_OVERLOADED, Message: "vnode write stalled"})
		return
	}
	ctx.Respond(&messages.WriteAck{Seq: 1})
}

// TestWriteWaitsThroughStalls: a replica that stalls is sent the write again until it takes it
// (backpressure: the write succeeds, later), and one that still stalls at the deadline fails the
// write (partial, retryable) instead of waiting past it.
func TestWriteWaitsThroughStalls(t *testing.T) {
	for _, tc := range []struct {
		name    string
		stalls  int32
		timeout time.Duration
		ok      bool
	}{
		{"three stalls", 3, 5 * time.Second, true},
		{"stalls past the deadline", 1 << 20, 300 * time.Millisecond, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log := logrus.New()
			log.SetOutput(io.Discard)
			sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }))
			defer sys.Shutdown()
			m := &stallingManager{stalls: tc.stalls}
			mgr := sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return m }))
			place := actorstest.NewMemPlacement(meta.Node{ID: localID})
			place.AddDatabase(meta.Database{Tenant: tenant, Name: dbName, BucketDuration: 1000, ShardCount: 1, Consistency: "one"})
			client, err := Spawn(sys, Config{NodeID: localID, Placement: place, Manager: mgr, ReplicaTimeout: time.Second, Logger: log})
			require.NoError(t, err)
			defer func() { require.NoError(t, client.Stop()) }()
			ctx, cancel := context.WithTimeout(context.Background(), tc.timeout)
			defer cancel()
			began := time.Now()
			err = client.Write(ctx, tenant, dbName, table, makeBatch(t, hosts(1), []int64{10}, 1, map[pt]float64{}))
			if tc.ok {
				require.NoError(t, err)
				require.EqualValues(t, tc.stalls+1, m.attempts.Load(), "sent again after each stall")
				return
			}
			var pe *PartialWriteError
			require.ErrorAs(t, err, &pe)
			require.True(t, pe.Retryable())
			require.Less(t, time.Since(began), tc.timeout+time.Second, "not past the deadline")
			require.Greater(t, m.attempts.Load(), int32(3), "it kept trying until the deadline")
		})
	}
}
