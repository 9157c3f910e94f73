package node

// The node: the root of a node's actor tree.
//
//	ActorSystem (+ remote on Config.ActorAddr)
//	 ├─ vnodes        vnode manager (actors/vnode): vnode/<id> children, restart with backoff
//	 ├─ reader        remote reads of this node's vnodes (actors/reader): one cursor child per read
//	 ├─ handoff       hinted handoff (actors/handoff): handoff/<node id> children, one durable hint
//	 │                queue per target node; queues found on disk at start replay at once
//	 ├─ coordinator   write fan-out (actors/coordinator): one write job child per write
//	 └─ liveness      the view of the other nodes (actors/liveness): watches and probes them
//	                  (only with remote and Config.Peers)
//
// All are spawned from the root context, so protoactor's guardian supervises them. Node's
// methods are the Go API the wire layer calls; they use futures with timeouts and never block an
// actor.
//
// TODO(meta-watcher): spawn vnodes as meta assigns them.

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"github.com/sirupsen/logrus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"

	"github.com/chronogo/chronogo/actors"
	"github.com/chronogo/chronogo/actors/coordinator"
	"github.com/chronogo/chronogo/actors/handoff"
	"github.com/chronogo/chronogo/actors/liveness"
	"github.com/chronogo/chronogo/actors/opsrpc"
	"github.com/chronogo/chronogo/actors/plainrpc"
	"github.com/chronogo/chronogo/actors/reader"
	"github.com/chronogo/chronogo/actors/vnode"
	"github.com/chronogo/chronogo/messages"
	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/engine"
	"github.com/chronogo/chronogo/storage/index"
)

// LateWriteWindow is actors.LateWriteWindow: how old a fresh write's version can be when a vnode
// applies it.
const LateWriteWindow = actors.LateWriteWindow

// StableVersion is a version no future write can be at or below when no write is hinted: the HLC
// value of now minus LateWriteWindow. Compaction uses it to store a column's versions once instead
// of per point; a node uses stableVersion instead.
func StableVersion() uint64 {
	return actors.StableVersion(actors.HLCOf(time.Now()), 0)
}

// stableVersion is the node's stable version. A standalone node (no remote: every write, delete
// and rename comes through its own coordinators and hint queues) lags LateWriteWindow while it
// holds no hint, so data that has been quiet for a minute is compacted with one version per
// column; it lags the hint window too while hints wait. A cluster node cannot see the other
// nodes' hint queues, so it always lags the hint window as well.
func stableVersion(clock *actors.HLC, standalone bool, hintWindow time.Duration, hints func() bool) func() uint64 {
	return func() uint64 {
		lag := hintWindow
		if standalone && !hints() {
			lag = 0
		}
		return actors.StableVersion(clock.Now(), lag)
	}
}

// HandoffDir is the directory of the hint queues under the data directory.
const HandoffDir = "handoff"

// ErrStopped is returned by calls made after Stop began.
var ErrStopped = errors.New("node stopped")

// Config configures a node.
type Config struct {
	NodeID  uint64
	DataDir string
	// ActorAddr is host:port for protoactor remote (port 0 picks one); empty runs without remote
	// (standalone, and tests).
	ActorAddr string
	Placement actors.Placement
	Engine    engine.Options
	// RequestTimeout bounds calls whose context has no deadline (default 10 s); ReplicaTimeout
	// bounds one replica's answer to a write (default 2 s).
	RequestTimeout, ReplicaTimeout time.Duration
	// Vnodes tunes vnode supervision (Root and Engine are taken from DataDir and Engine).
	Vnodes vnode.Config
	// Reader tunes the serving of other nodes' reads (Manager and Logger are set by the node).
	Reader reader.Config
	// Handoff tunes hinted handoff: MaxBytes per target queue (default 1 GiB), MaxHintWindow
	// (default 3 h), replay backoff and timeouts. Dir, NodeID, LocalManager, Placement and Logger
	// are set by the node (queues live in <DataDir>/handoff).
	Handoff handoff.Config
	// HedgeDelay and ScanChunkBytes tune this node's reads of remote replicas (see
	// coordinator.Config; zero values take its defaults).
	HedgeDelay     time.Duration
	ScanChunkBytes uint32
	// SweepInterval is how often the node removes the data of buckets the placement dropped
	// (default 5 minutes; negative: never). It also sweeps at start.
	SweepInterval time.Duration
	// Clock versions this node's writes (a new HLC over time.Now when nil; tests inject skew). It
	// observes the version of every write, delete and rename a replica receives, so a node whose
	// wall clock is behind still versions its later writes after what it has seen.
	Clock *actors.HLC
	// PeerTLSServer and PeerTLSClient, when set, make actor traffic between nodes mutual TLS
	// (the server config must require and verify client certificates).
	PeerTLSServer, PeerTLSClient *tls.Config
	// Peers lists the cluster's nodes for the liveness watcher (the placement's cached list);
	// with an ActorAddr and Peers set, the node watches and probes its peers (actors/liveness),
	// routes around the ones that are down and tells ReportPeer of every change.
	Peers      func() []meta.Node
	ReportPeer func(ctx context.Context, id uint64, down bool) error
	// Liveness tunes the watcher (NodeID, Peers, Clock, Report and Logger are set by the node).
	Liveness liveness.Config
	// PlainShards, when set, serves other nodes' calls on this node's plain shard replicas (the
	// plain actor, actors/plainrpc).
	PlainShards plainrpc.Shards
	Logger      logrus.FieldLogger
}

// Node is a running node.
type Node struct {
	cfg     Config
	log     logrus.FieldLogger
	sys     *actor.ActorSystem
	remote  *remote.Remote
	manager *actor.PID
	reader  *actor.PID
	handoff *handoff.Handoff
	hints   atomic.Pointer[handoff.Handoff] // handoff, for the engine's stable version
	coord   *coordinator.Client
	live    *liveness.Watcher // nil without remote or Peers
	open    *vnode.Open       // the running vnodes' engines
	ops     opsrpc.Slot       // the MongoDB listener, for other nodes' currentOp and killOp

	sweepStop, sweepDone chan struct{} // the sweeper of dropped buckets (nil when it does not run)
	sweepNow             chan struct{}

	mu       sync.RWMutex // held for reading by every call, for writing by Stop
	stopped  bool
	stopOnce sync.Once
	stopErr  error
}

// Start starts a node.
func Start(cfg Config) (*Node, error) {
	if cfg.Placement == nil || cfg.DataDir == "" {
		return nil, errors.New("starting node: Placement and DataDir are required")
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = logrus.StandardLogger()
	}
	log := cfg.Logger.WithField("node_id", cfg.NodeID)
	n := &Node{cfg: cfg, log: log}
	n.sys = actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return newSlogLogger(log) }))
	if cfg.ActorAddr != "" {
		if err := n.startRemote(cfg.ActorAddr); err != nil {
			n.sys.Shutdown()
			return nil, err
		}
	}
	if cfg.Handoff.MaxHintWindow <= 0 {
		cfg.Handoff.MaxHintWindow = handoff.DefaultMaxHintWindow
	}
	if cfg.Clock == nil {
		cfg.Clock = actors.NewHLC(nil)
		n.cfg.Clock = cfg.Clock
	}
	if cfg.Engine.StableVersion == nil {
		cfg.Engine.StableVersion = stableVersion(cfg.Clock, cfg.ActorAddr == "", cfg.Handoff.MaxHintWindow, n.holdsHints)
	}
	vcfg := cfg.Vnodes
	vcfg.Root, vcfg.Engine, vcfg.Logger, vcfg.Observe, vcfg.Clock = cfg.DataDir, cfg.Engine, log, cfg.Clock.Observe, cfg.Clock.Now
	vcfg.Open = vnode.NewOpen()
	n.open = vcfg.Open
	if fence, ok := cfg.Placement.(actors.VnodeFence); ok {
		vcfg.Placed = func(s vnode.Spec) bool {
			return fence.VnodePlaced(s.Tenant, s.DB, s.BucketID, s.ReplicaSetID, s.VnodeID, cfg.NodeID)
		}
		vcfg.SyncPlacement = fence.SyncPlacement
	}
	mgr, err := n.sys.Root.SpawnNamed(vnode.ManagerProps(vcfg), actors.ManagerName)
	if err != nil {
		n.shutdownSystem()
		return nil, fmt.Errorf("starting node: %w", err)
	}
	n.manager = mgr
	rcfg := cfg.Reader
	rcfg.Manager, rcfg.Logger = mgr, log
	if n.reader, err = n.sys.Root.SpawnNamed(reader.Props(rcfg), actors.ReaderName); err != nil {
		_ = n.sys.Root.StopFuture(mgr).Wait()
		n.shutdownSystem()
		return nil, fmt.Errorf("starting node: %w", err)
	}
	hcfg := cfg.Handoff
	hcfg.Dir, hcfg.NodeID, hcfg.LocalManager, hcfg.Placement, hcfg.Logger = filepath.Join(cfg.DataDir, HandoffDir), cfg.NodeID, mgr, cfg.Placement, log
	if n.handoff, err = handoff.Spawn(n.sys, hcfg); err != nil {
		_ = n.sys.Root.StopFuture(n.reader).Wait()
		_ = n.sys.Root.StopFuture(mgr).Wait()
		n.shutdownSystem()
		return nil, fmt.Errorf("starting node: %w", err)
	}
	n.hints.Store(n.handoff)
	var down coordinator.Liveness
	if cfg.ActorAddr != "" && cfg.Peers != nil {
		lcfg := cfg.Liveness
		lcfg.NodeID, lcfg.Peers, lcfg.Clock, lcfg.Report, lcfg.Logger = cfg.NodeID, cfg.Peers, cfg.Clock, cfg.ReportPeer, log
		if n.live, err = liveness.Spawn(n.sys, lcfg); err != nil {
			_ = n.handoff.Stop()
			_ = n.sys.Root.StopFuture(n.reader).Wait()
			_ = n.sys.Root.StopFuture(mgr).Wait()
			n.shutdownSystem()
			return nil, fmt.Errorf("starting node: %w", err)
		}
		down = n.live.Status()
	}
	n.coord, err = coordinator.Spawn(n.sys, coordinator.Config{NodeID: cfg.NodeID, Placement: cfg.Placement, Manager: mgr, Open: vcfg.Open, Clock: cfg.Clock,
		Handoff: n.handoff.PID(), ReplicaTimeout: cfg.ReplicaTimeout, RequestTimeout: cfg.RequestTimeout, Logger: log,
		HedgeDelay: cfg.HedgeDelay, ScanChunkBytes: cfg.ScanChunkBytes, Liveness: down})
	if err != nil {
		if n.live != nil {
			_ = n.live.Stop()
		}
		_ = n.handoff.Stop()
		_ = n.sys.Root.StopFuture(n.reader).Wait()
		_ = n.sys.Root.StopFuture(mgr).Wait()
		n.shutdownSystem()
		return nil, fmt.Errorf("starting node: %w", err)
	}
	if cfg.PlainShards != nil {
		// a name taken cannot happen in a fresh system; the node runs on without it
		if _, err := n.sys.Root.SpawnNamed(plainrpc.Props(plainrpc.Config{Shards: cfg.PlainShards, Logger: log}), actors.PlainName); err != nil {
			log.WithError(err).Error("the plain actor did not start: other nodes cannot use this node's plain shard replicas")
		}
	}
	if _, err := n.sys.Root.SpawnNamed(opsrpc.Props(&n.ops, log), actors.OpsName); err != nil {
		log.WithError(err).Error("the ops actor did not start: currentOp on other nodes will not list this node's commands")
	}
	log.WithField("actor_addr", n.sys.Address()).Info("node started")
	if cfg.SweepInterval == 0 {
		cfg.SweepInterval = 5 * time.Minute
	}
	if cfg.SweepInterval > 0 {
		n.sweepStop, n.sweepDone, n.sweepNow = make(chan struct{}), make(chan struct{}), make(chan struct{}, 1)
		go n.runSweeper(cfg.SweepInterval)
	}
	return n, nil
}

// startRemote starts protoactor remote with keepalives, so a silent peer is noticed in seconds.
func (n *Node) startRemote(addr string) (err error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("starting node: actor address %q: %w", addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return fmt.Errorf("starting node: actor address %q: %w", addr, err)
	}
	const maxMsg = 16 << 20
	creds := insecure.NewCredentials()
	serverOpts := []grpc.ServerOption{grpc.KeepaliveParams(keepalive.ServerParameters{Time: 5 * time.Second, Timeout: 3 * time.Second}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: time.Second, PermitWithoutStream: true}),
		grpc.MaxRecvMsgSize(maxMsg)}
	if n.cfg.PeerTLSClient != nil {
		creds = credentials.NewTLS(n.cfg.PeerTLSClient)
		serverOpts = append(serverOpts, grpc.Creds(credentials.NewTLS(n.cfg.PeerTLSServer)))
	}
	rcfg := remote.Configure(host, port,
		remote.WithDialOptions(grpc.WithTransportCredentials(creds),
			grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 5 * time.Second, Timeout: 3 * time.Second, PermitWithoutStream: true}),
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMsg), grpc.MaxCallSendMsgSize(maxMsg))),
		remote.WithServerOptions(serverOpts...))
	// One connection attempt per endpoint (then 2 s and the endpoint is dropped; the next message
	// opens a new one) instead of five: an endpoint writer retries inside its actor, so stopping a
	// node waited up to 10 s for the writers to a peer that is down, which the liveness probes
	// always have. Coordinators and hints have their own deadlines and retries.
	rcfg.MaxRetryCount = 1
	r := remote.NewRemote(n.sys, rcfg)
	defer func() {
		// remote.Start panics when it cannot listen
		if p := recover(); p != nil {
			err = fmt.Errorf("starting node: remote on %s: %v", addr, p)
		}
	}()
	r.Start()
	n.remote = r
	return nil
}

// Address is the node's actor address ("nonhost" without remote).
func (n *Node) Address() string { return n.sys.Address() }

// System is the node's actor system (for tests and for the wire layer's own actors).
func (n *Node) System() *actor.ActorSystem { return n.sys }

// enter admits a call; the returned function ends it.
func (n *Node) enter() (func(), error) {
	n.mu.RLock()
	if n.stopped {
		n.mu.RUnlock()
		return nil, ErrStopped
	}
	return n.mu.RUnlock, nil
}

// Write writes a batch of one collection (see coordinator.Client.Write).
func (n *Node) Write(ctx context.Context, tenant, db, collection string, b *storage.Batch) error {
	done, err := n.enter()
	if err != nil {
		return err
	}
	defer done()
	return n.coord.Write(ctx, tenant, db, collection, b)
}

// WriteAt writes a batch with the caller's version (coordinator.Client.WriteAt).
func (n *Node) WriteAt(ctx context.Context, tenant, db, collection string, b *storage.Batch, version uint64) error {
	done, err := n.enter()
	if err != nil {
		return err
	}
	defer done()
	return n.coord.WriteAt(ctx, tenant, db, collection, b, version)
}

// Scan streams a table's columns (see coordinator.Client.Scan).
func (n *Node) Scan(ctx context.Context, tenant, db, table string, q engine.ScanQuery, fn coordinator.ScanFunc) error {
	done, err := n.enter()
	if err != nil {
		return err
	}
	defer done()
	return n.coord.Scan(ctx, tenant, db, table, q, fn)
}

// Aggregate streams a table's window aggregates (see coordinator.Client.Aggregate).
func (n *Node) Aggregate(ctx context.Context, tenant, db, table string, q engine.AggQuery, fn coordinator.AggFunc) error {
	done, err := n.enter()
	if err != nil {
		return err
	}
	defer done()
	return n.coord.Aggregate(ctx, tenant, db, table, q, fn)
}

// Repair compares the replicas of the database's replica sets and fills each one's gaps from the
// others (anti-entropy; coordinator.Repair).
func (n *Node) Repair(ctx context.Context, tenant, db string, opt coordinator.RepairOptions) (coordinator.RepairReport, error) {
	done, err := n.enter()
	if err != nil {
		return coordinator.RepairReport{}, err
	}
	defer done()
	return n.coord.Repair(ctx, tenant, db, opt)
}

// FillVnode fills the joining vnode to of a replica set from its member from and verifies it
// (coordinator.FillVnode).
func (n *Node) FillVnode(ctx context.Context, b meta.Bucket, rs meta.ReplicaSet, from, to meta.Vnode, progress func(coordinator.FillReport)) (coordinator.FillReport, error) {
	done, err := n.enter()
	if err != nil {
		return coordinator.FillReport{}, err
	}
	defer done()
	return n.coord.FillVnode(ctx, b, rs, from, to, progress)
}

// WaitWrites returns once every write and fan-out this node's coordinator started before the
// call is done (coordinator.Client.WaitWrites).
func (n *Node) WaitWrites(ctx context.Context) error {
	done, err := n.enter()
	if err != nil {
		return err
	}
	defer done()
	return n.coord.WaitWrites(ctx)
}

// Delete hides a table's points matching filter in [minT, maxT].
func (n *Node) Delete(ctx context.Context, tenant, db, table string, filter index.Expr, minT, maxT int64) error {
	done, err := n.enter()
	if err != nil {
		return err
	}
	defer done()
	return n.coord.Delete(ctx, tenant, db, table, filter, minT, maxT)
}

// Rename renames a table's series matching filter by upd (see coordinator.Client.Rename).
func (n *Node) Rename(ctx context.Context, tenant, db, table string, filter index.Expr, upd *storage.TagUpdate) (coordinator.RenameResult, error) {
	done, err := n.enter()
	if err != nil {
		return coordinator.RenameResult{}, err
	}
	defer done()
	return n.coord.Rename(ctx, tenant, db, table, filter, upd)
}

// DropTable removes a table's data from every vnode of the database.
func (n *Node) DropTable(ctx context.Context, tenant, db, table string) error {
	done, err := n.enter()
	if err != nil {
		return err
	}
	defer done()
	return n.coord.DropTable(ctx, tenant, db, table)
}

// ExpireBefore hides the database's points older than t.
func (n *Node) ExpireBefore(ctx context.Context, tenant, db string, t int64) error {
	done, err := n.enter()
	if err != nil {
		return err
	}
	defer done()
	return n.coord.ExpireBefore(ctx, tenant, db, t)
}

// Flush writes the memory of every vnode running on this node to TSM files.
func (n *Node) Flush(ctx context.Context) error {
	_, err := n.FlushWhere(ctx, nil)
	return err
}

// FlushWhere flushes the vnodes of this node that keep accepts (nil: all) and returns how many.
func (n *Node) FlushWhere(ctx context.Context, keep func(vnode.Spec) bool) (int, error) {
	done, err := n.enter()
	if err != nil {
		return 0, err
	}
	defer done()
	return n.flushWhere(ctx, keep)
}

func (n *Node) flush(ctx context.Context) error {
	_, err := n.flushWhere(ctx, nil)
	return err
}

// selectVnodes lists the vnodes of this node that keep accepts (nil: all).
func (n *Node) selectVnodes(ctx context.Context, keep func(vnode.Spec) bool) ([]vnode.Ref, error) {
	refs, err := n.vnodes(ctx)
	if err != nil || keep == nil {
		return refs, err
	}
	out := refs[:0]
	for _, r := range refs {
		if keep(r.Spec) {
			out = append(out, r)
		}
	}
	return out, nil
}

func (n *Node) flushWhere(ctx context.Context, keep func(vnode.Spec) bool) (int, error) {
	refs, err := n.selectVnodes(ctx, keep)
	if err != nil {
		return 0, err
	}
	futures := make([]*actor.Future, len(refs))
	for i, r := range refs {
		futures[i] = n.sys.Root.RequestFuture(r.PID, &messages.FlushRequest{VnodeId: r.Spec.VnodeID, Force: true}, n.timeout(ctx))
	}
	var errs []error
	for i, f := range futures {
		if err := replyErr(f.Result()); err != nil {
			errs = append(errs, fmt.Errorf("flushing vnode %d: %w", refs[i].Spec.VnodeID, err))
		}
	}
	return len(refs), errors.Join(errs...)
}

// Settle puts every vnode of this node in its most compact form now (vnode.Settle: flush, WAL
// reclaimed, full compaction, files with hidden points rewritten) and returns how many vnodes it
// settled. Without a deadline in ctx it waits up to an hour.
func (n *Node) Settle(ctx context.Context) (int, error) { return n.SettleWhere(ctx, nil) }

// SettleWhere settles the vnodes of this node that keep accepts (nil: all) and returns how many.
func (n *Node) SettleWhere(ctx context.Context, keep func(vnode.Spec) bool) (int, error) {
	done, err := n.enter()
	if err != nil {
		return 0, err
	}
	defer done()
	refs, err := n.selectVnodes(ctx, keep)
	if err != nil {
		return 0, err
	}
	wait := time.Hour
	if d, ok := ctx.Deadline(); ok {
		wait = time.Until(d)
	}
	futures := make([]*actor.Future, len(refs))
	for i, r := range refs {
		futures[i] = n.sys.Root.RequestFuture(r.PID, &vnode.Settle{}, wait)
	}
	var errs []error
	for i, f := range futures {
		if err := replyErr(f.Result()); err != nil {
			errs = append(errs, fmt.Errorf("settling vnode %d: %w", refs[i].Spec.VnodeID, err))
		}
	}
	return len(refs), errors.Join(errs...)
}

// Stats returns the figures of every vnode running on this node.
func (n *Node) Stats(ctx context.Context) ([]*messages.VnodeStats, error) {
	done, err := n.enter()
	if err != nil {
		return nil, err
	}
	defer done()
	refs, err := n.vnodes(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*messages.VnodeStats, 0, len(refs))
	for _, r := range refs {
		res, err := n.sys.Root.RequestFuture(r.PID, &messages.StatsRequest{VnodeId: r.Spec.VnodeID}, n.timeout(ctx)).Result()
		if err != nil {
			return nil, fmt.Errorf("stats of vnode %d: %w", r.Spec.VnodeID, err)
		}
		s, ok := res.(*messages.VnodeStats)
		if !ok {
			return nil, fmt.Errorf("stats of vnode %d: unexpected reply %T", r.Spec.VnodeID, res)
		}
		out = append(out, s)
	}
	return out, nil
}

func (n *Node) vnodes(ctx context.Context) ([]vnode.Ref, error) {
	res, err := n.sys.Root.RequestFuture(n.manager, &vnode.ListVnodes{}, n.timeout(ctx)).Result()
	if err != nil {
		return nil, fmt.Errorf("listing vnodes: %w", err)
	}
	return res.([]vnode.Ref), nil
}

func (n *Node) timeout(ctx context.Context) time.Duration {
	if d, ok := ctx.Deadline(); ok {
		return time.Until(d)
	}
	return n.cfg.RequestTimeout
}

// replyErr is the error of an ErrorReply answer.
func replyErr(res any, err error) error {
	if err != nil {
		return err
	}
	r, ok := res.(*messages.ErrorReply)
	if !ok {
		return fmt.Errorf("unexpected reply %T", res)
	}
	if r.GetCode() != messages.ErrorCode_ERROR_CODE_OK {
		return fmt.Errorf("%v: %s", r.GetCode(), r.GetMessage())
	}
	return nil
}

// Peers is the liveness watcher's view of the other nodes (nil without one).
func (n *Node) Peers() []liveness.Peer {
	if n.live == nil {
		return nil
	}
	return n.live.Status().Peers()
}

// HandoffStats returns the hint queues' figures by target node (for /metrics).
func (n *Node) HandoffStats() []handoff.TargetStats { return n.handoff.Stats() }

// CoordinatorStats are the node's writes in flight and answered, by consistency level.
func (n *Node) CoordinatorStats() coordinator.WriteStats { return n.coord.Stats() }

// holdsHints reports whether any hint queue of this node holds a hint (true until the queues
// are open: they may).
func (n *Node) holdsHints() bool {
	h := n.hints.Load()
	return h == nil || h.Holding()
}

// Stop stops accepting calls, waits for running ones, flushes every vnode, stops the actors (which
// closes the vnodes) and the remote. Unflushed data would be safe in the WAL anyway; flushing
// makes the next start fast. Calling Stop again returns the first result.
func (n *Node) Stop(ctx context.Context) error {
	n.stopOnce.Do(func() {
		n.mu.Lock()
		n.stopped = true
		n.mu.Unlock()
		if n.sweepStop != nil {
			close(n.sweepStop)
			<-n.sweepDone
		}
		var errs []error
		if err := n.flush(ctx); err != nil {
			errs = append(errs, err)
		}
		if err := n.coord.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("stopping coordinator: %w", err))
		}
		if n.live != nil {
			// peers watching this node see it stop (down at once), before its connections drop
			if err := n.live.Stop(); err != nil {
				errs = append(errs, fmt.Errorf("stopping liveness: %w", err))
			}
		}
		// hint queues are synced and closed; unreplayed hints wait for the next start
		if err := n.handoff.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("stopping handoff: %w", err))
		}
		// cursors hold snapshots of the vnodes: release them first
		if err := n.sys.Root.StopFuture(n.reader).Wait(); err != nil {
			errs = append(errs, fmt.Errorf("stopping reader: %w", err))
		}
		if err := n.sys.Root.StopFuture(n.manager).Wait(); err != nil {
			errs = append(errs, fmt.Errorf("stopping vnodes: %w", err))
		}
		n.shutdownSystem()
		n.stopErr = errors.Join(errs...)
		n.log.WithError(n.stopErr).Info("node stopped")
	})
	return n.stopErr
}

// remoteStopGrace bounds the graceful stop of the actor server: peers keep their streams to this
// node open (they probe it every second), and gRPC's graceful stop would wait for them.
const remoteStopGrace = time.Second

func (n *Node) shutdownSystem() {
	if n.remote != nil {
		done := make(chan struct{})
		go func() {
			defer close(done)
			n.remote.Shutdown(true)
		}()
		select {
		case <-done:
		case <-time.After(remoteStopGrace):
			n.remote.Shutdown(false) // closes the server and its streams; the graceful stop returns
			<-done                   // (after endpoint writers still retrying a dead peer give up)
		}
	}
	n.sys.Shutdown()
}
