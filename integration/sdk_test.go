//go:build !race

package integration

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"google.golang.org/protobuf/proto"

	"github.com/chronogo/chronogo/actors"
	"github.com/chronogo/chronogo/actors/client"
	"github.com/chronogo/chronogo/integration/setup"
	"github.com/chronogo/chronogo/messages"
	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/wire/tlsmode/tlstest"
)

// sdkPoint is what the test expects the Go driver to read back for one point.
type sdkPoint struct {
	v float64
	n int64
	s string
}

// sdkBatch is points i in [from, to) of host h<i%5> at base+i s, with v, n and s fields.
func sdkBatch(t *testing.T, coll string, from, to int, base time.Time, model map[string]sdkPoint) *client.Batch {
	t.Helper()
	b := client.NewBatch(coll)
	for i := from; i < to; i++ {
		host := fmt.Sprintf("h%d", i%5)
		ts := base.Add(time.Duration(i) * time.Second)
		p := sdkPoint{v: float64(i) / 4, n: int64(i), s: fmt.Sprintf("s%d", i)}
		require.NoError(t, b.Add(ts, map[string]string{"host": host}, map[string]any{"v": p.v, "n": p.n, "s": p.s}))
		if model != nil {
			model[fmt.Sprintf("%s@%d", host, ts.UnixMilli())] = p
		}
	}
	return b
}

// readSDK reads the collection through the Go driver into the model's shape.
func readSDK(t *testing.T, ctx context.Context, s *setup.Server, db, coll string) map[string]sdkPoint {
	t.Helper()
	cur, err := s.Client().Database(db).Collection(coll).Find(ctx, bson.D{})
	require.NoError(t, err)
	defer cur.Close(ctx)
	out := map[string]sdkPoint{}
	for cur.Next(ctx) {
		var d struct {
			Time time.Time `bson:"time"`
			Tags struct {
				Host string `bson:"host"`
			} `bson:"tags"`
			V float64 `bson:"v"`
			N int64   `bson:"n"`
			S string  `bson:"s"`
		}
		require.NoError(t, cur.Decode(&d))
		k := fmt.Sprintf("%s@%d", d.Tags.Host, d.Time.UnixMilli())
		if _, dup := out[k]; dup {
			t.Fatalf("point %s read twice", k)
		}
		out[k] = sdkPoint{v: d.V, n: d.N, s: d.S}
	}
	require.NoError(t, cur.Err())
	return out
}

// scanSDK reads collection m of sdk through the SDK into the model's shape.
func scanSDK(t *testing.T, ctx context.Context, cl *client.Client, tags map[string]string) map[string]sdkPoint {
	t.Helper()
	out := map[string]sdkPoint{}
	// small chunks: the cursor is asked again many times
	require.NoError(t, cl.Scan(ctx, "sdk", client.Query{Collection: "m", Tags: tags, ChunkBytes: 4096}, func(c client.Column) error {
		for i, ts := range c.Times {
			k := fmt.Sprintf("%s@%d", c.Tags["host"], ts.UnixMilli())
			p := out[k]
			switch c.Field {
			case "v":
				p.v = c.Floats[i]
			case "n":
				p.n = c.Ints[i]
			case "s":
				p.s = c.Strings[i]
			}
			out[k] = p
		}
		return nil
	}))
	return out
}

// TestSDKWrites: the Go SDK against 3 data nodes (replication 3): batches at each consistency
// level and through a Writer (small batches, linger) read back exactly through the Go driver
// (read your writes), and through the SDK's Scan (all, and one host); then one data node is SIGKILLed while synchronous writes at quorum go on:
// every write the SDK acknowledged is read back, and writes keep being acknowledged.
func TestSDKWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four processes")
	}
	t.Parallel()
	ctx := testCtx(t)
	c := setup.StartCluster(t, 1, 3, "--replication-factor", "3")
	cl, err := client.Dial(ctx, client.Options{Seeds: []string{c.Data[0].HTTPAddr}})
	require.NoError(t, err)
	defer func() { require.NoError(t, cl.Close()) }()
	base := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	model := map[string]sdkPoint{}
	require.Eventually(t, func() bool {
		return cl.Write(ctx, "sdk", sdkBatch(t, "m", 0, 100, base, model), client.Quorum) == nil
	}, 30*time.Second, 200*time.Millisecond, "the data nodes registered")
	for i, level := range []client.Consistency{client.Any, client.One, client.Quorum, client.All, client.Default} {
		require.NoError(t, cl.Write(ctx, "sdk", sdkBatch(t, "m", 100+i*1000, 100+(i+1)*1000, base, model), level), "level %s", level)
	}
	require.Equal(t, model, readSDK(t, ctx, c.Data[1], "sdk", "m"), "read your writes through the Go driver")
	require.Equal(t, model, scanSDK(t, ctx, cl, nil), "read your writes through the SDK")
	h1 := map[string]sdkPoint{}
	for k, p := range model {
		if k[:3] == "h1@" {
			h1[k] = p
		}
	}
	require.Equal(t, h1, scanSDK(t, ctx, cl, map[string]string{"host": "h1"}), "a scan of one host")
	require.ErrorContains(t, cl.Scan(ctx, "sdk", client.Query{Collection: "nope"}, func(client.Column) error { return nil }), "no time-series collection")
	// hourly aggregates of v for h1, against the same sums computed from the model
	type agg struct {
		count         int64
		sum, min, max float64
	}
	wantAgg := map[int64]agg{}
	for k, p := range h1 {
		var ms int64
		_, err := fmt.Sscanf(k, "h1@%d", &ms)
		require.NoError(t, err)
		w := ms / 3_600_000 * 3_600_000
		a, seen := wantAgg[w]
		if !seen {
			a.min, a.max = p.v, p.v
		}
		a.count++
		a.sum += p.v
		a.min, a.max = min(a.min, p.v), max(a.max, p.v)
		wantAgg[w] = a
	}
	gotAgg := map[int64]agg{}
	require.NoError(t, cl.Scan(ctx, "sdk", client.Query{Collection: "m", Tags: map[string]string{"host": "h1"}, Fields: []string{"v"}, Window: time.Hour},
		func(c client.Column) error {
			require.Equal(t, "v", c.Field)
			for i, ts := range c.Times {
				w := ts.UnixMilli()
				require.NotContains(t, gotAgg, w, "one result per window (the data lies in one day)")
				gotAgg[w] = agg{c.Counts[i], c.Sums[i], c.Mins[i], c.Maxs[i]}
			}
			return nil
		}))
	require.Equal(t, wantAgg, gotAgg)

	// a client that discovers the cluster through the meta node writes and reads the same way
	viaMeta, err := client.Dial(ctx, client.Options{Seeds: []string{c.Meta[0].HTTPAddr}})
	require.NoError(t, err)
	require.NoError(t, viaMeta.Write(ctx, "sdk", sdkBatch(t, "m", 90_000, 90_100, base, model), client.All))
	require.Equal(t, model, scanSDK(t, ctx, viaMeta, nil), "read through a client seeded with the meta node")
	require.NoError(t, viaMeta.Close())

	w := cl.NewWriter("sdk", "m", client.WriterOptions{BatchValues: 3000, Linger: 20 * time.Millisecond, MaxInflightBytes: 200_000})
	for i := 10_000; i < 30_000; i++ {
		ts := base.Add(time.Duration(i) * time.Second)
		host := fmt.Sprintf("h%d", i%5)
		p := sdkPoint{v: float64(i) / 4, n: int64(i), s: fmt.Sprintf("s%d", i)}
		require.NoError(t, w.Add(ts, map[string]string{"host": host}, map[string]any{"v": p.v, "n": p.n, "s": p.s}))
		model[fmt.Sprintf("%s@%d", host, ts.UnixMilli())] = p
	}
	require.NoError(t, w.Close(ctx))
	require.Equal(t, model, readSDK(t, ctx, c.Data[2], "sdk", "m"), "everything the Writer sent")

	// a data node dies mid-stream
	var (
		mu    sync.Mutex
		acked = map[string]sdkPoint{}
		fails int
	)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for k := 0; ; k++ {
			select {
			case <-stop:
				return
			default:
			}
			m := map[string]sdkPoint{}
			err := cl.Write(ctx, "sdk", sdkBatch(t, "m", 100_000+k*50, 100_000+(k+1)*50, base, m), client.Quorum)
			mu.Lock()
			if err == nil {
				for key, p := range m {
					acked[key] = p
				}
			} else {
				if fails++; fails <= 10 {
					t.Logf("write %d failed at %s: %v", k, time.Now().Format("15:04:05.000"), err)
				}
			}
			mu.Unlock()
		}
	}()
	time.Sleep(300 * time.Millisecond)
	c.Data[2].Kill()
	mu.Lock()
	atKill := len(acked)
	mu.Unlock()
	// writes go on being acknowledged: within the SDK's first attempt on the dead node (2 s) and
	// a retry elsewhere, more on a loaded machine
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) > atKill+500
	}, 30*time.Second, 50*time.Millisecond, "writes are acknowledged after the kill")
	time.Sleep(time.Second)
	close(stop)
	<-done
	mu.Lock()
	defer mu.Unlock()
	t.Logf("acknowledged %d points (%d before the kill), %d writes failed", len(acked), atKill, fails)
	got := readSDK(t, ctx, c.Data[0], "sdk", "m")
	for k, p := range acked {
		require.Equal(t, p, got[k], "acknowledged point %s", k)
	}
	for k, p := range model {
		require.Equal(t, p, got[k], "point %s", k)
	}
}

// TestSDKRetryIdempotent: the same ClientWrite sent twice (a retry after a lost answer) stores
// each point once; the same points with other values and an older version change nothing, with
// a newer version they replace the values (last-write-wins by the client's version). Raw gateway
// messages from an actor system of the test's own, against a standalone server.
func TestSDKRetryIdempotent(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	srv := setup.Start(t, "", "--actor-addr", fmt.Sprintf("127.0.0.1:%d", setup.FreePort(t)))
	var nodes struct {
		Nodes []struct{ ActorAddr string }
	}
	require.NoError(t, getJSON("http://"+srv.HTTPAddr+"/api/v1/nodes", &nodes))
	require.Len(t, nodes.Nodes, 1)
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }))
	r := remote.NewRemote(sys, remote.Configure("127.0.0.1", 0))
	r.Start()
	defer r.Shutdown(false)
	gw := actor.NewPID(nodes.Nodes[0].ActorAddr, actors.GatewayName)
	askGW := func(m proto.Message) any {
		env, err := messages.Wrap(m)
		require.NoError(t, err)
		res, err := sys.Root.RequestFuture(gw, env, 10*time.Second).Result()
		require.NoError(t, err)
		out, err := messages.Unwrap(res)
		require.NoError(t, err)
		return out
	}
	session := askGW(&messages.ClientHello{}).(*messages.ClientHelloReply).GetSession()
	require.NotEmpty(t, session)
	base := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	batchOf := func(add float64) []byte {
		b := storage.Batch{}
		for h := range 3 {
			k := storage.SeriesKey{Table: "m", Tags: []storage.Tag{{Key: "host", Value: storage.StringTag(fmt.Sprintf("h%d", h))}}}
			require.NoError(t, k.Normalize())
			s := storage.SeriesRows{Key: k.Marshal(nil), Fields: []storage.FieldColumn{{Name: "v", Values: storage.Values{Type: storage.TypeDouble}}}}
			for i := range 100 {
				s.Times = append(s.Times, base.Add(time.Duration(i)*time.Second).UnixNano())
				s.Fields[0].Values.Floats = append(s.Fields[0].Values.Floats, float64(i)+add)
			}
			b.Series = append(b.Series, s)
		}
		return storage.AppendBatch(nil, &b)
	}
	write := func(add float64, version uint64) {
		res := askGW(&messages.ClientWrite{Session: session, Db: "sdk", Collection: "m", Batch: batchOf(add), Version: version}).(*messages.ClientWriteReply)
		require.Equal(t, messages.ErrorCode_ERROR_CODE_OK, res.GetCode(), res.GetMessage())
		require.EqualValues(t, 300, res.GetPoints())
	}
	values := func() map[string]float64 {
		cur, err := srv.Client().Database("sdk").Collection("m").Find(ctx, bson.D{})
		require.NoError(t, err)
		defer cur.Close(ctx)
		out := map[string]float64{}
		for cur.Next(ctx) {
			var d struct {
				Time time.Time             `bson:"time"`
				Tags struct{ Host string } `bson:"tags"`
				V    float64               `bson:"v"`
			}
			require.NoError(t, cur.Decode(&d))
			k := fmt.Sprintf("%s@%d", d.Tags.Host, d.Time.Unix())
			_, dup := out[k]
			require.False(t, dup, "point %s read twice", k)
			out[k] = d.V
		}
		require.NoError(t, cur.Err())
		return out
	}
	expect := func(add float64) map[string]float64 {
		out := map[string]float64{}
		for h := range 3 {
			for i := range 100 {
				out[fmt.Sprintf("h%d@%d", h, base.Add(time.Duration(i)*time.Second).Unix())] = float64(i) + add
			}
		}
		return out
	}
	v1 := actors.HLCOf(time.Now())
	write(0, v1)
	write(0, v1) // the retry
	require.Equal(t, expect(0), values(), "a retried write stores each point once")
	write(1000, v1-1<<16) // older: loses
	require.Equal(t, expect(0), values(), "an older version changes nothing")
	write(2000, v1+1<<16) // newer: wins
	require.Equal(t, expect(2000), values(), "a newer version replaces the values")
	// a version far ahead of the node's clock is refused, and changes nothing
	res := askGW(&messages.ClientWrite{Session: session, Db: "sdk", Collection: "m", Batch: batchOf(5000), Version: actors.HLCOf(time.Now().Add(time.Hour))}).(*messages.ClientWriteReply)
	require.Equal(t, messages.ErrorCode_ERROR_CODE_BAD_REQUEST, res.GetCode(), res.GetMessage())
	require.Equal(t, expect(2000), values())
}

// sdkTLS is the client TLS configuration of a certificate that ca issues for name.
func sdkTLS(t *testing.T, ca *tlstest.CA, name string) *tls.Config {
	t.Helper()
	certFile, keyFile := ca.Issue(t, name)
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	require.NoError(t, err)
	pem, err := os.ReadFile(ca.CertFile)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(pem))
	return &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, MinVersion: tls.VersionTLS12}
}

// TestSDKMutualTLS: in a cluster whose nodes run mutual TLS, an SDK client with a certificate from
// the cluster's CA writes and scans; one without TLS, and one whose certificate comes from
// another CA, are refused (their writes fail, nothing they sent is stored).
func TestSDKMutualTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two processes")
	}
	t.Parallel()
	ctx := testCtx(t)
	dir := t.TempDir()
	ca := tlstest.NewCA(t, dir, "cluster")
	cert, key := ca.Issue(t, "node")
	flags := []string{"--cluster-tls", "--tls-cert-file", cert, "--tls-key-file", key, "--tls-ca-file", ca.CertFile, "--tls-mode", "allowTLS"}
	c := setup.StartClusterFlags(t, 1, 1, flags, flags)
	seeds := []string{c.Data[0].HTTPAddr}

	cl, err := client.Dial(ctx, client.Options{Seeds: seeds, TLS: sdkTLS(t, ca, "sdk")})
	require.NoError(t, err)
	defer func() { require.NoError(t, cl.Close()) }()
	base := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	model := map[string]sdkPoint{}
	require.Eventually(t, func() bool {
		return cl.Write(ctx, "sdk", sdkBatch(t, "m", 0, 100, base, model), client.One) == nil
	}, 30*time.Second, 200*time.Millisecond, "the data node registered")
	require.NoError(t, cl.Write(ctx, "sdk", sdkBatch(t, "m", 100, 1000, base, model), client.All))
	require.Equal(t, model, scanSDK(t, ctx, cl, nil), "read back through the SDK over TLS")

	_, err = client.Dial(ctx, client.Options{Seeds: seeds, TLS: &tls.Config{}})
	require.ErrorContains(t, err, "Certificates")
	other := tlstest.NewCA(t, dir, "other")
	for name, opt := range map[string]client.Options{
		"plaintext":  {Seeds: seeds, RequestTimeout: time.Second},
		"another CA": {Seeds: seeds, RequestTimeout: time.Second, TLS: sdkTLS(t, other, "intruder")},
	} {
		if name == "another CA" {
			// its HTTP discovery fails already (the node's certificate is not from its CA)
			_, err := client.Dial(ctx, opt)
			require.Error(t, err, name)
			opt.TLS.RootCAs = sdkTLS(t, ca, "unused").RootCAs // trusts the nodes, presents a stranger's certificate
		}
		bad, err := client.Dial(ctx, opt)
		require.NoError(t, err, name)
		err = bad.Write(ctx, "sdk", sdkBatch(t, "m", 5000, 5100, base, nil), client.One)
		require.Error(t, err, "%s: the write is refused", name)
		require.NoError(t, bad.Close())
	}
	require.Equal(t, model, scanSDK(t, ctx, cl, nil), "nothing of the refused clients was stored")
}

// TestSDKBackpressureSlowNode: a Writer whose node stops answering (SIGSTOP: as slow as a node
// gets) stops taking points once its bytes in flight reach MaxInflightBytes: Add blocks, so the
// client holds a bounded amount whatever the producer tries. Once the node runs again the writes
// complete, and every point Add took is stored.
func TestSDKBackpressureSlowNode(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	srv := setup.Start(t, "", "--actor-addr", fmt.Sprintf("127.0.0.1:%d", setup.FreePort(t)))
	cl, err := client.Dial(ctx, client.Options{Seeds: []string{srv.HTTPAddr}})
	require.NoError(t, err)
	defer func() { require.NoError(t, cl.Close()) }()
	const batchValues, maxInflight = 1000, 256 << 10 // about 16 Ki values in flight (16 B each)
	w := cl.NewWriter("bp", "m", client.WriterOptions{BatchValues: batchValues, Linger: 10 * time.Millisecond, MaxInflightBytes: maxInflight})
	base := time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC)
	var added atomic.Int64
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			if err := w.Add(base.Add(time.Duration(i)*time.Millisecond), map[string]string{"host": fmt.Sprint("h", i%10)}, map[string]any{"v": float64(i)}); err != nil {
				done <- err
				return
			}
			added.Add(1)
		}
	}()
	require.Eventually(t, func() bool { return added.Load() > 50_000 }, 30*time.Second, 10*time.Millisecond, "the writer runs")
	pid, err := strconv.Atoi(srv.Pid())
	require.NoError(t, err)
	require.NoError(t, syscall.Kill(pid, syscall.SIGSTOP))
	defer func() { _ = syscall.Kill(pid, syscall.SIGCONT) }() // whatever happens, the server can stop
	time.Sleep(500 * time.Millisecond)                        // what was answered before the stop drains
	before := added.Load()
	time.Sleep(4 * time.Second)
	during := added.Load() - before
	t.Logf("points taken by Add while the node was stopped: %d (before it: %d)", during, before)
	require.LessOrEqual(t, during, int64(maxInflight/16+2*batchValues), "Add blocks once the bytes in flight are at their bound")
	require.NoError(t, syscall.Kill(pid, syscall.SIGCONT))
	require.Eventually(t, func() bool { return added.Load() > before+during+50_000 }, 60*time.Second, 10*time.Millisecond, "the writer goes on once the node answers")
	close(stop)
	require.NoError(t, <-done)
	require.NoError(t, w.Close(ctx))
	n, err := srv.Client().Database("bp").Collection("m").CountDocuments(ctx, bson.D{})
	require.NoError(t, err)
	require.Equal(t, added.Load(), n, "every point Add took is stored")
}
