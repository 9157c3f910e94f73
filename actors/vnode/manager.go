package vnode

// The vnode manager actor, named actors.ManagerName ("vnodes") under the node.
//
// Owns:       the map vnode id -> vnode actor of this node, and the set of vnodes stopped as broken
//             (corrupt, or failing too often) that it refuses to respawn.
// Messages:   lifecycle (Started, Terminated of a child); requests *Ensure, *Forward, *ListVnodes,
//             *messages.WriteBatch (spawns the target vnode on demand and forwards it with the
//             original sender), *messages.FlushRequest, *messages.CompactRequest,
//             *messages.StatsRequest (forwarded to a running vnode), *messages.DeleteRequest,
//             *messages.DropTableRequest, *messages.ExpireRequest (turned into Delete, DropTable,
//             ExpireBefore for the vnode, which answers an ErrorReply, in an envelope to remote
//             senders), *messages.RenameRequest (turned into Rename, answered with a RenameReply), and *messages.Envelope holding any of these from remote coordinators;
//             unknown envelope types get an ErrorReply. Writes, deletes and renames for a vnode
//             the placement does not have on this node are refused (fence.go).
// Supervisor: the node (protoactor's default guardian strategy when spawned from the root).
// Children:   vnode/<id> (vnode.go), supervised by backoffStrategy with vnodeDecider: Restart with
//             exponential backoff, at most 5 restarts per minute, Stop on *storage.CorruptionError.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"
	"google.golang.org/protobuf/proto"

	"github.com/chronogo/chronogo/actors"
	"github.com/chronogo/chronogo/messages"
	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/engine"
	"github.com/chronogo/chronogo/storage/index"
	"github.com/chronogo/chronogo/storage/layout"
)

// Config configures the manager and its vnodes.
type Config struct {
	Root   string         // data directory; vnodes live in layout.VnodeDir(Root, ...)
	Engine engine.Options // options of every vnode
	// MaxRestarts within RestartWindow stop a failing vnode (defaults 5 per minute).
	MaxRestarts   int
	RestartWindow time.Duration
	// Placed, when set, says whether the placement (as cached) has a vnode on this node, and
	// SyncPlacement brings that cache up to date: writes, deletes and renames for a vnode that
	// is not placed here are refused once a fresh placement confirms it (fence.go).
	Placed        func(Spec) bool
	SyncPlacement func(context.Context) error
	// RestartBackoff is the delay before the first restart, doubling up to MaxRestartBackoff
	// (defaults 100 ms and 10 s).
	RestartBackoff, MaxRestartBackoff time.Duration
	// SettleAfter is how long a vnode takes no write before it is settled: memcache flushed, WAL
	// segments reclaimed, files fully compacted (default 1 minute; negative: never).
	SettleAfter time.Duration
	// Observe, when set, is given the version of every write, delete and rename the manager
	// receives (the node's HLC observes it).
	Observe func(version uint64)
	// Clock, when set, reads the node's hybrid logical clock: fresh writes, deletes and renames
	// stamped more than half the late-write window before it are refused (actors.TooLate).
	Clock func() uint64
	// Open, when set, lists the running vnodes' engines for local reads (see Open).
	Open   *Open
	Logger logrus.FieldLogger
}

func (c Config) withDefaults() Config {
	if c.MaxRestarts <= 0 {
		c.MaxRestarts = 5
	}
	if c.SettleAfter == 0 {
		c.SettleAfter = time.Minute
	}
	if c.RestartWindow <= 0 {
		c.RestartWindow = time.Minute
	}
	if c.RestartBackoff <= 0 {
		c.RestartBackoff = 100 * time.Millisecond
	}
	if c.MaxRestartBackoff <= 0 {
		c.MaxRestartBackoff = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = logrus.StandardLogger()
	}
	if c.Engine.Logger == nil {
		c.Engine.Logger = c.Logger
	}
	return c
}

// ManagerProps returns the props of the vnode manager; spawn it named actors.ManagerName.
func ManagerProps(cfg Config) *actor.Props {
	cfg = cfg.withDefaults()
	strategy := &backoffStrategy{maxRestarts: cfg.MaxRestarts, within: cfg.RestartWindow,
		initial: cfg.RestartBackoff, maxBackoff: cfg.MaxRestartBackoff, decider: vnodeDecider}
	return actor.PropsFromProducer(func() actor.Actor {
		return &manager{cfg: cfg, log: cfg.Logger, vnodes: map[uint64]*running{}, broken: map[uint64]string{}, removing: map[string]bool{}, strategy: strategy}
	}, actor.WithSupervisor(strategy), actor.WithMailbox(actors.CountedMailbox(actor.Unbounded())))
}

// running is a spawned vnode actor.
type running struct {
	spec Spec
	pid  *actor.PID
}

// manager is described at the top of this file.
type manager struct {
	cfg    Config
	log    logrus.FieldLogger
	vnodes map[uint64]*running
	broken map[uint64]string // vnode id -> why it was stopped
	// removing holds the buckets whose data is being removed (remove.go)
	removing map[string]bool
	// strategy remembers each child's last failure, for the log line of a broken vnode
	strategy *backoffStrategy
	// stopping is set once the manager stops: its children then stop on purpose
	stopping bool
	// sweepStop ends the start-up sweep while it waits (startsweep.go)
	sweepStop chan struct{}
	// held are the requests waiting for a placement check, syncing whether one runs (fence.go)
	held    []heldRequest
	syncing bool
}

// Receive implements actor.Actor.
func (m *manager) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		m.sweepUnsettled(ctx)
	case *unsettledAtStart:
		if !m.stopping {
			m.openUnsettled(ctx, msg.spec)
		}
	case *actor.Stopping:
		m.stopping = true
		m.stopSweep()
	case *actor.Restarting:
		m.stopSweep() // the restarted manager sweeps again
	case *actor.Terminated:
		m.terminated(msg)
	default:
		m.handle(ctx, msg)
	}
}

// observe passes a received version to the node's clock.
func (m *manager) observe(version uint64) {
	if m.cfg.Observe != nil && version != 0 {
		m.cfg.Observe(version)
	}
}

// late refuses a fresh (not hinted) write, delete or rename stamped more than half the
// late-write window ago (actors.TooLate): the node's stable version promises that none lands
// under data compacted with one version per column. It reports whether it refused.
func (m *manager) late(ctx actor.Context, version uint64, hinted bool) bool {
	if m.cfg.Clock == nil {
		return false
	}
	now := m.cfg.Clock()
	if !actors.TooLate(version, hinted, now) {
		return false
	}
	age := actors.HLCTime(now).Sub(actors.HLCTime(version)).Round(time.Millisecond)
	m.log.WithFields(logrus.Fields{"version": version, "age": age}).Warn("refusing a request stamped too long ago")
	m.replyErr(ctx, &messages.ErrorReply{Code: messages.ErrorCode_ERROR_CODE_TOO_LATE,
		Message: fmt.Sprintf("request stamped %s ago, more than half the late-write window (%s): refused, nothing applied", age, actors.LateWriteWindow)})
	return true
}

func (m *manager) handle(ctx actor.Context, msg any) { m.dispatch(ctx, msg, true) }

// dispatch handles msg; with fence, a write, delete or rename for a vnode the placement does not
// have on this node waits for the placement to be checked first (fence.go).
func (m *manager) dispatch(ctx actor.Context, msg any, fence bool) {
	if fence && m.fenced(ctx, msg) {
		return
	}
	switch r := msg.(type) {
	case *verified:
		m.dispatch(ctx, r.msg, false)
	case *placementSynced:
		m.placementSynced(ctx, r)
	case *messages.Envelope:
		inner, err := r.Open()
		if err != nil {
			m.replyErr(ctx, messages.ErrorFor(err))
			return
		}
		m.dispatch(ctx, inner, fence)
	case *Ensure:
		pid, reply := m.ensure(ctx, r.Spec)
		if reply != nil {
			ctx.Respond(reply)
			return
		}
		ctx.Respond(pid)
	case *Forward:
		switch f := r.Msg.(type) {
		case *Delete:
			if m.late(ctx, f.Version, false) {
				return
			}
		case *Rename:
			if m.late(ctx, f.Version, false) {
				return
			}
		}
		m.forward(ctx, r.Spec, r.Msg)
	case *RemoveBucket:
		m.removeBucket(ctx, r)
	case *bucketRemoved:
		delete(m.removing, r.key)
	case *ListVnodes:
		refs := make([]Ref, 0, len(m.vnodes))
		for _, v := range m.vnodes {
			refs = append(refs, Ref{Spec: v.spec, PID: v.pid})
		}
		ctx.Respond(refs)
	case *messages.WriteBatch:
		m.observe(r.GetVersion())
		if m.late(ctx, r.GetVersion(), r.GetHinted()) {
			return
		}
		m.forward(ctx, Spec{Tenant: r.GetTenant(), DB: r.GetDb(), BucketID: r.GetBucketId(), ReplicaSetID: r.GetReplicaSetId(), VnodeID: r.GetVnodeId()}, r)
	case *LocalWrite:
		h := r.Header
		m.observe(h.GetVersion())
		if m.late(ctx, h.GetVersion(), h.GetHinted()) {
			return
		}
		m.forward(ctx, Spec{Tenant: h.GetTenant(), DB: h.GetDb(), BucketID: h.GetBucketId(), ReplicaSetID: h.GetReplicaSetId(), VnodeID: h.GetVnodeId()}, r)
	case *messages.DeleteRequest:
		filter, err := index.UnmarshalExpr(r.GetFilter())
		if err != nil {
			m.replyErr(ctx, &messages.ErrorReply{Code: messages.ErrorCode_ERROR_CODE_BAD_REQUEST, Message: err.Error()})
			return
		}
		m.observe(r.GetVersion())
		if m.late(ctx, r.GetVersion(), r.GetHinted()) {
			return
		}
		m.forward(ctx, SpecOf(r.GetVnode()), &Delete{Table: r.GetTable(), Filter: filter, Keys: r.GetSeriesKeys(), MinTime: r.GetMinTime(), MaxTime: r.GetMaxTime(), Version: r.GetVersion()})
	case *messages.DropTableRequest:
		m.forward(ctx, SpecOf(r.GetVnode()), &DropTable{Table: r.GetTable()})
	case *messages.RenameRequest:
		filter, err := index.UnmarshalExpr(r.GetFilter())
		var upd *storage.TagUpdate
		if err == nil {
			upd, err = storage.UnmarshalTagUpdate(r.GetUpdate())
		}
		if err != nil {
			m.replyErr(ctx, &messages.ErrorReply{Code: messages.ErrorCode_ERROR_CODE_BAD_REQUEST, Message: err.Error()})
			return
		}
		m.observe(r.GetVersion())
		if m.late(ctx, r.GetVersion(), r.GetHinted()) {
			return
		}
		m.forward(ctx, SpecOf(r.GetVnode()), &Rename{Table: r.GetTable(), Filter: filter, Update: upd, Version: r.GetVersion()})
	case *messages.ExpireRequest:
		m.forward(ctx, SpecOf(r.GetVnode()), &ExpireBefore{Time: r.GetTime()})
	case *messages.FlushRequest:
		m.forwardRunning(ctx, r.GetVnodeId(), r)
	case *messages.CompactRequest:
		m.forwardRunning(ctx, r.GetVnodeId(), r)
	case *messages.StatsRequest:
		m.forwardRunning(ctx, r.GetVnodeId(), r)
	default:
		m.replyErr(ctx, &messages.ErrorReply{Code: messages.ErrorCode_ERROR_CODE_UNSUPPORTED, Message: fmt.Sprintf("unexpected message %T", msg)})
	}
}

// ensure returns the vnode's actor, spawning it when it does not run; a broken vnode or an
// inconsistent spec gets an error reply instead.
func (m *manager) ensure(ctx actor.Context, spec Spec) (*actor.PID, *messages.ErrorReply) {
	if m.removingBucket(spec) {
		return nil, &messages.ErrorReply{Code: messages.ErrorCode_ERROR_CODE_UNAVAILABLE, Message: fmt.Sprintf("bucket %d of %s/%s is being removed", spec.BucketID, spec.Tenant, spec.DB)}
	}
	if why, ok := m.broken[spec.VnodeID]; ok {
		return nil, &messages.ErrorReply{Code: messages.ErrorCode_ERROR_CODE_CORRUPTION, Message: fmt.Sprintf("vnode %d stopped: %s", spec.VnodeID, why)}
	}
	if v, ok := m.vnodes[spec.VnodeID]; ok {
		if v.spec != spec {
			return nil, &messages.ErrorReply{Code: messages.ErrorCode_ERROR_CODE_BAD_REQUEST, Message: fmt.Sprintf("vnode %d: got spec %+v; running with %+v", spec.VnodeID, spec, v.spec)}
		}
		return v.pid, nil
	}
	if spec.Tenant == "" || spec.DB == "" || spec.VnodeID == 0 {
		return nil, &messages.ErrorReply{Code: messages.ErrorCode_ERROR_CODE_BAD_REQUEST, Message: fmt.Sprintf("incomplete vnode spec %+v", spec)}
	}
	dir := layout.VnodeDir(m.cfg.Root, spec.Tenant, spec.DB, spec.BucketID, spec.ReplicaSetID, spec.VnodeID)
	props := actor.PropsFromProducer(func() actor.Actor {
		return newVnodeActor(spec, dir, m.cfg.Engine, m.cfg.SettleAfter, m.cfg.Open, m.log)
	},
		actor.WithMailbox(actors.CountedMailbox(actor.UnboundedPriority())), actor.WithSupervisor(jobStrategy))
	pid, err := ctx.SpawnNamed(props, actors.VnodeName(spec.VnodeID))
	if err != nil {
		return nil, &messages.ErrorReply{Code: messages.ErrorCode_ERROR_CODE_INTERNAL, Message: fmt.Sprintf("spawning vnode %d: %v", spec.VnodeID, err)}
	}
	m.vnodes[spec.VnodeID] = &running{spec: spec, pid: pid}
	m.log.WithFields(logrus.Fields{"vnode_id": spec.VnodeID, "vnode_dir": dir}).Debug("vnode actor spawned")
	return pid, nil
}

// forward delivers msg to the vnode with the original sender.
func (m *manager) forward(ctx actor.Context, spec Spec, msg any) {
	pid, reply := m.ensure(ctx, spec)
	if reply != nil {
		m.replyErr(ctx, reply)
		return
	}
	ctx.RequestWithCustomSender(pid, msg, ctx.Sender())
}

// forwardRunning delivers msg to a vnode that runs on this node.
func (m *manager) forwardRunning(ctx actor.Context, id uint64, msg any) {
	v, ok := m.vnodes[id]
	if !ok {
		m.replyErr(ctx, &messages.ErrorReply{Code: messages.ErrorCode_ERROR_CODE_NOT_OWNER, Message: fmt.Sprintf("vnode %d does not run on this node", id)})
		return
	}
	ctx.RequestWithCustomSender(v.pid, msg, ctx.Sender())
}

// replyErr answers the sender; writes get a WriteAck so that coordinators need only one reply
// type per request.
func (m *manager) replyErr(ctx actor.Context, e *messages.ErrorReply) {
	actors.SendReply(ctx, ctx.Sender(), errorReplyFor(ctx.Message(), e), m.log)
}

// errorReplyFor is e in the reply type of request msg.
func errorReplyFor(msg any, e *messages.ErrorReply) proto.Message {
	var reply proto.Message = e
	switch r := msg.(type) {
	case *verified:
		return errorReplyFor(r.msg, e)
	case *messages.WriteBatch, *LocalWrite:
		reply = &messages.WriteAck{Code: e.GetCode(), Message: e.GetMessage()}
	case *messages.RenameRequest, *Rename:
		reply = &messages.RenameReply{Code: e.GetCode(), Message: e.GetMessage()}
	case *Forward:
		if _, ok := r.Msg.(*Rename); ok {
			reply = &messages.RenameReply{Code: e.GetCode(), Message: e.GetMessage()}
		}
	case *messages.Envelope:
		switch r.GetTypeName() {
		case string(proto.MessageName(&messages.WriteBatch{})):
			reply = &messages.WriteAck{Code: e.GetCode(), Message: e.GetMessage()}
		case string(proto.MessageName(&messages.RenameRequest{})):
			reply = &messages.RenameReply{Code: e.GetCode(), Message: e.GetMessage()}
		}
	}
	return reply
}

// terminated forgets a stopped vnode; one the manager did not stop itself is marked broken.
func (m *manager) terminated(t *actor.Terminated) {
	for id, v := range m.vnodes {
		if v.pid.Equal(t.Who) {
			delete(m.vnodes, id)
			if m.stopping {
				return
			}
			why := "stopped by its supervisor (corruption or too many restarts)"
			fields := logrus.Fields{"vnode_id": id, "dir": layout.VnodeDir(m.cfg.Root, v.spec.Tenant, v.spec.DB, v.spec.BucketID, v.spec.ReplicaSetID, v.spec.VnodeID)}
			if reason, ok := m.strategy.lastFailure(t.Who); ok {
				why = fmt.Sprintf("stopped by its supervisor: %v", reason)
				fields["reason"] = fmt.Sprint(reason)
				var ce *storage.CorruptionError
				if err, ok := reason.(error); ok && errors.As(err, &ce) {
					fields["file"], fields["offset"] = ce.Path, ce.Offset
				}
			}
			m.broken[id] = why
			m.log.WithFields(fields).Error("vnode actor stopped; marked broken (the other vnodes stay available)")
			return
		}
	}
}
