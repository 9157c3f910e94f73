package integration

import (
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/integration/setup"
)

// rssMiB reads a process' resident set size from /proc.
func rssMiB(t *testing.T, pid string) int {
	t.Helper()
	b, err := os.ReadFile("/proc/" + pid + "/status")
	require.NoError(t, err)
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			kb, err := strconv.Atoi(strings.Fields(l)[1])
			require.NoError(t, err)
			return kb / 1024
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// TestHostileConnectionsCostOnlyWhatTheySend is issue #7's unauthenticated memory findings: 100
// connections whose headers announce 48 MB and send 10 bytes used to cost 2.6 GB; now the server
// holds what arrived. A half-sent frame is closed after --frame-timeout, an idle connection after
// --conn-idle-timeout, and connections past --max-connections are closed at once; drivers work
// throughout.
func TestHostileConnectionsCostOnlyWhatTheySend(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	srv := setup.Start(t, "", "--max-connections=150", "--frame-timeout=3s", "--conn-idle-timeout=6s")
	client := srv.Client()
	require.NoError(t, client.Ping(ctx, nil))
	before, heapBefore := rssMiB(t, srv.Pid()), heapMiB(t, srv)

	hdr := make([]byte, 16+10)
	binary.LittleEndian.PutUint32(hdr[0:], 48_000_000)
	binary.LittleEndian.PutUint32(hdr[12:], 2013) // OP_MSG
	var conns []net.Conn
	for i := 0; i < 100; i++ {
		c, err := net.Dial("tcp", srv.MongoAddr)
		require.NoError(t, err)
		_, err = c.Write(hdr)
		require.NoError(t, err)
		conns = append(conns, c)
	}
	time.Sleep(500 * time.Millisecond)
	during, heapDuring := rssMiB(t, srv.Pid()), heapMiB(t, srv)
	require.Less(t, during-before, 200, "RSS %d MiB -> %d MiB with 100 half-sent 48 MB frames", before, during)
	// The heap tells it before the kernel does: 100 reserved frames are 4.6 GB of heap.
	require.Less(t, heapDuring-heapBefore, 200, "Go heap %d MiB -> %d MiB with 100 half-sent 48 MB frames", heapBefore, heapDuring)
	require.NoError(t, client.Ping(ctx, nil), "the server serves others meanwhile")

	// Past the limit (100 hostile + the driver's pool < 150): more connections are closed at once.
	var extra []net.Conn
	for i := 0; i < 60; i++ {
		c, err := net.Dial("tcp", srv.MongoAddr)
		require.NoError(t, err)
		extra = append(extra, c)
	}
	closedAtOnce := 0
	for _, c := range extra {
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		if _, err := c.Read(make([]byte, 1)); err != nil && !isTimeout(err) {
			closedAtOnce++
		}
		c.Close()
	}
	require.Greater(t, closedAtOnce, 0, "no connection past --max-connections was refused")

	// The half-sent frames are cut off after --frame-timeout (3 s).
	for _, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err := c.Read(make([]byte, 1))
		require.Error(t, err)
		require.False(t, isTimeout(err), "the server did not close a half-sent frame")
		c.Close()
	}
	// An idle connection is closed after --conn-idle-timeout (6 s).
	idle, err := net.Dial("tcp", srv.MongoAddr)
	require.NoError(t, err)
	start := time.Now()
	_ = idle.SetReadDeadline(time.Now().Add(20 * time.Second))
	_, err = idle.Read(make([]byte, 1))
	require.Error(t, err)
	require.False(t, isTimeout(err))
	require.GreaterOrEqual(t, time.Since(start), 5*time.Second)
	idle.Close()

	var res bson.M
	require.NoError(t, client.Database("admin").RunCommand(ctx, bson.D{{Key: "ping", Value: 1}}).Decode(&res))
}

// heapMiB reads go_memstats_alloc_bytes (bytes of allocated heap objects) from the server's /metrics.
func heapMiB(t *testing.T, srv *setup.Server) int {
	t.Helper()
	resp, err := http.Get("http://" + srv.HTTPAddr + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "go_memstats_alloc_bytes "); ok {
			f, err := strconv.ParseFloat(v, 64)
			require.NoError(t, err)
			return int(f / (1 << 20))
		}
	}
	t.Fatal("no go_memstats_alloc_bytes")
	return 0
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
