package main

import (
	"context"
	"errors"
	"fmt"
	stdlog "log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sirupsen/logrus"

	"github.com/chronogo/chronogo/actors"
	"github.com/chronogo/chronogo/actors/handoff"
	"github.com/chronogo/chronogo/actors/node"
	"github.com/chronogo/chronogo/actors/vnode"
	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/storage/engine"
	"github.com/chronogo/chronogo/storage/layout"
	"github.com/chronogo/chronogo/wire/backend"
	"github.com/chronogo/chronogo/wire/httpapi"
	"github.com/chronogo/chronogo/wire/metasvc"
	"github.com/chronogo/chronogo/wire/mongo"
)

// shutdownTimeout bounds a graceful stop: in-flight requests, then flush and close.
const shutdownTimeout = 60 * time.Second

// runServer starts a server in its cluster role and runs it until SIGINT or SIGTERM.
func runServer(ctx context.Context, cfg config) error {
	if ctx == nil {
		ctx = context.Background()
	}
	// From the start: a SIGTERM during start-up must also end in a clean stop.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sig)
	log := logrus.New()
	lvl, err := logrus.ParseLevel(cfg.LogLevel)
	if err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log.SetLevel(lvl)
	entry := log.WithFields(logrus.Fields{"node_id": cfg.nodeID(), "role": cfg.ClusterRole})
	if cfg.NodeID != fmt.Sprint(cfg.nodeID()) {
		entry = entry.WithField("node_name", cfg.NodeID)
	}

	limit, err := applyMemoryLimit(cfg.MemoryLimit)
	if err != nil {
		return err
	}
	memoryLimitGauge.Set(float64(limit))
	cfg.memLimit = limit
	if limit > 0 {
		entry.WithField("memory_limit", humanize.IBytes(uint64(limit))).Debug("go runtime soft memory limit set")
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	unlock, err := lockDataDir(cfg.DataDir)
	if err != nil {
		return err
	}
	defer unlock()
	// a cancelled start-up (signal) ends the waits for meta
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var signalled atomic.Bool
	go func() {
		select {
		case s := <-sig:
			entry.WithField("signal", s.String()).Info("shutting down")
			signalled.Store(true)
			cancel()
		case <-sctx.Done():
		}
	}()
	run := runDataNode
	if cfg.ClusterRole == "mnode" {
		run = runMetaNode
	}
	err = run(sctx, cfg, entry)
	if err != nil && signalled.Load() {
		// whatever the signal interrupted (context.Canceled, or a Raft proposal dragonboat gives
		// up as "request canceled"), the stop was asked for: exit 0, as after a clean stop
		entry.WithError(err).Info("stopped during start-up")
		return nil
	}
	return err
}

// metaConfig is the meta host's configuration for the role: standalone bootstraps alone, an mnode
// bootstraps with the meta nodes it discovers through --mnode-list, a dnode joins them as a
// non-voting replica.
func metaConfig(outer context.Context, cfg config, log logrus.FieldLogger) meta.Config {
	mc := meta.Config{NodeID: cfg.nodeID(), ClusterID: cfg.ClusterID, DataDir: filepath.Join(cfg.DataDir, "meta"),
		RaftAddr: cfg.RaftAddr, Logger: log.WithField("component", "meta"),
		DatabaseDefaults: meta.Database{ReplicationFactor: cfg.ReplicationFactor, ShardCount: cfg.ShardCount}}
	if cfg.ClusterTLS {
		mc.TLSCAFile, mc.TLSCertFile, mc.TLSKeyFile = cfg.TLSCAFile, cfg.TLSCertFile, cfg.TLSKeyFile
	}
	mnodes := cfg.mnodes()
	switch cfg.ClusterRole {
	case "mnode":
		if len(mnodes) > 0 {
			mc.ResolveMembers = func(ctx context.Context) (map[uint64]string, error) {
				ctx, cancel := context.WithCancel(ctx)
				defer cancel()
				defer context.AfterFunc(outer, cancel)()
				return metasvc.Discover(ctx, mnodes, cfg.ClusterID, cfg.tls.peerClient, log)
			}
		}
	case "dnode":
		mc.Join, mc.NonVoting = true, true
		mc.RequestJoin = func(ctx context.Context) error {
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			defer context.AfterFunc(outer, cancel)()
			return metasvc.Join(ctx, mnodes, cfg.ClusterID, cfg.nodeID(), cfg.RaftAddr, cfg.tls.peerClient, log)
		}
	}
	return mc
}

// startMeta starts the meta host and waits until it serves linearizable reads.
func startMeta(ctx context.Context, cfg config, log logrus.FieldLogger) (*meta.Host, error) {
	host, err := meta.Start(metaConfig(ctx, cfg, log))
	if err != nil {
		return nil, fmt.Errorf("start meta: %w", err)
	}
	readyCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	err = host.WaitReady(readyCtx)
	cancel()
	if err != nil {
		host.Close()
		if ctx.Err() != nil {
			err = ctx.Err() // stopped by a signal, not a failure of meta
		}
		return nil, fmt.Errorf("meta did not become ready: %w", err)
	}
	return host, nil
}

// runMetaNode runs an mnode: the voting meta replicas and the meta service (HTTP: hello, join,
// health, metrics). It stores no data and serves no MongoDB clients.
func runMetaNode(ctx context.Context, cfg config, log logrus.FieldLogger) error {
	var err error
	if cfg.tls, err = cfg.tlsSetup(); err != nil {
		return err
	}
	httpLn, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on --http-addr %s: %w", cfg.HTTPAddr, err)
	}
	defer httpLn.Close()
	if httpLn, err = cfg.tls.wrap(httpLn, log.WithField("component", "http")); err != nil {
		return err
	}
	svc := &metasvc.Service{NodeID: cfg.nodeID(), RaftAddr: strings.ToLower(cfg.RaftAddr), ClusterID: cfg.ClusterID,
		RequirePeerCert: cfg.ClusterTLS, Log: log.WithField("component", "metasvc")}
	var ready atomic.Pointer[meta.Host]
	health := func(ctx context.Context) error {
		if h := ready.Load(); h != nil {
			return h.WaitReady(ctx)
		}
		return errors.New("meta is starting")
	}
	mux := httpapi.Handler(nil, health, httpapi.Options{Log: log.WithField("component", "http"), Pprof: cfg.Pprof})
	svc.Register(mux)
	metaNodesRoute(mux, cfg, &ready)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: httpErrorLog(log)}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(httpLn) }() // hello must answer while the others discover us
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		_ = hs.Shutdown(sctx)
	}()

	host, err := startMeta(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer host.Close()
	ready.Store(host)
	svc.SetHost(host)
	down := newDownNodes(host.Client(), cfg.NodeDownAfter, log.WithField("component", "nodes"))
	if err := prometheus.Register(down); err != nil {
		return fmt.Errorf("register metrics: %w", err)
	}
	defer prometheus.Unregister(down)
	go down.run(ctx)
	log.WithFields(logrus.Fields{"http_addr": httpLn.Addr().String(), "raft_addr": cfg.RaftAddr, "data_dir": cfg.DataDir,
		"version": version}).Info("chronogo meta node is ready")
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve: %w", err)
		}
	case <-ctx.Done():
	}
	log.Info("stopped")
	return nil
}

// runDataNode runs a standalone server or a dnode: meta (a voting replica alone, or a non-voting
// one joined to the mnodes), the actor node with its vnodes, the MongoDB wire and HTTP servers.
func runDataNode(ctx context.Context, cfg config, entry logrus.FieldLogger) error {
	var err error
	if cfg.tls, err = cfg.tlsSetup(); err != nil {
		return err
	}
	// Listen first so that a busy port fails before anything is opened.
	mongoLn, err := net.Listen("tcp", cfg.MongoAddr)
	if err != nil {
		return fmt.Errorf("listen on --mongo-addr %s: %w", cfg.MongoAddr, err)
	}
	defer mongoLn.Close()
	if mongoLn, err = cfg.tls.wrap(mongoLn, entry.WithField("component", "mongo")); err != nil {
		return err
	}
	var httpLn net.Listener
	if cfg.HTTPAddr != "" {
		if httpLn, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
			return fmt.Errorf("listen on --http-addr %s: %w", cfg.HTTPAddr, err)
		}
		defer httpLn.Close()
		if httpLn, err = cfg.tls.wrap(httpLn, entry.WithField("component", "http")); err != nil {
			return err
		}
	}
	for _, ln := range []net.Listener{mongoLn, httpLn} {
		if ln != nil && !isLoopback(ln.Addr()) && !cfg.Auth {
			entry.WithField("addr", ln.Addr().String()).Warn("listening beyond this host without access control (--auth): " +
				"any process that reaches this address can read and write every database")
		}
	}

	host, err := startMeta(ctx, cfg, entry)
	if err != nil {
		return err
	}
	defer host.Close()
	mc := host.Client()
	cacheSize, _ := cfg.cacheBytes(cfg.memLimit) // checked by validate
	entry.WithFields(logrus.Fields{"cache_size": humanize.IBytes(uint64(cacheSize)), "cache_budget": humanize.IBytes(uint64(cacheBudget(cfg.memLimit)))}).Debug("memcache size of each vnode, and of all together")
	n, err := node.Start(node.Config{NodeID: cfg.nodeID(), DataDir: cfg.DataDir, ActorAddr: cfg.ActorAddr,
		PeerTLSServer: cfg.tls.peerServer, PeerTLSClient: cfg.tls.peerClient, SweepInterval: cfg.SweepInterval,
		Vnodes:    vnode.Config{SettleAfter: cfg.SettleAfter},
		Engine:    engine.Options{CacheSize: cacheSize, CacheBudget: engine.NewCacheBudget(cacheBudget(cfg.memLimit))},
		Placement: actors.MetaPlacement{C: mc, Linearizable: cfg.ClusterRole == "dnode"}, Logger: entry.WithField("component", "node"),
		Peers: mc.CachedNodes, ReportPeer: mc.SetNodeDown, PlainShards: mc})
	if err != nil {
		return fmt.Errorf("start node: %w", err)
	}
	// registered once the node's actors answer, so no bucket is placed on a node that cannot take writes
	httpAddr := ""
	if httpLn != nil {
		httpAddr = httpLn.Addr().String()
	}
	if err := mc.RegisterNode(ctx, meta.Node{ID: cfg.nodeID(), Name: cfg.NodeID, Role: cfg.ClusterRole, RaftAddr: cfg.RaftAddr,
		MongoAddr: mongoLn.Addr().String(), HTTPAddr: httpAddr, ActorAddr: cfg.ActorAddr, Zone: cfg.Zone}); err != nil {
		_ = n.Stop(context.Background())
		return fmt.Errorf("register node: %w", err)
	}
	b := backend.New(mc, n, cfg.DataDir, entry.WithField("component", "backend"))
	b.StagingMaxAge = cfg.OutStagingMaxAge
	collector := backend.NewCollector(b)
	if err := prometheus.Register(collector); err != nil {
		return fmt.Errorf("register metrics: %w", err)
	}
	defer prometheus.Unregister(collector)
	down := newDownNodes(mc, cfg.NodeDownAfter, entry.WithField("component", "nodes"))
	if err := prometheus.Register(down); err != nil {
		return fmt.Errorf("register metrics: %w", err)
	}
	defer prometheus.Unregister(down)
	go down.run(ctx)

	maxBody, _ := cfg.maxBodyBytes() // checked by validate
	cursorMem, _ := humanize.ParseBytes(cfg.CursorMemory)
	sortMem, _ := humanize.ParseBytes(cfg.SortMemory)
	msgMem, _ := humanize.ParseBytes(cfg.MessageMemory)
	// checkpoints of backups that were under way when the node stopped are of no use now
	if err := os.RemoveAll(filepath.Join(cfg.DataDir, layout.BackupDir)); err != nil {
		return fmt.Errorf("clear backup checkpoints: %w", err)
	}
	tmp := filepath.Join(cfg.DataDir, layout.TempDir)
	if err := resetTempDir(tmp); err != nil {
		return err
	}
	ms := mongo.NewServer(mongo.Config{Logger: entry.WithField("component", "mongo"), MaxConnections: cfg.MaxConnections,
		IdleTimeout: cfg.ConnIdleTimeout, FrameTimeout: cfg.FrameTimeout, CursorMemoryBudget: int64(cursorMem),
		SortMemory: int64(sortMem), MessageMemory: int64(msgMem), TempDir: tmp, Users: b, Tenants: b, Auth: cfg.Auth,
		CmdLine: mongo.CmdLine{Argv: os.Args, Parsed: cfg.settings}, Status: nodeStatus(cfg, n, mc)}, b)
	n.SetOpsProvider(ms) // other nodes' currentOp and killOp reach this listener's commands
	if err := startGateway(cfg, n, b, ms, entry); err != nil {
		return err
	}
	errc := make(chan error, 2)
	go func() { errc <- ms.Serve(mongoLn) }()
	// ends with the node's background work at shutdown (long admin work such as a repair too)
	ttlCtx, stopTTL := context.WithCancel(ctx)
	var hs *http.Server
	if httpLn != nil {
		health := func(ctx context.Context) error { return host.WaitReady(ctx) }
		hopts := httpapi.Options{Log: entry.WithField("component", "http"), MaxBodySize: maxBody, Pprof: cfg.Pprof, Stopping: ttlCtx,
			Admin: nodeAdmin{n: n, mc: mc, host: host, self: cfg.nodeID(), b: b, backupRoot: filepath.Join(cfg.DataDir, layout.BackupDir), httpAddr: adminBase(cfg, httpLn),
				ops: func() *httpapi.OpLatencies {
					r, w, c := ms.OpLatencies()
					t := func(o mongo.OpTotals) httpapi.OpTotal {
						return httpapi.OpTotal{LatencyMicros: o.LatencyMicros, Ops: o.Ops}
					}
					return &httpapi.OpLatencies{Reads: t(r), Writes: t(w), Commands: t(c)}
				}}}
		if cfg.Auth {
			hopts.AdminAuth = func(ctx context.Context, user, pwd string) (bool, error) {
				u, ok, err := ms.CheckPassword(ctx, "admin", user, pwd)
				return ok && mongo.IsClusterAdmin(u), err
			}
			// the same users as the MongoDB wire; /write users log in against admin
			hopts.Auth = func(ctx context.Context, db, user, pwd string) (string, bool, bool, error) {
				u, ok, err := ms.CheckPassword(ctx, "admin", user, pwd)
				return u.Tenant, ok && mongo.MayWrite(u.Roles, db), ok, err
			}
			hopts.ReadAuth = func(ctx context.Context, db, user, pwd string) (string, bool, bool, error) {
				u, ok, err := ms.CheckPassword(ctx, "admin", user, pwd)
				return u.Tenant, ok && mongo.MayRead(u.Roles, db), ok, err
			}
		}
		hs = &http.Server{Handler: httpapi.Handler(b, health, hopts), ReadHeaderTimeout: 10 * time.Second, ErrorLog: httpErrorLog(entry)}
		go func() { errc <- hs.Serve(httpLn) }()
	}
	go b.RunTTL(ttlCtx, cfg.TTLInterval, fmt.Sprint(cfg.nodeID()))
	go b.RunUsage(ttlCtx, usageInterval)
	if cfg.RepairInterval > 0 && cfg.ClusterRole != "standalone" {
		go b.RunRepair(ttlCtx, cfg.RepairInterval, handoff.DefaultMaxHintWindow, fmt.Sprint(cfg.nodeID()))
	}
	go releaseIdleMemory(ttlCtx, entry)
	go tuneGC(ttlCtx)
	entry.WithFields(logrus.Fields{"mongo_addr": mongoLn.Addr().String(), "http_addr": cfg.HTTPAddr, "data_dir": cfg.DataDir,
		"actor_addr": cfg.ActorAddr, "version": version}).Info("chronogo is ready")

	var runErr error
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			runErr = fmt.Errorf("serve: %w", err)
		}
	case <-ctx.Done():
	}
	stopTTL()
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	// Stop accepting and finish in-flight requests, then flush and close storage, then meta.
	if err := ms.Shutdown(sctx); err != nil {
		entry.WithError(err).Warn("mongo server shutdown")
	}
	if hs != nil {
		if err := hs.Shutdown(sctx); err != nil {
			entry.WithError(err).Warn("http server shutdown")
		}
	}
	if err := n.Stop(sctx); err != nil {
		entry.WithError(err).Warn("node stop")
		if runErr == nil {
			runErr = fmt.Errorf("stop node: %w", err)
		}
	}
	entry.Info("stopped")
	return runErr
}

// lockDataDir takes an exclusive flock on <data-dir>/LOCK so a second server on the same directory
// fails at once with a clear message.
func lockDataDir(dir string) (func(), error) {
	path := filepath.Join(dir, "LOCK")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock data dir: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("data directory %s is already in use by another chronogo process", dir)
		}
		return nil, fmt.Errorf("lock data dir: %w", err)
	}
	_, _ = f.Seek(0, 0)
	_ = f.Truncate(0)
	fmt.Fprintf(f, "%d\n", os.Getpid())
	return func() { f.Close() }, nil
}

// isLoopback reports whether a listener accepts only connections from this host.
func isLoopback(a net.Addr) bool {
	tcp, ok := a.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

// resetTempDir creates the directory of query spill files, removing what an older version may
// have left in it (spill files are unlinked at creation, so normally it is empty).
func resetTempDir(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("clear temporary directory %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create temporary directory %s: %w", dir, err)
	}
	return nil
}

// usageInterval is how often each tenant's bytes and series on this node are measured for its
// quotas.
const usageInterval = 5 * time.Second

// httpErrorLog sends net/http's own errors (TLS handshake failures: a client or node without a
// trusted certificate) to the server log at warn level.
func httpErrorLog(log logrus.FieldLogger) *stdlog.Logger {
	return stdlog.New(log.WithField("component", "http").WriterLevel(logrus.WarnLevel), "", 0)
}
