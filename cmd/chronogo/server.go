package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sirupsen/logrus"

	"github.com/chronogo/chronogo/actors"
	"github.com/chronogo/chronogo/actors/node"
	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/wire/backend"
	"github.com/chronogo/chronogo/wire/httpapi"
	"github.com/chronogo/chronogo/wire/mongo"
)

// shutdownTimeout bounds a graceful stop: in-flight requests, then flush and close.
const shutdownTimeout = 60 * time.Second

// runServer starts a standalone server and runs it until SIGINT or SIGTERM.
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
	entry := log.WithField("node_id", cfg.nodeID())

	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	unlock, err := lockDataDir(cfg.DataDir)
	if err != nil {
		return err
	}
	defer unlock()

	// Listen first so that a busy port fails before anything is opened.
	mongoLn, err := net.Listen("tcp", cfg.MongoAddr)
	if err != nil {
		return fmt.Errorf("listen on --mongo-addr %s: %w", cfg.MongoAddr, err)
	}
	defer mongoLn.Close()
	var httpLn net.Listener
	if cfg.HTTPAddr != "" {
		if httpLn, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
			return fmt.Errorf("listen on --http-addr %s: %w", cfg.HTTPAddr, err)
		}
		defer httpLn.Close()
	}

	host, err := meta.Start(meta.Config{NodeID: cfg.nodeID(), ClusterID: cfg.ClusterID,
		DataDir: filepath.Join(cfg.DataDir, "meta"), RaftAddr: cfg.RaftAddr, Logger: entry.WithField("component", "meta")})
	if err != nil {
		return fmt.Errorf("start meta: %w", err)
	}
	defer host.Close()
	readyCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	err = host.WaitReady(readyCtx)
	cancel()
	if err != nil {
		return fmt.Errorf("meta did not become ready: %w", err)
	}
	mc := host.Client()
	if err := mc.RegisterNode(ctx, meta.Node{ID: cfg.nodeID(), Role: cfg.ClusterRole, RaftAddr: cfg.RaftAddr,
		MongoAddr: mongoLn.Addr().String(), ActorAddr: cfg.ActorAddr}); err != nil {
		return fmt.Errorf("register node: %w", err)
	}

	n, err := node.Start(node.Config{NodeID: cfg.nodeID(), DataDir: cfg.DataDir, ActorAddr: cfg.ActorAddr,
		Placement: actors.MetaPlacement{C: mc}, Logger: entry.WithField("component", "node")})
	if err != nil {
		return fmt.Errorf("start node: %w", err)
	}
	b := backend.New(mc, n, meta.DefaultTenant, cfg.DataDir, entry.WithField("component", "backend"))
	collector := backend.NewCollector(b)
	if err := prometheus.Register(collector); err != nil {
		return fmt.Errorf("register metrics: %w", err)
	}
	defer prometheus.Unregister(collector)

	ms := mongo.NewServer(mongo.Config{Logger: entry.WithField("component", "mongo")}, b)
	errc := make(chan error, 2)
	go func() { errc <- ms.Serve(mongoLn) }()
	var hs *http.Server
	if httpLn != nil {
		health := func(ctx context.Context) error { return host.WaitReady(ctx) }
		hs = &http.Server{Handler: httpapi.Handler(b, health, entry.WithField("component", "http")), ReadHeaderTimeout: 10 * time.Second}
		go func() { errc <- hs.Serve(httpLn) }()
	}
	ttlCtx, stopTTL := context.WithCancel(ctx)
	go b.RunTTL(ttlCtx, cfg.TTLInterval)
	entry.WithFields(logrus.Fields{"mongo_addr": mongoLn.Addr().String(), "http_addr": cfg.HTTPAddr, "data_dir": cfg.DataDir,
		"version": version}).Info("chronogo is ready")

	var runErr error
	select {
	case s := <-sig:
		entry.WithField("signal", s.String()).Info("shutting down")
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
