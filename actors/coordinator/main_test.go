package coordinator

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/chronogo/chronogo/actors"
	"github.com/chronogo/chronogo/actors/actorstest"
	"github.com/chronogo/chronogo/actors/vnode"
	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/engine"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, actorstest.ProtoactorGoroutines()...)
}

const (
	tenant   = "default"
	dbName   = "db1"
	table    = "cpu"
	localID  = 1
	remoteID = 2
)

// cluster is one node's actor system with a vnode manager and a coordinator.
type cluster struct {
	sys    *actor.ActorSystem
	mgr    *actor.PID
	client *Client
	place  *actorstest.MemPlacement
}

// startCluster places every replica set on the given nodes (node 1 is this node; node 2 has an
// address nobody listens on) with the database options db.
func startCluster(t *testing.T, nodeIDs []uint64, db meta.Database) *cluster {
	t.Helper()
	log := logrus.New()
	log.SetOutput(io.Discard)
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}))
	mgr, err := sys.Root.SpawnNamed(vnode.ManagerProps(vnode.Config{Root: t.TempDir(), Logger: log}), actors.ManagerName)
	require.NoError(t, err)
	place := actorstest.NewMemPlacement(meta.Node{ID: localID}, meta.Node{ID: remoteID, ActorAddr: "127.0.0.1:1"})
	place.NodeIDs = nodeIDs
	db.Tenant, db.Name = tenant, dbName
	place.AddDatabase(db)
	client, err := Spawn(sys, Config{NodeID: localID, Placement: place, Manager: mgr, ReplicaTimeout: time.Second, Logger: log})
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, client.Stop())
		require.NoError(t, sys.Root.StopFuture(mgr).Wait())
		sys.Shutdown()
	})
	return &cluster{sys: sys, mgr: mgr, client: client, place: place}
}

// pt is one stored value: series (host), time, field.
type pt struct {
	host  string
	ts    int64
	field string
}

func hostKey(t testing.TB, host string) []byte {
	k := storage.SeriesKey{Table: table, Tags: []storage.Tag{{Key: "host", Value: storage.StringTag(host)}}}
	require.NoError(t, k.Normalize())
	return k.Marshal(nil)
}

// makeBatch builds a batch of the hosts with rows at times; field "usage" has every row, field
// "temp" only even rows (a sparse column). It adds the values to model.
func makeBatch(t testing.TB, hosts []string, times []int64, seed int, model map[pt]float64) *storage.Batch {
	b := &storage.Batch{}
	for hi, h := range hosts {
		s := storage.SeriesRows{Key: hostKey(t, h), Times: times}
		usage := storage.FieldColumn{Name: "usage", Values: storage.Values{Type: storage.TypeDouble}}
		temp := storage.FieldColumn{Name: "temp", Rows: []uint32{}, Values: storage.Values{Type: storage.TypeDouble}}
		for r, ts := range times {
			u := float64(seed*10000 + hi*100 + r)
			usage.Values.Floats = append(usage.Values.Floats, u)
			model[pt{h, ts, "usage"}] = u
			if r%2 == 0 {
				temp.Rows = append(temp.Rows, uint32(r))
				temp.Values.Floats = append(temp.Values.Floats, -u)
				model[pt{h, ts, "temp"}] = -u
			}
		}
		s.Fields = []storage.FieldColumn{usage, temp}
		b.Series = append(b.Series, s)
	}
	return b
}

// collect turns scan callbacks into points.
func collect(t testing.TB, out map[pt]float64) ScanFunc {
	return func(snap Source, col *engine.ScanColumn) error {
		k, ok := snap.SeriesKey(col.Series)
		require.True(t, ok)
		h, _ := k.Tag("host")
		for i, ts := range col.Points.Times {
			out[pt{string(h.Raw), ts, col.Field}] = col.Points.Values.Floats[i]
		}
		return nil
	}
}

// scanVnode reads one vnode directly.
func (c *cluster) scanVnode(t *testing.T, spec vnode.Spec) map[pt]float64 {
	t.Helper()
	res, err := c.sys.Root.RequestFuture(c.mgr, &vnode.Forward{Spec: spec, Msg: &vnode.GetSnapshot{}}, 5*time.Second).Result()
	require.NoError(t, err)
	snap := res.(*engine.Snapshot)
	defer snap.Release()
	out := map[pt]float64{}
	fn := collect(t, out)
	require.NoError(t, snap.Scan(engine.ScanQuery{Table: table, MinTime: math.MinInt64, MaxTime: math.MaxInt64}, func(col *engine.ScanColumn) error { return fn(snap, col) }))
	return out
}

func (c *cluster) scanAll(t *testing.T) map[pt]float64 {
	t.Helper()
	out := map[pt]float64{}
	require.NoError(t, c.client.Scan(context.Background(), tenant, dbName, table, engine.ScanQuery{MinTime: math.MinInt64, MaxTime: math.MaxInt64}, collect(t, out)))
	return out
}

func hosts(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("host-%02d", i)
	}
	return out
}
