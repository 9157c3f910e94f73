package reader

import (
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
	"github.com/chronogo/chronogo/messages"
	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/index"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, actorstest.ProtoactorGoroutines()...)
}

const timeout = 10 * time.Second

var spec = vnode.Spec{Tenant: "default", DB: "db1", BucketID: 1, ReplicaSetID: 2, VnodeID: 3}

// fixture is an actor system with a vnode manager and a reader.
type fixture struct {
	sys    *actor.ActorSystem
	mgr    *actor.PID
	reader *actor.PID
}

func start(t *testing.T, cfg Config) *fixture {
	t.Helper()
	log := logrus.New()
	log.SetOutput(io.Discard)
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}))
	mgr, err := sys.Root.SpawnNamed(vnode.ManagerProps(vnode.Config{Root: t.TempDir(), Logger: log}), actors.ManagerName)
	require.NoError(t, err)
	cfg.Manager, cfg.Logger = mgr, log
	rd, err := sys.Root.SpawnNamed(Props(cfg), actors.ReaderName)
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, sys.Root.StopFuture(rd).Wait())
		require.NoError(t, sys.Root.StopFuture(mgr).Wait())
		sys.Shutdown()
	})
	return &fixture{sys: sys, mgr: mgr, reader: rd}
}

type point struct {
	host  string
	field string
	ts    int64
}

// write stores hosts x n points: usage (float) and msg (a string of growing length).
func (f *fixture) write(t *testing.T, hosts, n int) map[point]any {
	t.Helper()
	model := map[point]any{}
	b := &storage.Batch{Version: 1}
	for h := range hosts {
		host := fmt.Sprintf("h%d", h)
		k := storage.SeriesKey{Table: "cpu", Tags: []storage.Tag{{Key: "host", Value: storage.StringTag(host)}}}
		require.NoError(t, k.Normalize())
		s := storage.SeriesRows{Key: k.Marshal(nil)}
		usage := storage.FieldColumn{Name: "usage", Values: storage.Values{Type: storage.TypeDouble}}
		msg := storage.FieldColumn{Name: "msg", Values: storage.Values{Type: storage.TypeString}}
		for i := range n {
			ts := int64(i * 10)
			s.Times = append(s.Times, ts)
			u := float64(h*1000 + i)
			usage.Values.Floats = append(usage.Values.Floats, u)
			m := fmt.Sprintf("%s-%0*d", host, i%50, i)
			msg.Values.Bytes = append(msg.Values.Bytes, []byte(m))
			model[point{host, "usage", ts}] = u
			model[point{host, "msg", ts}] = m
		}
		s.Fields = []storage.FieldColumn{usage, msg}
		b.Series = append(b.Series, s)
	}
	w := &messages.WriteBatch{VnodeId: spec.VnodeID, Tenant: spec.Tenant, Db: spec.DB, BucketId: spec.BucketID, ReplicaSetId: spec.ReplicaSetID, Version: 1}
	w.SetBatch(b)
	res, err := f.sys.Root.RequestFuture(f.mgr, w, timeout).Result()
	require.NoError(t, err)
	require.Equal(t, messages.ErrorCode_ERROR_CODE_OK, res.(*messages.WriteAck).GetCode())
	return model
}

func (f *fixture) request(t *testing.T, m *messages.ScanRequest) any {
	t.Helper()
	env, err := messages.Wrap(m)
	require.NoError(t, err)
	res, err := f.sys.Root.RequestFuture(f.reader, env, timeout).Result()
	require.NoError(t, err)
	return res
}

func (f *fixture) openCursors(t *testing.T) int {
	res, err := f.sys.Root.RequestFuture(f.reader, &Stats{}, timeout).Result()
	require.NoError(t, err)
	return res.(*StatsReply).OpenCursors
}

// scanAll reads a whole cursor and counts the chunks and the columns cut between two chunks.
func (f *fixture) scanAll(t *testing.T, req *messages.ScanRequest) (got map[point]any, chunks, cuts int) {
	t.Helper()
	got = map[point]any{}
	type colKey struct{ key, field string }
	var last colKey
	for {
		res := f.request(t, req)
		ch, ok := res.(*messages.ScanChunk)
		require.True(t, ok, "got %T %v", res, res)
		require.Equal(t, messages.ErrorCode_ERROR_CODE_OK, ch.GetCode(), ch.GetMessage())
		chunks++
		for i, col := range ch.GetColumns() {
			k, err := storage.UnmarshalSeriesKey(col.GetSeriesKey())
			require.NoError(t, err)
			host, _ := k.Tag("host")
			pts, err := ColumnPoints(col)
			require.NoError(t, err)
			ck := colKey{string(col.GetSeriesKey()), col.GetField()}
			if i == 0 && ck == last && chunks > 1 {
				cuts++
			}
			last = ck
			for j, ts := range pts.Times {
				p := point{string(host.Raw), col.GetField(), ts}
				require.NotContains(t, got, p, "each point once")
				if pts.Values.Type == storage.TypeDouble {
					got[p] = pts.Values.Floats[j]
				} else {
					got[p] = string(pts.Values.Bytes[j])
				}
			}
		}
		if ch.GetDone() {
			return got, chunks, cuts
		}
		req = &messages.ScanRequest{CursorId: ch.GetCursorId()}
	}
}

func TestReaderScan(t *testing.T) {
	f := start(t, Config{})
	model := f.write(t, 4, 300)
	ref := spec.VnodeRef()

	got, chunks, cuts := f.scanAll(t, &messages.ScanRequest{Vnode: ref, Table: "cpu", MinTime: math.MinInt64, MaxTime: math.MaxInt64, MaxChunkBytes: 2048})
	require.Equal(t, model, got)
	require.Greater(t, chunks, 10)
	require.Greater(t, cuts, 4, "columns of 300 points do not fit 2 KiB")

	got, chunks, _ = f.scanAll(t, &messages.ScanRequest{Vnode: ref, Table: "cpu", MinTime: math.MinInt64, MaxTime: math.MaxInt64})
	require.Equal(t, model, got)
	require.Equal(t, 1, chunks, "1 MiB by default")

	// filter, time range and fields travel with the request
	filter, err := index.AppendExpr(nil, index.Match{Key: "host", Op: index.OpIn, Values: []storage.TagValue{storage.StringTag("h1"), storage.StringTag("h3")}})
	require.NoError(t, err)
	got, _, _ = f.scanAll(t, &messages.ScanRequest{Vnode: ref, Table: "cpu", Filter: filter, MinTime: 100, MaxTime: 199, Fields: []string{"usage"}, MaxChunkBytes: 100})
	want := map[point]any{}
	for p, v := range model {
		if (p.host == "h1" || p.host == "h3") && p.ts >= 100 && p.ts <= 199 && p.field == "usage" {
			want[p] = v
		}
	}
	require.Len(t, want, 20)
	require.Equal(t, want, got)
	require.Eventually(t, func() bool { return f.openCursors(t) == 0 }, timeout, 10*time.Millisecond, "finished cursors are gone")
}

func TestReaderAggregate(t *testing.T) {
	f := start(t, Config{})
	model := f.write(t, 3, 200)
	req := &messages.ScanRequest{Vnode: spec.VnodeRef(), Table: "cpu", MinTime: 0, MaxTime: math.MaxInt64, Fields: []string{"usage"},
		MaxChunkBytes: 1024, Aggregate: true, Window: 500}
	type win struct {
		host  string
		start int64
	}
	counts, sums := map[win]int64{}, map[win]float64{}
	chunks := 0
	for {
		res := f.request(t, req)
		ch, ok := res.(*messages.AggChunk)
		require.True(t, ok, "got %T", res)
		require.Equal(t, messages.ErrorCode_ERROR_CODE_OK, ch.GetCode(), ch.GetMessage())
		chunks++
		for _, row := range ch.GetRows() {
			k, err := storage.UnmarshalSeriesKey(row.GetSeriesKey())
			require.NoError(t, err)
			host, _ := k.Tag("host")
			r := AggResultOf(row, 1)
			w := win{string(host.Raw), r.Start}
			counts[w] += r.Count
			sums[w] += r.FSum
		}
		if ch.GetDone() {
			break
		}
		req = &messages.ScanRequest{CursorId: ch.GetCursorId(), Aggregate: true}
	}
	require.Greater(t, chunks, 1)
	wantCounts, wantSums := map[win]int64{}, map[win]float64{}
	for p, v := range model {
		if p.field == "usage" {
			w := win{p.host, p.ts / 500 * 500}
			wantCounts[w]++
			wantSums[w] += v.(float64)
		}
	}
	require.Equal(t, wantCounts, counts)
	require.Equal(t, wantSums, sums)
}

func TestReaderCloseIdleAndErrors(t *testing.T) {
	f := start(t, Config{IdleTimeout: 100 * time.Millisecond})
	f.write(t, 2, 200)
	open := func() uint64 {
		res := f.request(t, &messages.ScanRequest{Vnode: spec.VnodeRef(), Table: "cpu", MinTime: math.MinInt64, MaxTime: math.MaxInt64, MaxChunkBytes: 256})
		ch := res.(*messages.ScanChunk)
		require.False(t, ch.GetDone())
		require.NotZero(t, ch.GetCursorId())
		return ch.GetCursorId()
	}
	requireUnknown := func(id uint64) {
		res := f.request(t, &messages.ScanRequest{CursorId: id})
		ch := res.(*messages.ScanChunk)
		require.Equal(t, messages.ErrorCode_ERROR_CODE_BAD_REQUEST, ch.GetCode())
		require.Contains(t, ch.GetMessage(), "unknown cursor")
		require.True(t, ch.GetDone())
	}

	// CloseCursor releases at once
	id := open()
	require.Equal(t, 1, f.openCursors(t))
	env, err := messages.Wrap(&messages.CloseCursor{CursorId: id})
	require.NoError(t, err)
	f.sys.Root.Send(f.reader, env)
	require.Eventually(t, func() bool { return f.openCursors(t) == 0 }, timeout, 10*time.Millisecond)
	requireUnknown(id)

	// an idle cursor goes away by itself
	id = open()
	require.Eventually(t, func() bool { return f.openCursors(t) == 0 }, timeout, 10*time.Millisecond)
	requireUnknown(id)

	// bad requests
	res := f.request(t, &messages.ScanRequest{Vnode: spec.VnodeRef(), Table: "cpu", Filter: []byte{9, 9}, Aggregate: true})
	ach := res.(*messages.AggChunk)
	require.Equal(t, messages.ErrorCode_ERROR_CODE_BAD_REQUEST, ach.GetCode())
	require.Contains(t, ach.GetMessage(), "decoding expression")
	res = f.request(t, &messages.ScanRequest{Vnode: &messages.VnodeRef{VnodeId: 99}, Table: "cpu"})
	ch := res.(*messages.ScanChunk)
	require.Equal(t, messages.ErrorCode_ERROR_CODE_BAD_REQUEST, ch.GetCode())
	require.Contains(t, ch.GetMessage(), "incomplete vnode spec")
	res = f.request(t, &messages.ScanRequest{Vnode: spec.VnodeRef(), Table: "nope", MinTime: math.MinInt64, MaxTime: math.MaxInt64})
	ch = res.(*messages.ScanChunk)
	require.Equal(t, messages.ErrorCode_ERROR_CODE_OK, ch.GetCode())
	require.True(t, ch.GetDone())
	require.Empty(t, ch.GetColumns())

	// other types in envelopes are refused, never dropped
	env, err = messages.Wrap(&messages.StatsRequest{VnodeId: 1})
	require.NoError(t, err)
	r, err := f.sys.Root.RequestFuture(f.reader, env, timeout).Result()
	require.NoError(t, err)
	require.Equal(t, messages.ErrorCode_ERROR_CODE_UNSUPPORTED, r.(*messages.ErrorReply).GetCode())
	require.Eventually(t, func() bool { return f.openCursors(t) == 0 }, timeout, 10*time.Millisecond)
}
