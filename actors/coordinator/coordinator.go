package coordinator

// The coordinator actor, named actors.CoordinatorName.
//
// Owns:       admission control: the number of writes in flight (at most Config.MaxInflight).
// Messages:   lifecycle (Started, Terminated of a write job); requests *writeRequest (from
//             Client.Write; answered by the job with *writeResult).
// Supervisor: the node (the root guardian's default strategy).
// Children:   one write job per write (write.go), supervised with Stop: a failed job is a bug, its
//             requester's future times out.

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"

	"github.com/chronogo/chronogo/actors"
	"github.com/chronogo/chronogo/actors/vnode"
	"github.com/chronogo/chronogo/storage"
)

// Config configures the coordinator.
type Config struct {
	NodeID    uint64 // this node: replicas placed here go to Manager, others over remote
	Placement actors.Placement
	Manager   *actor.PID // this node's vnode manager
	// Open, when set, gives local reads their snapshot without a request to the vnode actor.
	Open  *vnode.Open
	Clock *actors.HLC // versions writes; a new clock when nil
	// Handoff is the hinted-handoff manager (actors/handoff): a replica that fails with a
	// retryable error or times out gets a Hint there. Nil: no hints, failed replicas only fail.
	Handoff *actor.PID
	// ReplicaTimeout is the deadline of one replica's answer (default 2 s), kept well below the
	// time a dead peer's endpoint takes to give up (about 10 s).
	ReplicaTimeout time.Duration
	// RequestTimeout bounds requests whose context has no deadline (default 10 s).
	RequestTimeout time.Duration
	MaxInflight    int // writes in flight before ErrOverloaded (default 1024)
	// Liveness, when set, says which nodes are seen down (actors/liveness): reads try their
	// replicas last, and writes, deletes and renames hint them at once instead of waiting for
	// ReplicaTimeout.
	Liveness Liveness
	Logger   logrus.FieldLogger

	// Remote reads (remote_read.go, hedge.go; defaults applied there).
	// HedgeDelay is how long a read waits for a remote replica's first chunk before it asks the
	// next replica as well (default 100 ms).
	HedgeDelay time.Duration
	// ScanChunkBytes is the chunk budget of remote reads (default reader.DefaultChunkBytes).
	ScanChunkBytes uint32

	stats *writeStats // set by Spawn
}

func (c Config) withDefaults() Config {
	if c.Clock == nil {
		c.Clock = actors.NewHLC(nil)
	}
	if c.ReplicaTimeout <= 0 {
		c.ReplicaTimeout = 2 * time.Second
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 10 * time.Second
	}
	if c.MaxInflight <= 0 {
		c.MaxInflight = 1024
	}
	if c.Logger == nil {
		c.Logger = logrus.StandardLogger()
	}
	if c.stats == nil {
		c.stats = newWriteStats()
	}
	return c
}

// Liveness tells nodes seen down (a nil *liveness.Status says none).
type Liveness interface {
	Down(nodeID uint64) bool
}

// down reports whether node id is seen down.
func (c Config) down(id uint64) bool {
	return c.Liveness != nil && c.Liveness.Down(id)
}

// writeRequest asks the coordinator to write a batch of one collection.
type writeRequest struct {
	tenant, db, collection string
	batch                  *storage.Batch
	deadline               time.Time
	level                  Level  // the caller's WithLevel; 0: the database's default
	version                uint64 // the caller's version (WriteAt); 0: the clock's
}

// writeResult answers a writeRequest.
type writeResult struct{ err error }

// coordinator is described at the top of this file.
type coordinator struct {
	cfg      Config
	inflight int
}

var jobStrategy = actor.NewOneForOneStrategy(0, 0, func(any) actor.Directive { return actor.StopDirective })

// Receive implements actor.Actor.
func (c *coordinator) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
	case *actor.Terminated:
		c.inflight--
		c.cfg.stats.inflight.Store(int64(c.inflight))
	case *writeRequest:
		if c.inflight >= c.cfg.MaxInflight {
			ctx.Respond(&writeResult{err: ErrOverloaded})
			return
		}
		c.inflight++
		c.cfg.stats.inflight.Store(int64(c.inflight))
		ctx.Spawn(actor.PropsFromProducer(func() actor.Actor { return newWriteJob(c.cfg, m, ctx.Sender()) }, actor.WithMailbox(actors.CountedMailbox(actor.Unbounded()))))
	}
}

// Client is the Go API of the coordinator: writes go through the coordinator actor, reads and
// administrative fan-outs run on the caller's goroutine with requests to the vnodes.
type Client struct {
	cfg  Config
	root *actor.RootContext
	pid  *actor.PID
	// losers counts the hedged reads' late answers still awaited (hedge.go); Stop waits for
	// them, at most ReplicaTimeout.
	losers sync.WaitGroup
	// ops counts the writes and fan-outs in progress (WaitWrites)
	ops inflight
}

// Spawn starts the coordinator actor in the system.
func Spawn(sys *actor.ActorSystem, cfg Config) (*Client, error) {
	cfg = cfg.withDefaults()
	if cfg.Placement == nil || cfg.Manager == nil {
		return nil, fmt.Errorf("coordinator: Placement and Manager are required")
	}
	props := actor.PropsFromProducer(func() actor.Actor { return &coordinator{cfg: cfg} }, actor.WithSupervisor(jobStrategy),
		actor.WithMailbox(actors.CountedMailbox(actor.Unbounded())))
	pid, err := sys.Root.SpawnNamed(props, actors.CoordinatorName)
	if err != nil {
		return nil, fmt.Errorf("spawning coordinator: %w", err)
	}
	return &Client{cfg: cfg, root: sys.Root, pid: pid}, nil
}

// Stop stops the coordinator actor and waits for it, and for the late answers of hedged reads
// (at most ReplicaTimeout).
func (c *Client) Stop() error {
	c.losers.Wait()
	return c.root.StopFuture(c.pid).Wait()
}

// Clock is the clock that versions writes and deletes.
func (c *Client) Clock() *actors.HLC { return c.cfg.Clock }

// Write writes a batch of one collection (every series key's table is collection) with a new
// version, and returns when the database's consistency level is reached on every replica set
// (nil), or with a *PartialWriteError naming the replica sets that missed it.
func (c *Client) Write(ctx context.Context, tenant, db, collection string, b *storage.Batch) error {
	return c.WriteAt(ctx, tenant, db, collection, b, 0)
}

// MaxClientSkew bounds how far ahead of this node's clock a caller's version may be (WriteAt).
const MaxClientSkew = 5 * time.Second

// WriteAt is Write with the caller's version (0: a new one from the clock): a retry of the same
// batch with the same version is idempotent under last-write-wins. The version must be at most
// MaxClientSkew ahead of this node's clock and no older than the late-write bound
// (actors.TooLate), else the write is refused.
func (c *Client) WriteAt(ctx context.Context, tenant, db, collection string, b *storage.Batch, version uint64) error {
	if version != 0 {
		now := c.cfg.Clock.Now()
		switch {
		case actors.HLCTime(version).After(actors.HLCTime(now).Add(MaxClientSkew)):
			return fmt.Errorf("write to %s: %w: version %s is ahead of this node's clock (%s) by more than %s", collection, ErrBadVersion,
				actors.HLCTime(version).UTC().Format(time.RFC3339Nano), actors.HLCTime(now).UTC().Format(time.RFC3339Nano), MaxClientSkew)
		case actors.HLCTime(version).Before(actors.HLCTime(now).Add(-actors.MaxVersionedTime)):
			return fmt.Errorf("write to %s: %w: version %s is older than %s", collection, ErrBadVersion,
				actors.HLCTime(version).UTC().Format(time.RFC3339Nano), actors.MaxVersionedTime)
		}
	}
	if err := b.Validate(); err != nil {
		return fmt.Errorf("write to %s: %w", collection, err)
	}
	if err := b.CheckTimes(); err != nil {
		return fmt.Errorf("write to %s: %w", collection, err)
	}
	if err := checkTable(b, collection); err != nil {
		return fmt.Errorf("write to %s: %w", collection, err)
	}
	defer c.ops.begin()()
	// the version is stamped when the job starts; it must reach the replicas before they refuse
	// it as too late (actors.TooLate)
	deadline := minTime(c.deadline(ctx), time.Now().Add(actors.MaxVersionedTime))
	req := &writeRequest{tenant: tenant, db: db, collection: collection, batch: b, deadline: deadline,
		level: askedLevel(ctx), version: version}
	res, err := c.root.RequestFuture(c.pid, req, time.Until(deadline)+100*time.Millisecond).Result()
	if err != nil {
		return fmt.Errorf("write to %s: %w", collection, err)
	}
	r, ok := res.(*writeResult)
	if !ok {
		return fmt.Errorf("write to %s: unexpected reply %T", collection, res)
	}
	return r.err
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// deadline is ctx's deadline, or RequestTimeout from now.
func (c *Client) deadline(ctx context.Context) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return d
	}
	return time.Now().Add(c.cfg.RequestTimeout)
}
