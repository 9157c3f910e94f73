// Package setup builds the chronogo binary once and starts server processes for integration tests
// on free loopback ports, each with its own data directory; tests get a connected Go driver client.
package setup

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// builds holds the two binaries a test process may need: index 1 is built with -race when
// CHRONOGO_RACE is set, index 0 never is.
var builds [2]struct {
	once sync.Once
	path string
	err  error
}

// Binary returns the path of a chronogo binary built from this checkout (once per test process),
// with the race detector when CHRONOGO_RACE is set.
func Binary(t testing.TB) string { return binary(t, os.Getenv("CHRONOGO_RACE") != "") }

// binary builds (once) and returns the race or the plain binary. Cluster processes use the plain
// one: protoactor-go's remote (at the pinned version) races on its endpoint map while shutting
// down with connections to other nodes, which makes a race binary exit 66 on SIGTERM.
func binary(t testing.TB, race bool) string {
	t.Helper()
	i := 0
	if race {
		i = 1
	}
	b := &builds[i]
	b.once.Do(func() {
		dir, err := os.MkdirTemp("", "chronogo-bin-")
		if err != nil {
			b.err = err
			return
		}
		b.path = filepath.Join(dir, "chronogo")
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..")
		args := []string{"build", "-o", b.path}
		if race {
			args = append(args, "-race")
		}
		cmd := exec.Command("go", append(args, "./cmd/chronogo")...)
		cmd.Dir = root
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			b.err = fmt.Errorf("go build: %v\n%s", err, out.String())
		}
	})
	require.NoError(t, b.err)
	return b.path
}

// Ports handed out by FreePort come from below the kernel's ephemeral range (32768 and up on
// Linux), so that a client connection's local port never takes the port of a server that was
// killed and is about to restart, and each is handed out once per test binary.
const (
	firstPort = 10000
	lastPort  = 32767
)

var (
	portsMu   sync.Mutex
	portsUsed = map[int]bool{}
)

// FreePort returns a free TCP port on 127.0.0.1 that no other caller in this process got.
func FreePort(t testing.TB) int {
	t.Helper()
	portsMu.Lock()
	defer portsMu.Unlock()
	start := firstPort + rand.IntN(lastPort-firstPort+1)
	for i := 0; i <= lastPort-firstPort; i++ {
		p := firstPort + (start-firstPort+i)%(lastPort-firstPort+1)
		if portsUsed[p] {
			continue
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		_ = l.Close()
		portsUsed[p] = true
		return p
	}
	t.Fatalf("no free port in %d..%d", firstPort, lastPort)
	return 0
}

// Server is a running chronogo process.
type Server struct {
	t         testing.TB
	DataDir   string
	MongoAddr string
	HTTPAddr  string
	RaftAddr  string
	ActorAddr string // dnodes only
	Meta      bool   // an mnode: no MongoDB listener
	plain     bool   // run the binary built without -race (cluster processes)
	cmd       *exec.Cmd
	log       *syncBuffer
	done      chan struct{}
	extra     []string
}

// newServer allocates a server's addresses on free loopback ports.
func newServer(t testing.TB, dataDir string, extra []string) *Server {
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	return &Server{t: t, DataDir: dataDir, extra: extra,
		MongoAddr: fmt.Sprintf("127.0.0.1:%d", FreePort(t)),
		HTTPAddr:  fmt.Sprintf("127.0.0.1:%d", FreePort(t)),
		RaftAddr:  fmt.Sprintf("127.0.0.1:%d", FreePort(t)),
	}
}

// Cluster is a ChronoGo cluster of processes: meta nodes and data nodes.
type Cluster struct {
	Meta, Data []*Server
	mlist      string // the mnodes' HTTP addresses, as --mnode-list
}

// StartCluster starts metas mnodes (bootstrapping together by discovery) and datas dnodes that
// join them, each with its own data directory; extra flags go to the dnodes. Every process is
// stopped at cleanup.
func StartCluster(t testing.TB, metas, datas int, extra ...string) *Cluster {
	return StartClusterFlags(t, metas, datas, nil, extra)
}

// StartClusterFlags is StartCluster with extra flags for the mnodes too.
func StartClusterFlags(t testing.TB, metas, datas int, metaExtra, dataExtra []string) *Cluster {
	t.Helper()
	c := &Cluster{}
	var list []string
	for i := range metas {
		s := newServer(t, "", nil)
		s.Meta, s.plain = true, true
		s.extra = append([]string{"--cluster-role", "mnode", "--node-id", fmt.Sprintf("mnode%d", i+1), "--cluster-id", "it"}, metaExtra...)
		c.Meta = append(c.Meta, s)
		list = append(list, s.HTTPAddr)
	}
	c.mlist = strings.Join(list, ",")
	for _, s := range c.Meta {
		s.extra = append(s.extra, "--mnode-list", c.mlist)
		s.launch()
		t.Cleanup(s.Stop)
	}
	for _, s := range c.Meta {
		s.waitListening()
	}
	for range datas {
		c.Data = append(c.Data, c.LaunchData(t, fmt.Sprintf("dnode%d", len(c.Data)+1), dataExtra...))
	}
	for _, s := range c.Data {
		s.waitListening()
	}
	return c
}

// LaunchData starts one more dnode named id that joins the cluster, without waiting for it to
// listen (it is stopped at cleanup).
func (c *Cluster) LaunchData(t testing.TB, id string, extra ...string) *Server {
	s := newServer(t, "", append([]string{"--cluster-role", "dnode", "--node-id", id,
		"--cluster-id", "it", "--mnode-list", c.mlist}, extra...))
	s.ActorAddr, s.plain = fmt.Sprintf("127.0.0.1:%d", FreePort(t)), true
	s.launch()
	t.Cleanup(s.Stop)
	return s
}

// WaitExit waits up to timeout for the process to exit by itself and reports whether it did.
func (s *Server) WaitExit(timeout time.Duration) bool {
	select {
	case <-s.done:
		return true
	case <-time.After(timeout):
		return false
	}
}

// ExitCode is the exit status of a process that exited (-1 while it runs).
func (s *Server) ExitCode() int {
	select {
	case <-s.done:
		return s.cmd.ProcessState.ExitCode()
	default:
		return -1
	}
}

// Start starts a standalone server with a new data directory (or dataDir if not empty); extra
// flags are passed to chronogo.
func Start(t testing.TB, dataDir string, extra ...string) *Server {
	t.Helper()
	s := newServer(t, dataDir, extra)
	s.start()
	t.Cleanup(func() { s.Stop() })
	return s
}

func (s *Server) start() {
	s.launch()
	s.waitListening()
	s.checkIdentity()
}

// checkIdentity makes sure the server answering on the MongoDB port is this process, not another
// one that happens to hold the port (a test binary of another package picked it too): then this
// process exits at once ("address in use") while the dial above succeeds. Servers under --auth
// are not asked (serverStatus needs a login).
func (s *Server) checkIdentity() {
	if s.Meta {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := mongo.Connect(options.Client().ApplyURI(s.URI()).SetTimeout(30 * time.Second))
	if err != nil {
		return
	}
	defer func() { _ = c.Disconnect(context.Background()) }()
	raw, err := c.Database("admin").RunCommand(ctx, bson.D{{Key: "serverStatus", Value: 1}}).Raw()
	if err != nil {
		return // under --auth, or not ready: the test's own requests will tell
	}
	if pid, ok := raw.Lookup("pid").AsInt64OK(); ok && s.cmd.Process != nil && pid != int64(s.cmd.Process.Pid) {
		s.t.Fatalf("%s is answered by another process (pid %d), not this server (pid %d)\n%s", s.MongoAddr, pid, s.cmd.Process.Pid, s.log.String())
	}
}

// launch starts the process without waiting for it to listen.
func (s *Server) launch() {
	t := s.t
	s.log = &syncBuffer{}
	args := []string{"--data-dir", s.DataDir, "--mongo-addr", s.MongoAddr, "--http-addr", s.HTTPAddr,
		"--raft-addr", s.RaftAddr, "--log-level", "warn"}
	if s.ActorAddr != "" {
		args = append(args, "--actor-addr", s.ActorAddr)
	}
	bin := Binary(t)
	if s.plain {
		bin = binary(t, false)
	}
	s.cmd = exec.Command(bin, append(args, s.extra...)...)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	require.NoError(t, s.cmd.Start())
	s.done = make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(s.done) }()
}

// WaitListening waits until a server launched without waiting (LaunchData) listens.
func (s *Server) WaitListening() { s.waitListening() }

// waitListening waits until the server accepts connections on its MongoDB address (its HTTP
// address for a meta node) and fails the test if it exits or takes over 60 s.
func (s *Server) waitListening() {
	t := s.t
	addr := s.MongoAddr
	if s.Meta {
		addr = s.HTTPAddr
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-s.done:
			t.Fatalf("chronogo exited during start-up: %s\n%s", s.cmd.ProcessState, s.log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("chronogo did not listen on %s within 60 s\n%s", addr, s.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// URI is the server's MongoDB connection string.
func (s *Server) URI() string { return "mongodb://" + s.MongoAddr + "/?directConnection=true" }

// Client connects the Go driver and disconnects it at cleanup.
func (s *Server) Client() *mongo.Client {
	t := s.t
	c, err := mongo.Connect(options.Client().ApplyURI(s.URI()).SetTimeout(30 * time.Second))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Disconnect(context.Background()) })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, c.Database("admin").RunCommand(ctx, bson.D{{Key: "ping", Value: 1}}).Err(), "server log:\n%s", s.Log())
	return c
}

// Stop sends SIGTERM and waits for a graceful exit (failing the test if it takes over 30 s or the
// exit status is not 0).
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
		if code := s.cmd.ProcessState.ExitCode(); code != 0 {
			s.t.Errorf("chronogo exited with %d after SIGTERM\n%s", code, s.log.String())
		}
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		s.t.Errorf("chronogo did not stop within 30 s of SIGTERM\n%s", s.log.String())
	}
}

// Kill sends SIGKILL and waits for the process to die.
func (s *Server) Kill() {
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
}

// Restart starts the server again on the same data directory and addresses.
func (s *Server) Restart() { s.start() }

// Log is what the process printed.
func (s *Server) Log() string { return s.log.String() }

// Pid is the process id.
func (s *Server) Pid() string { return strconv.Itoa(s.cmd.Process.Pid) }

// syncBuffer is a bytes.Buffer safe for the process's writer and the test's reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
