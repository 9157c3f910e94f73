package vnode

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/chronogo/chronogo/actors"
	"github.com/chronogo/chronogo/actors/actorstest"
	"github.com/chronogo/chronogo/messages"
	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/engine"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, actorstest.ProtoactorGoroutines()...)
}

const timeout = 10 * time.Second

// startManager starts an actor system with a vnode manager; both stop at cleanup.
func startManager(t *testing.T, cfg Config) (*actor.ActorSystem, *actor.PID) {
	t.Helper()
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}))
	if cfg.Root == "" {
		cfg.Root = t.TempDir()
	}
	if cfg.Logger == nil {
		cfg.Logger = actorstest.QuietLogger()
	}
	pid, err := sys.Root.SpawnNamed(ManagerProps(cfg), actors.ManagerName)
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, sys.Root.StopFuture(pid).Wait())
		sys.Shutdown()
	})
	return sys, pid
}

var testSpec = Spec{Tenant: "default", DB: "db1", BucketID: 1, ReplicaSetID: 2, VnodeID: 3}

// seriesKey is the encoded key of cpu,host=<host>.
func seriesKey(t testing.TB, host string) []byte {
	k := storage.SeriesKey{Table: "cpu", Tags: []storage.Tag{{Key: "host", Value: storage.StringTag(host)}}}
	require.NoError(t, k.Normalize())
	return k.Marshal(nil)
}

// pointBatch is one point of cpu,host=<host> usage=<v> at ts.
func pointBatch(t testing.TB, host string, ts int64, v float64) *storage.Batch {
	return &storage.Batch{Series: []storage.SeriesRows{{Key: seriesKey(t, host), Times: []int64{ts},
		Fields: []storage.FieldColumn{{Name: "usage", Values: storage.Values{Type: storage.TypeDouble, Floats: []float64{v}}}}}}}
}

func writeMsg(spec Spec, b *storage.Batch, version uint64) *messages.WriteBatch {
	b.Version = version
	w := &messages.WriteBatch{VnodeId: spec.VnodeID, Tenant: spec.Tenant, Db: spec.DB, BucketId: spec.BucketID, ReplicaSetId: spec.ReplicaSetID}
	w.SetBatch(b)
	return w
}

// point identifies a stored value.
type point struct {
	host string
	ts   int64
}

// scanAll reads every usage point of table cpu through a snapshot of the vnode.
func scanAll(t *testing.T, sys *actor.ActorSystem, mgr *actor.PID, spec Spec) map[point]float64 {
	t.Helper()
	res, err := sys.Root.RequestFuture(mgr, &Forward{Spec: spec, Msg: &GetSnapshot{}}, timeout).Result()
	require.NoError(t, err)
	snap, ok := res.(*engine.Snapshot)
	require.True(t, ok, "got %T", res)
	return snapshotPoints(t, snap)
}

func stats(t *testing.T, sys *actor.ActorSystem, mgr *actor.PID, id uint64) *messages.VnodeStats {
	t.Helper()
	res, err := sys.Root.RequestFuture(mgr, &messages.StatsRequest{VnodeId: id}, timeout).Result()
	require.NoError(t, err)
	s, ok := res.(*messages.VnodeStats)
	require.True(t, ok, "got %T %v", res, res)
	return s
}
