package coordinator

// The write job actor: one per write, a child of the coordinator.
//
// Owns:       one write: its routes (bucket x replica set), the replicas' answers, their hints
//             and the reply.
// Messages:   Started (routes the batch and sends one WriteBatch per replica with a per-replica
//             deadline); resend (self, after a replica's write stall); the replicas' answers and
//             the hint manager's answers arrive as ReenterAfter continuations.
// Supervisor: the coordinator (Stop).
// Children:   none.
//
// A replica whose vnode stalls (OVERLOADED: memcaches waiting for a flush) is sent the write again
// every stallRetry while the write's deadline allows: backpressure, the client waits. A replica
// that fails with another retryable error, a timeout or a dead letter (or still stalls at the
// deadline) is hinted when
// Config.Handoff is set: its WriteBatch goes to the handoff manager (actors/handoff), which
// stores it durably and replays it when the replica's node is back. The failure still counts in
// fails; a stored hint counts in hinted, which only level Any accepts toward the level (Decide).
//
// The reply goes out as soon as every replica set reached the level; when one cannot, it goes out
// once every replica and every hint has answered or timed out, so the partial-write error is
// complete (and an Any write that only hints can reach is not failed early). The job stops when
// every replica and hint has answered.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"

	"github.com/chronogo/chronogo/actors"
	"github.com/chronogo/chronogo/actors/handoff"
	"github.com/chronogo/chronogo/actors/vnode"
	"github.com/chronogo/chronogo/messages"
	"github.com/chronogo/chronogo/storage"
)

// replicaSetState counts the answers of one route's replicas.
type replicaSetState struct {
	route               Route
	acks, fails, hinted int
	retryableFails      int
	errs                []string
	causes              []error
}

// replica is one replica's write: where it goes and what to hint if it fails.
type replica struct {
	vnodeID, nodeID uint64
	header          *messages.WriteBatch // the WriteBatch of this vnode (Batch set only when remote)
	batch           *storage.Batch
	// joining: the vnode is being filled by a move; its answer does not count for the level
	joining bool
}

// writeJob is described at the top of this file.
type writeJob struct {
	cfg     Config
	req     *writeRequest
	replyTo *actor.PID
	level   Level
	sets    []*replicaSetState
	waiting int // replicas that have not answered
	replied bool
	sent    bool // every request is out: answers may decide the write
	began   time.Time
	log     logrus.FieldLogger
}

func newWriteJob(cfg Config, req *writeRequest, replyTo *actor.PID) *writeJob {
	return &writeJob{cfg: cfg, req: req, replyTo: replyTo, began: time.Now(),
		log: cfg.Logger.WithFields(logrus.Fields{"tenant": req.tenant, "db": req.db, "collection": req.collection})}
}

// Receive implements actor.Actor.
func (j *writeJob) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		j.start(ctx)
	case *resend:
		j.send(ctx, m.st, m.rep)
	}
}

// resend asks the job to send a replica its write again (after a stall).
type resend struct {
	st  *replicaSetState
	rep *replica
}

// stallRetry is how long a replica whose vnode stalled (too much waiting for a flush) is given
// before the write is sent to it again. A stall is backpressure: the write waits (up to its
// deadline) instead of failing or being hinted, so clients slow down to what the disks absorb.
const stallRetry = 20 * time.Millisecond

// stalled reports whether err is a replica's write stall.
func stalled(err error) bool {
	var re *ReplyError
	return errors.As(err, &re) && re.Code == messages.ErrorCode_ERROR_CODE_OVERLOADED
}

// send sends one replica its write (again), with the per-replica deadline.
func (j *writeJob) send(ctx actor.Context, st *replicaSetState, rep *replica) {
	rctx, cancel := context.WithDeadline(context.Background(), j.req.deadline)
	defer cancel()
	target, payload, err := j.target(rctx, rep)
	if err != nil {
		j.answer(ctx, st, rep, nil, err)
		return
	}
	// ReplicaTimeout keeps a dead peer from holding the write; this node's own vnode is not
	// behind a network and gets the whole request time (a batch of 100 000 columns on a busy
	// machine can take seconds)
	timeout := time.Until(j.req.deadline)
	if rep.nodeID != j.cfg.NodeID {
		timeout = min(j.cfg.ReplicaTimeout, timeout)
	}
	f := ctx.RequestFuture(target, payload, timeout)
	ctx.ReenterAfter(f, func(res any, err error) { j.answer(ctx, st, rep, res, err) })
}

func (j *writeJob) start(ctx actor.Context) {
	rctx, cancel := context.WithDeadline(context.Background(), j.req.deadline)
	defer cancel()
	db, err := j.cfg.Placement.Database(rctx, j.req.tenant, j.req.db)
	if err != nil {
		j.fail(ctx, fmt.Errorf("write to %s: %w", j.req.collection, err))
		return
	}
	if j.level, err = levelOf(j.req.level, db.Consistency); err != nil {
		j.fail(ctx, fmt.Errorf("write to %s: %w", j.req.collection, err))
		return
	}
	if j.req.version != 0 {
		j.cfg.Clock.Observe(j.req.version)
		j.req.batch.Version = j.req.version
	} else {
		j.req.batch.Version = j.cfg.Clock.Now()
	}
	routes, err := Split(rctx, j.cfg.Placement, j.req.tenant, j.req.db, j.req.batch)
	if err != nil {
		j.fail(ctx, fmt.Errorf("write to %s: %w", j.req.collection, err))
		return
	}
	for _, r := range routes {
		st := &replicaSetState{route: r}
		j.sets = append(j.sets, st)
		msg := &messages.WriteBatch{Tenant: j.req.tenant, Db: j.req.db, BucketId: r.Bucket.ID, ReplicaSetId: r.ReplicaSet.ID,
			Version: r.Batch.Version, Consistency: j.level.Proto()}
		for _, v := range r.ReplicaSet.Vnodes {
			if v.NodeID != j.cfg.NodeID && msg.Batch == nil {
				msg.SetBatch(r.Batch) // encoded only when a replica is remote
			}
			j.waiting++
			rep := &replica{vnodeID: v.ID, nodeID: v.NodeID, header: replicaMsg(msg, v.ID), batch: r.Batch, joining: v.Joining}
			j.send(ctx, st, rep)
		}
	}
	j.sent = true
	j.maybeReply(ctx)
	j.maybeStop(ctx)
}

// replicaMsg is msg addressed to vnode vnodeID.
func replicaMsg(msg *messages.WriteBatch, vnodeID uint64) *messages.WriteBatch {
	return &messages.WriteBatch{VnodeId: vnodeID, Tenant: msg.Tenant, Db: msg.Db, BucketId: msg.BucketId, ReplicaSetId: msg.ReplicaSetId,
		Version: msg.Version, Batch: msg.Batch, Compressed: msg.Compressed, Consistency: msg.Consistency}
}

// target is the PID and message for one replica: the local manager with the batch itself, or
// the remote node's manager with the encoded message in an envelope.
func (j *writeJob) target(ctx context.Context, rep *replica) (*actor.PID, any, error) {
	if rep.nodeID == j.cfg.NodeID {
		return j.cfg.Manager, &vnode.LocalWrite{Header: rep.header, Batch: rep.batch}, nil
	}
	if j.cfg.down(rep.nodeID) {
		return nil, nil, fmt.Errorf("node %d: %w", rep.nodeID, ErrPeerDown)
	}
	node, err := j.cfg.Placement.Node(ctx, rep.nodeID)
	if err != nil {
		return nil, nil, err
	}
	if node.ActorAddr == "" {
		return nil, nil, fmt.Errorf("node %d has no actor address", rep.nodeID)
	}
	env, err := messages.Wrap(rep.header)
	if err != nil {
		return nil, nil, err
	}
	return actor.NewPID(node.ActorAddr, actors.ManagerName), env, nil
}

// answer records one replica's answer.
func (j *writeJob) answer(ctx actor.Context, st *replicaSetState, rep *replica, res any, err error) {
	if err == nil {
		err = ackError(res)
	}
	if stalled(err) && time.Until(j.req.deadline) > 2*stallRetry {
		// the replica is still waiting: send it again shortly
		sys, self := ctx.ActorSystem(), ctx.Self()
		time.AfterFunc(stallRetry, func() { sys.Root.Send(self, &resend{st: st, rep: rep}) })
		return
	}
	j.waiting--
	switch {
	case rep.joining:
		// a joining vnode gets every write but does not count: what it misses, the move's
		// verification finds and copies again
		if err != nil && retryable(err) {
			j.hint(ctx, st, rep)
		} else if err != nil {
			j.log.WithFields(logrus.Fields{"vnode_id": rep.vnodeID, "target_node": rep.nodeID}).WithError(err).Warn("joining replica refused a write")
		}
	case err == nil:
		st.acks++
	default:
		st.fails++
		if retryable(err) {
			st.retryableFails++
			j.hint(ctx, st, rep)
		}
		st.errs = append(st.errs, fmt.Sprintf("vnode %d on node %d: %v", rep.vnodeID, rep.nodeID, err))
		st.causes = append(st.causes, err)
		j.log.WithFields(logrus.Fields{"vnode_id": rep.vnodeID, "target_node": rep.nodeID}).WithError(err).Debug("replica write failed")
	}
	j.maybeReply(ctx)
	j.maybeStop(ctx)
}

// minHintTimeout is the least time a hint gets, even when the write's deadline has passed: the
// hint still spares the replica a repair.
const minHintTimeout = 100 * time.Millisecond

// hint stores a failed replica's write with the handoff manager; the job waits for the answer
// as for a replica's.
func (j *writeJob) hint(ctx actor.Context, st *replicaSetState, rep *replica) {
	if j.cfg.Handoff == nil {
		return
	}
	wb := rep.header
	if wb.Batch == nil { // a local replica: its batch was never encoded
		wb = replicaMsg(wb, rep.vnodeID)
		wb.SetBatch(rep.batch)
	}
	j.waiting++
	timeout := min(j.cfg.ReplicaTimeout, max(time.Until(j.req.deadline), minHintTimeout))
	f := ctx.RequestFuture(j.cfg.Handoff, &handoff.Hint{Target: rep.nodeID, Batch: wb}, timeout)
	ctx.ReenterAfter(f, func(res any, err error) {
		j.waiting--
		if err == nil {
			if r, ok := res.(*handoff.HintResult); ok {
				err = r.Err
			} else {
				err = fmt.Errorf("%w %T to a hint", errNoReply, res)
			}
		}
		log := j.log.WithFields(logrus.Fields{"vnode_id": rep.vnodeID, "target_node": rep.nodeID})
		if err != nil {
			log.WithError(err).Warn("hint not stored: the replica misses this write until repaired")
		} else if !rep.joining {
			st.hinted++
			log.Debug("hint stored")
		}
		j.maybeReply(ctx)
		j.maybeStop(ctx)
	})
}

// ackError is the error of a replica's reply (nil for a successful WriteAck).
func ackError(res any) error {
	res, err := messages.Unwrap(res)
	if err != nil {
		return err
	}
	switch r := res.(type) {
	case *messages.WriteAck:
		return replyError(r.GetCode(), r.GetMessage())
	case *messages.ErrorReply:
		if r.GetCode() == messages.ErrorCode_ERROR_CODE_OK {
			return fmt.Errorf("got an empty ErrorReply; want a WriteAck")
		}
		return replyError(r.GetCode(), r.GetMessage())
	}
	return fmt.Errorf("unexpected reply %T", res)
}

// retryable reports whether a replica failure is transient. A vnode that is not placed on its
// node any more (this coordinator's placement is stale: actors.NotPlaced) counts as one: the write
// is hinted, and the hint, refused the same way, is re-routed to the replica set's current vnodes
// (actors/handoff); the requester may retry once this node's placement caught up.
func retryable(err error) bool {
	var re *ReplyError
	if errors.As(err, &re) {
		if re.Code == messages.ErrorCode_ERROR_CODE_NOT_OWNER && strings.Contains(re.Message, actors.NotPlaced) {
			return true
		}
		return messages.Retryable(re.Code)
	}
	return errors.Is(err, actor.ErrTimeout) || errors.Is(err, actor.ErrDeadLetter) || errors.Is(err, ErrPeerDown)
}

// maybeReply answers the requester once every replica set is decided.
func (j *writeJob) maybeReply(ctx actor.Context) {
	if j.replied || !j.sent {
		return
	}
	var failed []ReplicaSetFailure
	for _, st := range j.sets {
		n := Members(st.route.ReplicaSet)
		switch Decide(j.level, n, st.acks, st.fails, st.hinted) {
		case Pending:
			return
		case Failed:
			failed = append(failed, ReplicaSetFailure{BucketID: st.route.Bucket.ID, ReplicaSetID: st.route.ReplicaSet.ID,
				Acks: st.acks, Need: j.level.Required(n), Hinted: st.hinted, Errors: st.errs, Retryable: st.retryableFails == st.fails, causes: st.causes})
		}
	}
	var err error
	if len(failed) > 0 {
		if j.waiting > 0 {
			return // report a failure with every replica's answer
		}
		err = &PartialWriteError{Collection: j.req.collection, Level: j.level, Failed: failed, Succeeded: len(j.sets) - len(failed)}
	}
	j.reply(ctx, err)
}

func (j *writeJob) fail(ctx actor.Context, err error) {
	j.reply(ctx, err)
	ctx.Stop(ctx.Self())
}

func (j *writeJob) reply(ctx actor.Context, err error) {
	j.replied = true
	rows := 0
	for i := range j.req.batch.Series {
		rows += len(j.req.batch.Series[i].Times)
	}
	j.cfg.stats.answered(j.level, rows, time.Since(j.began), err != nil)
	ctx.Send(j.replyTo, &writeResult{err: err})
}

func (j *writeJob) maybeStop(ctx actor.Context) {
	if j.sent && j.waiting == 0 {
		ctx.Stop(ctx.Self())
	}
}
