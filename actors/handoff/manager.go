package handoff

// The handoff manager actor, named actors.HandoffName ("handoff").
//
// Owns:       the map target node id -> target actor, and the stats registry they publish to.
// Messages:   lifecycle (Started: spawns a target actor for every queue directory found on disk,
//             so hints survive a restart; Terminated of a child); requests *Hint (forwarded with
//             the original sender to handoff/<node>, spawned on demand).
// Supervisor: the node (protoactor's default guardian strategy when spawned from the root).
// Children:   handoff/<node id> (target.go), one per target node, supervised with the default
//             strategy (restart): a restarted target reopens its queue.

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"

	"github.com/chronogo/chronogo/actors"
	"github.com/chronogo/chronogo/messages"
)

// manager is described at the top of this file.
type manager struct {
	cfg     Config
	reg     *registry
	log     logrus.FieldLogger
	targets map[uint64]*actor.PID
}

// Receive implements actor.Actor.
func (m *manager) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		m.started(ctx)
	case *actor.Terminated:
		for id, pid := range m.targets {
			if pid.Equal(msg.Who) {
				delete(m.targets, id)
			}
		}
	case *Hint:
		if msg.Target == 0 || (msg.Batch == nil) == (msg.Request == nil) {
			ctx.Respond(&HintResult{Err: fmt.Errorf("hint for node %d: a target and one batch or request are required", msg.Target)})
			return
		}
		pid, err := m.target(ctx, msg.Target)
		if err != nil {
			ctx.Respond(&HintResult{Err: err})
			return
		}
		ctx.RequestWithCustomSender(pid, msg, ctx.Sender())
	case *HandOver:
		pid, ok := m.targets[msg.Node]
		if !ok {
			ctx.Respond(&HandOverResult{Err: fmt.Errorf("no hint queue for node %d", msg.Node)})
			return
		}
		ctx.RequestWithCustomSender(pid, msg, ctx.Sender())
	}
}

// started spawns the target actors of the queues on disk.
func (m *manager) started(ctx actor.Context) {
	entries, err := os.ReadDir(m.cfg.Dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		m.log.WithError(err).Error("listing hint queues")
		return
	}
	for _, e := range entries {
		id, ok := parseQueueDirName(e.Name())
		if !ok || !e.IsDir() {
			continue
		}
		if _, err := m.target(ctx, id); err != nil {
			m.log.WithError(err).WithField("target_node", id).Error("starting hint replay")
		}
	}
}

// target returns the actor of a target node, spawning it when needed.
func (m *manager) target(ctx actor.Context, id uint64) (*actor.PID, error) {
	if pid, ok := m.targets[id]; ok {
		return pid, nil
	}
	props := actor.PropsFromProducer(func() actor.Actor { return newTarget(m.cfg, id, m.reg) },
		actor.WithMailbox(actors.CountedMailbox(actor.Unbounded())))
	pid, err := ctx.SpawnNamed(props, QueueDirName(id))
	if err != nil {
		return nil, fmt.Errorf("spawning hint queue actor for node %d: %w", id, err)
	}
	m.targets[id] = pid
	return pid, nil
}

// Handoff is the Go handle of a running handoff manager.
type Handoff struct {
	root *actor.RootContext
	pid  *actor.PID
	reg  *registry
}

// Spawn starts the handoff manager in sys, named actors.HandoffName.
func Spawn(sys *actor.ActorSystem, cfg Config) (*Handoff, error) {
	if cfg.Dir == "" || cfg.Placement == nil {
		return nil, errors.New("spawning handoff: Dir and Placement are required")
	}
	cfg = cfg.withDefaults()
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("spawning handoff: %w", err)
	}
	reg := newRegistry()
	entries, err := os.ReadDir(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("spawning handoff: %w", err)
	}
	for _, e := range entries {
		if id, ok := parseQueueDirName(e.Name()); ok && e.IsDir() {
			reg.unknown[id] = true // until its actor has opened it and published its figures
		}
	}
	props := actor.PropsFromProducer(func() actor.Actor {
		return &manager{cfg: cfg, reg: reg, log: cfg.Logger, targets: map[uint64]*actor.PID{}}
	}, actor.WithMailbox(actors.CountedMailbox(actor.Unbounded())))
	pid, err := sys.Root.SpawnNamed(props, actors.HandoffName)
	if err != nil {
		return nil, fmt.Errorf("spawning handoff: %w", err)
	}
	return &Handoff{root: sys.Root, pid: pid, reg: reg}, nil
}

// PID is the manager's PID: send it *Hint requests.
func (h *Handoff) PID() *actor.PID { return h.pid }

// Stats returns the figures of every target node that has (or had) a queue, by node id.
func (h *Handoff) Stats() []TargetStats { return h.reg.all() }

// Holding reports whether any queue holds (or, not yet opened since the start, may hold) a hint:
// a hint replays a version older than the late-write window allows fresh writes.
func (h *Handoff) Holding() bool { return h.reg.holding() }

// Store sends a hint and waits for its answer (for callers outside actors, and tests).
func (h *Handoff) Store(target uint64, wb *messages.WriteBatch, timeout time.Duration) error {
	res, err := h.root.RequestFuture(h.pid, &Hint{Target: target, Batch: wb}, timeout).Result()
	if err != nil {
		return fmt.Errorf("storing hint for node %d: %w", target, err)
	}
	r, ok := res.(*HintResult)
	if !ok {
		return fmt.Errorf("storing hint for node %d: unexpected reply %T", target, res)
	}
	return r.Err
}

// Stop stops the manager and its target actors (which sync and close their queues) and waits.
func (h *Handoff) Stop() error {
	return h.root.StopFuture(h.pid).Wait()
}
