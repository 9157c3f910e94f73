package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/actors/actorstest"
	"github.com/chronogo/chronogo/actors/coordinator"
	"github.com/chronogo/chronogo/messages"
	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/engine"
)

// recorder is a Writer that records what it is given and blocks while hold is set.
type recorder struct {
	mu     sync.Mutex
	writes []string // tenant/db/collection@version:values
	hold   chan struct{}
}

func (r *recorder) ClientWrite(ctx context.Context, tenant, db, coll string, b *storage.Batch, version uint64, level coordinator.Level) error {
	if r.hold != nil {
		<-r.hold
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.writes = append(r.writes, tenant+"/"+db+"/"+coll)
	return nil
}

// quietSystem is an actor system that keeps protoactor's own log lines out of the test output.
func quietSystem() *actor.ActorSystem {
	return actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }))
}

func ask(t *testing.T, sys *actor.ActorSystem, pid *actor.PID, m any) any {
	t.Helper()
	res, err := sys.Root.RequestFuture(pid, m, 5*time.Second).Result()
	require.NoError(t, err)
	return res
}

func oneSeries(t *testing.T) []byte {
	k := storage.SeriesKey{Table: "m"}
	require.NoError(t, k.Normalize())
	return storage.AppendBatch(nil, &storage.Batch{Series: []storage.SeriesRows{{Key: k.Marshal(nil), Times: []int64{1},
		Fields: []storage.FieldColumn{{Name: "v", Values: storage.Values{Type: storage.TypeDouble, Floats: []float64{1}}}}}}})
}

// TestGatewayRefusals: wrong credentials, unknown sessions, databases the user may not write,
// batches that do not decode and writes past the in-flight bound are refused with the codes a
// client acts on, and nothing reaches the writer; a good write does, in the session's tenant.
func TestGatewayRefusals(t *testing.T) {
	sys := quietSystem()
	rec := &recorder{}
	auth := func(_ context.Context, user, password string) (Session, error) {
		if user != "app" || password != "pw" {
			return Session{}, errors.New("wrong user or password")
		}
		return Session{Tenant: "t1", MayWrite: func(db string) bool { return db == "ok" }}, nil
	}
	pid, err := Spawn(sys, Config{Write: rec, Auth: auth, MaxInflight: 1, Logger: actorstest.QuietLogger(), PlacementVersion: func() uint64 { return 42 }})
	require.NoError(t, err)

	bad := ask(t, sys, pid, &messages.ClientHello{User: "app", Password: "nope"}).(*messages.ClientHelloReply)
	require.Equal(t, messages.ErrorCode_ERROR_CODE_BAD_REQUEST, bad.GetCode())
	require.Empty(t, bad.GetSession())
	hello := ask(t, sys, pid, &messages.ClientHello{User: "app", Password: "pw", Tenant: "ignored"}).(*messages.ClientHelloReply)
	require.Equal(t, messages.ErrorCode_ERROR_CODE_OK, hello.GetCode(), hello.GetMessage())
	require.Len(t, hello.GetSession(), 16)
	s := hello.GetSession()

	cases := []struct {
		name string
		m    *messages.ClientWrite
		code messages.ErrorCode
	}{
		{"unknown session", &messages.ClientWrite{Session: []byte("forged"), Db: "ok", Collection: "m", Batch: oneSeries(t)}, messages.ErrorCode_ERROR_CODE_NOT_OWNER},
		{"a database not allowed", &messages.ClientWrite{Session: s, Db: "other", Collection: "m", Batch: oneSeries(t)}, messages.ErrorCode_ERROR_CODE_BAD_REQUEST},
		{"noise for a batch", &messages.ClientWrite{Session: s, Db: "ok", Collection: "m", Batch: []byte{0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2}}, messages.ErrorCode_ERROR_CODE_BAD_REQUEST},
	}
	for _, c := range cases {
		r := ask(t, sys, pid, c.m).(*messages.ClientWriteReply)
		require.Equal(t, c.code, r.GetCode(), "%s: %s", c.name, r.GetMessage())
		require.EqualValues(t, 42, r.GetPlacementVersion(), "%s: every answer says the node's placement version", c.name)
	}
	require.Empty(t, rec.writes)

	r := ask(t, sys, pid, &messages.ClientWrite{Session: s, Db: "ok", Collection: "m", Batch: oneSeries(t)}).(*messages.ClientWriteReply)
	require.Equal(t, messages.ErrorCode_ERROR_CODE_OK, r.GetCode(), r.GetMessage())
	require.EqualValues(t, 1, r.GetPoints())
	require.EqualValues(t, 42, r.GetPlacementVersion())
	require.Equal(t, []string{"t1/ok/m"}, rec.writes, "written in the user's tenant, not the one the client named")

	// one write in flight at most: the second is OVERLOADED at once
	rec.hold = make(chan struct{})
	first := sys.Root.RequestFuture(pid, &messages.ClientWrite{Session: s, Db: "ok", Collection: "m", Batch: oneSeries(t)}, 5*time.Second)
	require.Eventually(t, func() bool {
		r := ask(t, sys, pid, &messages.ClientWrite{Session: s, Db: "ok", Collection: "m", Batch: oneSeries(t)}).(*messages.ClientWriteReply)
		return r.GetCode() == messages.ErrorCode_ERROR_CODE_OVERLOADED && r.GetPlacementVersion() == 42
	}, 5*time.Second, 10*time.Millisecond)
	close(rec.hold)
	res, err := first.Result()
	require.NoError(t, err)
	require.Equal(t, messages.ErrorCode_ERROR_CODE_OK, res.(*messages.ClientWriteReply).GetCode())
}

// scanner is a Scanner of n one-point columns; it records whether its scan was cancelled.
type scanner struct {
	n         int
	cancelled chan struct{}
}

func (s *scanner) ClientScan(ctx context.Context, tenant, db, coll string, tags map[string]string, minT, maxT int64, fields []string,
	fn func(map[string]string, string, *storage.Points) error) error {
	for i := range s.n {
		p := &storage.Points{Times: []int64{int64(i)}, Values: storage.Values{Type: storage.TypeDouble, Floats: []float64{float64(i)}}}
		if err := fn(map[string]string{"host": "h"}, "v", p); err != nil {
			close(s.cancelled)
			return err
		}
	}
	return nil
}

func (s *scanner) ClientAggregate(ctx context.Context, tenant, db, coll string, tags map[string]string, minT, maxT int64, fields []string,
	window, origin int64, fn func(map[string]string, *engine.AggResult) error) error {
	for series := range 2 {
		for w := range s.n {
			r := &engine.AggResult{Series: storage.SeriesID(series + 1), Field: "v", Type: storage.TypeDouble, Start: origin + int64(w)*window,
				Count: int64(w + 1), FSum: float64(w), FMin: -1, FMax: float64(2 * w)}
			if err := fn(map[string]string{"s": fmt.Sprint(series)}, r); err != nil {
				return err
			}
		}
	}
	return nil
}

// TestGatewayAggregateCursor: the windows of one (series, field) come in one column, in order,
// with their counts, sums, minimums and maximums.
func TestGatewayAggregateCursor(t *testing.T) {
	sys := quietSystem()
	sc := &scanner{n: 10, cancelled: make(chan struct{})}
	pid, err := Spawn(sys, Config{Write: &recorder{}, Scan: sc, Logger: actorstest.QuietLogger()})
	require.NoError(t, err)
	s := ask(t, sys, pid, &messages.ClientHello{}).(*messages.ClientHelloReply).GetSession()
	r := ask(t, sys, pid, &messages.ClientScan{Session: s, Db: "d", Collection: "m", WindowNs: 60, Origin: 7}).(*messages.ClientScanReply)
	require.Equal(t, messages.ErrorCode_ERROR_CODE_OK, r.GetCode(), r.GetMessage())
	require.True(t, r.GetDone())
	require.Len(t, r.GetColumns(), 2, "one column per series")
	for si, c := range r.GetColumns() {
		require.Equal(t, map[string]string{"s": fmt.Sprint(si)}, c.GetTags())
		require.Len(t, c.GetTimes(), 10)
		for w := range 10 {
			require.Equal(t, int64(7+60*w), c.GetTimes()[w])
			require.Equal(t, int64(w+1), c.GetCounts()[w])
			require.Equal(t, float64(w), c.GetSums()[w])
			require.Equal(t, -1.0, c.GetMins()[w])
			require.Equal(t, float64(2*w), c.GetMaxs()[w])
		}
	}
}

// TestGatewayScanCursor: a scan is served chunk by chunk through its cursor (every column once,
// in order); a cursor closed half way stops its scan; an unknown cursor is refused.
func TestGatewayScanCursor(t *testing.T) {
	sys := quietSystem()
	sc := &scanner{n: 100, cancelled: make(chan struct{})}
	pid, err := Spawn(sys, Config{Write: &recorder{}, Scan: sc, Logger: actorstest.QuietLogger()})
	require.NoError(t, err)
	s := ask(t, sys, pid, &messages.ClientHello{}).(*messages.ClientHelloReply).GetSession()
	var got []float64
	m := &messages.ClientScan{Session: s, Db: "d", Collection: "m", MaxChunkBytes: 100}
	chunks := 0
	for {
		r := ask(t, sys, pid, m).(*messages.ClientScanReply)
		require.Equal(t, messages.ErrorCode_ERROR_CODE_OK, r.GetCode(), r.GetMessage())
		chunks++
		for _, c := range r.GetColumns() {
			got = append(got, c.GetFloats()...)
		}
		if r.GetDone() {
			break
		}
		m = &messages.ClientScan{Session: s, CursorId: r.GetCursorId(), MaxChunkBytes: 100}
	}
	require.Len(t, got, 100)
	for i, v := range got {
		require.Equal(t, float64(i), v)
	}
	require.Greater(t, chunks, 10, "small chunks")

	// a second scan, closed after its first chunk
	sc.n = 10_000
	r := ask(t, sys, pid, &messages.ClientScan{Session: s, Db: "d", Collection: "m", MaxChunkBytes: 100}).(*messages.ClientScanReply)
	require.False(t, r.GetDone())
	closed := ask(t, sys, pid, &messages.ClientScan{Session: s, CursorId: r.GetCursorId(), Close: true}).(*messages.ClientScanReply)
	require.True(t, closed.GetDone())
	select {
	case <-sc.cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("closing the cursor did not stop its scan")
	}
	again := ask(t, sys, pid, &messages.ClientScan{Session: s, CursorId: r.GetCursorId()}).(*messages.ClientScanReply)
	require.Equal(t, messages.ErrorCode_ERROR_CODE_BAD_REQUEST, again.GetCode())
}

// bigScanner is a Scanner of n columns of points points each; it counts the columns it has
// handed out.
type bigScanner struct {
	n, points int
	handed    atomic.Int64
}

func (s *bigScanner) ClientScan(ctx context.Context, tenant, db, coll string, tags map[string]string, minT, maxT int64, fields []string,
	fn func(map[string]string, string, *storage.Points) error) error {
	for i := range s.n {
		p := &storage.Points{Values: storage.Values{Type: storage.TypeDouble}}
		for j := range s.points {
			p.Times = append(p.Times, int64(i*s.points+j))
			p.Values.Floats = append(p.Values.Floats, float64(i*s.points+j))
		}
		if err := fn(map[string]string{"host": "h"}, "v", p); err != nil {
			return err
		}
		s.handed.Add(1)
	}
	return nil
}

func (s *bigScanner) ClientAggregate(context.Context, string, string, string, map[string]string, int64, int64, []string,
	int64, int64, func(map[string]string, *engine.AggResult) error) error {
	return errors.New("not here")
}

// TestGatewayCursorQuotas: a session opens at most maxSessionCursors cursors (another session
// still can), no session reads or closes another's cursor, and what idle cursors read ahead stays
// within the gateway's budget (plus one column per cursor), whatever the scans could produce.
func TestGatewayCursorQuotas(t *testing.T) {
	sys := quietSystem()
	const budget = 1 << 20
	sc := &bigScanner{n: 1000, points: 1000} // columns of about 16 KB, 16 MB per scan
	pid, g, err := spawn(sys, Config{Write: &recorder{}, Scan: sc, ReadaheadBytes: budget, Logger: actorstest.QuietLogger()})
	require.NoError(t, err)
	hello := func() []byte {
		return ask(t, sys, pid, &messages.ClientHello{}).(*messages.ClientHelloReply).GetSession()
	}
	a, b := hello(), hello()
	var ids []uint64
	for range maxSessionCursors {
		r := ask(t, sys, pid, &messages.ClientScan{Session: a, Db: "d", Collection: "m", MaxChunkBytes: 1}).(*messages.ClientScanReply)
		require.Equal(t, messages.ErrorCode_ERROR_CODE_OK, r.GetCode(), r.GetMessage())
		require.False(t, r.GetDone())
		ids = append(ids, r.GetCursorId())
	}
	r := ask(t, sys, pid, &messages.ClientScan{Session: a, Db: "d", Collection: "m"}).(*messages.ClientScanReply)
	require.Equal(t, messages.ErrorCode_ERROR_CODE_OVERLOADED, r.GetCode())
	require.Contains(t, r.GetMessage(), "open cursors")
	rb := ask(t, sys, pid, &messages.ClientScan{Session: b, Db: "d", Collection: "m", MaxChunkBytes: 1}).(*messages.ClientScanReply)
	require.Equal(t, messages.ErrorCode_ERROR_CODE_OK, rb.GetCode(), "another session still opens cursors")

	// b can neither read nor close a's cursor; a still can
	for _, m := range []*messages.ClientScan{{Session: b, CursorId: ids[0]}, {Session: b, CursorId: ids[0], Close: true}} {
		r := ask(t, sys, pid, m).(*messages.ClientScanReply)
		require.Equal(t, messages.ErrorCode_ERROR_CODE_BAD_REQUEST, r.GetCode())
		require.Contains(t, r.GetMessage(), "not open")
	}
	ra := ask(t, sys, pid, &messages.ClientScan{Session: a, CursorId: ids[0], MaxChunkBytes: 1}).(*messages.ClientScanReply)
	require.Equal(t, messages.ErrorCode_ERROR_CODE_OK, ra.GetCode(), ra.GetMessage())
	require.Len(t, ra.GetColumns(), 1)
	require.Equal(t, float64(1000), ra.GetColumns()[0].GetFloats()[0], "a's cursor goes on where it was")

	// nobody reads: the scans stop once the budget is used (each cursor may hold one column past it)
	perColumn := columnBytes(pointsColumn(nil, "v", &storage.Points{Times: make([]int64, 1000), Values: storage.Values{Type: storage.TypeDouble, Floats: make([]float64, 1000)}}, 0, 1000))
	cursors := int64(maxSessionCursors + 1)
	time.Sleep(300 * time.Millisecond)
	held := g.readahead.Load()
	require.LessOrEqual(t, held, budget+cursors*perColumn)
	require.Less(t, sc.handed.Load(), int64(maxSessionCursors*1000), "the scans wait")

	// closing the cursors gives their read-ahead back
	for _, id := range ids {
		r := ask(t, sys, pid, &messages.ClientScan{Session: a, CursorId: id, Close: true}).(*messages.ClientScanReply)
		require.True(t, r.GetDone())
	}
	require.Eventually(t, func() bool { return g.readahead.Load() <= 17*perColumn }, 5*time.Second, 10*time.Millisecond,
		"only b's cursor holds columns")
}

// A column longer than maxColumnPoints reaches the client in pieces, every point once and in order.
func TestGatewaySplitsLongColumns(t *testing.T) {
	sys := quietSystem()
	sc := &bigScanner{n: 2, points: 2*maxColumnPoints + 5}
	pid, err := Spawn(sys, Config{Write: &recorder{}, Scan: sc, Logger: actorstest.QuietLogger()})
	require.NoError(t, err)
	s := ask(t, sys, pid, &messages.ClientHello{}).(*messages.ClientHelloReply).GetSession()
	var got []float64
	columns := 0
	m := &messages.ClientScan{Session: s, Db: "d", Collection: "m"}
	for {
		r := ask(t, sys, pid, m).(*messages.ClientScanReply)
		require.Equal(t, messages.ErrorCode_ERROR_CODE_OK, r.GetCode(), r.GetMessage())
		for _, c := range r.GetColumns() {
			require.LessOrEqual(t, len(c.GetTimes()), maxColumnPoints)
			require.Equal(t, len(c.GetTimes()), len(c.GetFloats()))
			for i, ts := range c.GetTimes() {
				require.Equal(t, float64(ts), c.GetFloats()[i])
			}
			got = append(got, c.GetFloats()...)
			columns++
		}
		if r.GetDone() {
			break
		}
		m = &messages.ClientScan{Session: s, CursorId: r.GetCursorId()}
	}
	require.Equal(t, 6, columns)
	require.Len(t, got, 2*sc.points)
	for i, v := range got {
		require.Equal(t, float64(i), v)
	}
}
