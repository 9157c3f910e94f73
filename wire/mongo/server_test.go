package mongo

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// testEnv is a server on 127.0.0.1:0 with an in-memory backend and a connected Go driver.
type testEnv struct {
	srv    *Server
	b      *memBackend
	addr   string
	client *mongo.Client
	db     *mongo.Database
}

func quietLogger() logrus.FieldLogger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return l
}

// startServer starts a server for b (a fresh memBackend when nil) and stops it at cleanup.
func startServer(t testing.TB, cfg Config, b Backend) (*Server, string) {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := NewServer(cfg, b)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		require.NoError(t, srv.Shutdown(ctx))
		require.ErrorIs(t, <-done, ErrServerClosed)
	})
	return srv, l.Addr().String()
}

func newEnv(t *testing.T) *testEnv {
	t.Helper()
	b := newMemBackend(t)
	srv, addr := startServer(t, Config{}, b)
	client := connect(t, addr)
	return &testEnv{srv: srv, b: b, addr: addr, client: client, db: client.Database("testdb")}
}

func connect(t *testing.T, addr string) *mongo.Client {
	t.Helper()
	return connectWith(t, options.Client().ApplyURI("mongodb://"+addr+"/?directConnection=true").SetTimeout(10*time.Second))
}

// connectWith connects with opts (and a 5 s server selection timeout).
func connectWith(t *testing.T, opts *options.ClientOptions) *mongo.Client {
	t.Helper()
	client, err := mongo.Connect(opts.SetServerSelectionTimeout(5 * time.Second))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, client.Disconnect(context.Background())) })
	require.NoError(t, client.Ping(context.Background(), nil))
	return client
}

// run runs a command on db and returns the raw reply.
func run(t *testing.T, db *mongo.Database, cmd bson.D) (bson.Raw, error) {
	t.Helper()
	return db.RunCommand(context.Background(), cmd).Raw()
}

// mustRun runs a command that must succeed.
func mustRun(t *testing.T, db *mongo.Database, cmd bson.D) bson.Raw {
	t.Helper()
	r, err := run(t, db, cmd)
	require.NoError(t, err, "command %v", cmd)
	return r
}

// requireCode asserts that err is a server error with code.
func requireCode(t *testing.T, err error, code int32) {
	t.Helper()
	require.Error(t, err)
	var se mongo.ServerError
	require.True(t, errors.As(err, &se), "not a server error: %T %v", err, err)
	require.True(t, se.HasErrorCode(int(code)), "want code %d; got %v", code, err)
}

// createTS creates a time-series collection with time field "ts" and meta field "meta".
func (e *testEnv) createTS(t *testing.T, name string) *mongo.Collection {
	t.Helper()
	mustRun(t, e.db, d("create", name, "timeseries", d("timeField", "ts", "metaField", "meta")))
	return e.db.Collection(name)
}

// toD decodes raw BSON into an ordered document for comparisons.
func toD(t *testing.T, r bson.Raw) bson.D {
	t.Helper()
	var d bson.D
	require.NoError(t, bson.Unmarshal(r, &d))
	return d
}

// at is a UTC time in ms since the epoch, from minutes after 2024-01-01.
func at(min int) bson.DateTime {
	return bson.NewDateTimeFromTime(time.Date(2024, 1, 1, 0, min, 0, 0, time.UTC))
}

// field returns the decoded value of key in r.
func field(t *testing.T, r bson.Raw, key string) any {
	t.Helper()
	for _, e := range toD(t, r) {
		if e.Key == key {
			return e.Value
		}
	}
	t.Fatalf("no field %q in %s", key, r)
	return nil
}

// d builds an ordered document from key, value pairs.
func d(kv ...any) bson.D {
	out := make(bson.D, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, bson.E{Key: kv[i].(string), Value: kv[i+1]})
	}
	return out
}
