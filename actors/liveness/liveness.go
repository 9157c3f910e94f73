package liveness

import (
	"context"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"

	"github.com/chronogo/chronogo/actors"
	"github.com/chronogo/chronogo/meta"
)

// Config configures a node's liveness watcher.
type Config struct {
	NodeID uint64
	// Peers lists the cluster's nodes (the placement's cached list: it must not block); nodes
	// without an actor address and meta nodes are not watched.
	Peers func() []meta.Node
	// Clock is the node's HLC: probes carry it and their answers move it.
	Clock *actors.HLC
	// Report, when set, is told of every change (down true: the peer was seen down). It is
	// called in order from one goroutine; an error is retried every Interval until a newer
	// change of the same peer replaces it.
	Report func(ctx context.Context, id uint64, down bool) error
	// Interval between probe rounds (default 1 s); ProbeTimeout bounds one probe (default 1 s);
	// Misses is how many probes must fail in a row before a peer that was not seen to go away
	// (a frozen or partitioned peer) is down (default 3).
	Interval, ProbeTimeout time.Duration
	Misses                 int
	Logger                 logrus.FieldLogger
}

func (c Config) withDefaults() Config {
	if c.Interval <= 0 {
		c.Interval = time.Second
	}
	if c.ProbeTimeout <= 0 {
		c.ProbeTimeout = time.Second
	}
	if c.Misses <= 0 {
		c.Misses = 3
	}
	if c.Clock == nil {
		c.Clock = actors.NewHLC(nil)
	}
	if c.Logger == nil {
		c.Logger = logrus.StandardLogger()
	}
	return c
}

// Watcher is a running liveness watcher.
type Watcher struct {
	root     *actor.RootContext
	pid      *actor.PID
	status   *Status
	reporter *reporter
}

// Spawn starts the watcher in sys under actors.LivenessName.
func Spawn(sys *actor.ActorSystem, cfg Config) (*Watcher, error) {
	cfg = cfg.withDefaults()
	if cfg.Peers == nil {
		return nil, fmt.Errorf("liveness: Peers is required")
	}
	w := &Watcher{root: sys.Root, status: newStatus()}
	var report func(uint64, bool)
	if cfg.Report != nil {
		w.reporter = startReporter(cfg.Report, cfg.Interval, cfg.Logger)
		report = w.reporter.send
	}
	started := time.Now().UnixMilli()
	props := actor.PropsFromProducer(func() actor.Actor {
		return &watcher{cfg: cfg, status: w.status, report: report, log: cfg.Logger, started: started}
	}, actor.WithMailbox(actors.CountedMailbox(actor.Unbounded())))
	pid, err := sys.Root.SpawnNamed(props, actors.LivenessName)
	if err != nil {
		if w.reporter != nil {
			w.reporter.stop()
		}
		return nil, fmt.Errorf("spawning liveness watcher: %w", err)
	}
	w.pid = pid
	return w, nil
}

// Status is the watcher's view of the peers.
func (w *Watcher) Status() *Status { return w.status }

// Stop stops the watcher and its reporter.
func (w *Watcher) Stop() error {
	err := w.root.StopFuture(w.pid).Wait()
	if w.reporter != nil {
		w.reporter.stop()
	}
	return err
}
