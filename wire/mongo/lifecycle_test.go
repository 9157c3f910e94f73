package mongo

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.uber.org/goleak"

	"github.com/chronogo/chronogo/meta"
)

// slowBackend blocks Find until released, to test Shutdown with a request in flight.
type slowBackend struct {
	*memBackend
	entered, release chan struct{}
}

func (s *slowBackend) Find(ctx context.Context, c *meta.Collection, p *Pushdown, fn func(bson.Raw) error) error {
	close(s.entered)
	<-s.release
	return s.memBackend.Find(ctx, c, p, fn)
}

// panicBackend panics in Find.
type panicBackend struct{ *memBackend }

func (panicBackend) Find(context.Context, *meta.Collection, *Pushdown, func(bson.Raw) error) error {
	panic("boom")
}

func seedCollection(t testing.TB, b *memBackend) {
	require.NoError(t, b.CreateCollection(t.Context(), &meta.Collection{DB: "db", Name: "c", TimeField: "ts", Granularity: "seconds", BucketMaxSpanSeconds: 3600}))
}

func TestShutdownWaitsForInFlightRequests(t *testing.T) {
	defer goleak.VerifyNone(t)
	b := &slowBackend{memBackend: newMemBackend(t), entered: make(chan struct{}), release: make(chan struct{})}
	seedCollection(t, b.memBackend)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := NewServer(Config{Logger: quietLogger()}, b)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()

	busy := dialRaw(t, l.Addr().String())
	idle := dialRaw(t, l.Addr().String())
	_, doc := idle.roundTrip(opMsg(t, 1, 0, d("ping", 1, "$db", "admin")))
	require.EqualValues(t, 1, doc.Lookup("ok").Double())

	_, err = busy.nc.Write(opMsg(t, 1, 0, d("find", "c", "$db", "db")))
	require.NoError(t, err)
	<-b.entered

	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(context.Background()) }()
	idle.requireClosed(nil) // the idle connection is closed at once
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v with a request in flight", err)
	case <-time.After(50 * time.Millisecond):
	}
	_, err = net.Dial("tcp", l.Addr().String())
	require.Error(t, err, "no new connections")

	close(b.release)
	h, body, err := ReadMessage(busy.r)
	require.NoError(t, err, "the in-flight request is answered")
	m, err := decodeOpMsg(h, body)
	require.NoError(t, err)
	require.EqualValues(t, 1, m.Body.Lookup("ok").Double())
	require.NoError(t, <-shut)
	require.ErrorIs(t, <-served, ErrServerClosed)
	busy.requireClosed(nil)
}

func TestShutdownDeadline(t *testing.T) {
	b := &slowBackend{memBackend: newMemBackend(t), entered: make(chan struct{}), release: make(chan struct{})}
	seedCollection(t, b.memBackend)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := NewServer(Config{Logger: quietLogger()}, b)
	go func() { _ = srv.Serve(l) }()
	c := dialRaw(t, l.Addr().String())
	_, err = c.nc.Write(opMsg(t, 1, 0, d("find", "c", "$db", "db")))
	require.NoError(t, err)
	<-b.entered
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, srv.Shutdown(ctx), context.DeadlineExceeded)
	c.requireClosed(nil)
	close(b.release)
}

func TestHandlerPanicIsInternalError(t *testing.T) {
	b := panicBackend{newMemBackend(t)}
	seedCollection(t, b.memBackend)
	_, addr := startServer(t, Config{}, b)
	c := dialRaw(t, addr)
	_, doc := c.roundTrip(opMsg(t, 1, 0, d("find", "c", "$db", "db")))
	require.EqualValues(t, 1, doc.Lookup("code").Int32())
	require.Equal(t, "InternalError", doc.Lookup("codeName").StringValue())
	_, doc = c.roundTrip(opMsg(t, 2, 0, d("ping", 1, "$db", "admin")))
	require.EqualValues(t, 1, doc.Lookup("ok").Double())
}

func TestIdleCursorsAreReaped(t *testing.T) {
	b := newMemBackend(t)
	seedCollection(t, b)
	srv, addr := startServer(t, Config{IdleCursorTimeout: 50 * time.Millisecond, CursorReapInterval: 10 * time.Millisecond}, b)
	c, ok, err := b.Collection(t.Context(), "db", "c")
	require.NoError(t, err)
	require.True(t, ok)
	require.NoError(t, b.Insert(t.Context(), c, []bson.Raw{mustMarshal(t, d("ts", at(1))), mustMarshal(t, d("ts", at(2)))}))
	rc := dialRaw(t, addr)
	_, doc := rc.roundTrip(opMsg(t, 1, 0, d("find", "c", "batchSize", 1, "$db", "db")))
	id := doc.Lookup("cursor", "id").Int64()
	require.NotZero(t, id)
	require.Eventually(t, func() bool { return srv.cursors.len() == 0 }, 2*time.Second, 10*time.Millisecond)
	_, doc = rc.roundTrip(opMsg(t, 2, 0, d("getMore", id, "collection", "c", "$db", "db")))
	require.EqualValues(t, 43, doc.Lookup("code").Int32())
}
