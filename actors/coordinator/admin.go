package coordinator

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"
	"google.golang.org/protobuf/proto"

	"github.com/chronogo/chronogo/actors"
	"github.com/chronogo/chronogo/actors/handoff"
	"github.com/chronogo/chronogo/actors/vnode"
	"github.com/chronogo/chronogo/messages"
	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/storage/index"
)

// Delete hides a table's points matching filter in [minT, maxT] on every replica of every bucket
// overlapping the range. The delete is versioned by the coordinator's clock, so it hides exactly
// the writes versioned before it. It follows the write path's rules: each replica set must reach
// the consistency level (the caller's WithLevel or the database's), else a *PartialWriteError;
// a remote replica that does not answer in time (down, busy) gets it as a hint, replayed in
// order with the writes hinted to it, so the replica converges when it is back.
func (c *Client) Delete(ctx context.Context, tenant, db, table string, filter index.Expr, minT, maxT int64) error {
	version := c.cfg.Clock.Now()
	return c.fanOut(ctx, tenant, db, minT, maxT, &vnode.Delete{Table: table, Filter: filter, MinTime: minT, MaxTime: maxT, Version: version})
}

// DropTable removes a table's data and series from every vnode of the database.
func (c *Client) DropTable(ctx context.Context, tenant, db, table string) error {
	return c.fanOut(ctx, tenant, db, math.MinInt64, math.MaxInt64, &vnode.DropTable{Table: table})
}

// ExpireBefore hides every point older than t in the database's buckets that start before t
// (whole expired buckets are dropped by meta, not here).
func (c *Client) ExpireBefore(ctx context.Context, tenant, db string, t int64) error {
	return c.fanOut(ctx, tenant, db, math.MinInt64, t-1, &vnode.ExpireBefore{Time: t})
}

// fanOut sends msg to every replica of every replica set of the buckets overlapping [minT, maxT]
// in parallel: to this node's manager as is, to other nodes' managers as the wire request in an
// envelope. For a versioned request (a delete or a rename), each replica set must reach the
// consistency level (the caller's WithLevel or the database's), and a remote replica that does not
// answer in time is hinted; otherwise every replica must answer OK. The failures, each naming its
// vnode and node, are joined (a *PartialWriteError for a versioned request).
func (c *Client) fanOut(ctx context.Context, tenant, db string, minT, maxT int64, msg any) error {
	return c.fanOutCollect(ctx, tenant, db, minT, maxT, msg, func(_ meta.ReplicaSet, _ meta.Vnode, res any) error { return adminReplyError(res) })
}

// adminReplica is one replica's request of a fan-out.
type adminReplica struct {
	v    meta.Vnode
	set  *replicaSetState
	f    *actor.Future // nil when it was not sent: its node is down
	wire proto.Message // what a remote replica was sent (nil for the local one)
}

// fanOutCollect is fanOut with the replies handed to collect (one call per replica, in no
// particular order, on the caller's goroutine); collect's error is the replica's failure.
func (c *Client) fanOutCollect(ctx context.Context, tenant, db string, minT, maxT int64, msg any, collect func(rs meta.ReplicaSet, v meta.Vnode, res any) error) error {
	defer c.ops.begin()()
	name := adminName(msg)
	buckets, err := c.cfg.Placement.BucketsIn(ctx, tenant, db, minT, maxT)
	if err != nil {
		return fmt.Errorf("%s on %s/%s: %w", name, tenant, db, err)
	}
	timeout := time.Until(c.deadline(ctx))
	var (
		versioned bool
		level     = All
		filter    []byte
		expr      index.Expr
		table     string
	)
	switch d := msg.(type) {
	case *vnode.Delete:
		versioned, expr, table = true, d.Filter, d.Table
	case *vnode.Rename:
		versioned, expr, table = true, d.Filter, d.Table
	}
	if versioned {
		timeout = min(timeout, actors.MaxVersionedTime) // its version must not arrive too late
	}
	remoteTimeout := timeout
	if versioned {
		// a late replay of a versioned request orders right: it follows the level, and a replica
		// that does not answer within ReplicaTimeout gets it as a hint
		dbInfo, err := c.cfg.Placement.Database(ctx, tenant, db)
		if err != nil {
			return fmt.Errorf("%s on %s/%s: %w", name, tenant, db, err)
		}
		if level, err = levelOf(askedLevel(ctx), dbInfo.Consistency); err != nil {
			return fmt.Errorf("%s on %s/%s: %w", name, tenant, db, err)
		}
		remoteTimeout = min(timeout, c.cfg.ReplicaTimeout)
	}
	if expr != nil {
		if filter, err = index.AppendExpr(nil, expr); err != nil {
			return fmt.Errorf("%s on %s/%s: %w", name, tenant, db, err)
		}
	}
	var (
		sets    []*replicaSetState
		pending []adminReplica
	)
	for _, b := range buckets {
		for _, rs := range b.ReplicaSets {
			st := &replicaSetState{route: Route{Bucket: b, ReplicaSet: rs}}
			sets = append(sets, st)
			for _, v := range rs.Vnodes {
				spec := vnode.Spec{Tenant: b.Tenant, DB: b.DB, BucketID: b.ID, ReplicaSetID: rs.ID, VnodeID: v.ID}
				if v.NodeID == c.cfg.NodeID {
					pending = append(pending, adminReplica{v, st, c.root.RequestFuture(c.cfg.Manager, &vnode.Forward{Spec: spec, Msg: msg}, timeout), nil})
					continue
				}
				pid, env, wire, err := c.remoteAdmin(ctx, v.NodeID, spec, msg, filter)
				if err != nil {
					st.failed(v, err, false)
					continue
				}
				if c.cfg.down(v.NodeID) {
					pending = append(pending, adminReplica{v, st, nil, wire}) // hinted at once
					continue
				}
				pending = append(pending, adminReplica{v, st, c.root.RequestFuture(pid, env, remoteTimeout), wire})
			}
		}
	}
	for _, p := range pending {
		var res any
		err := fmt.Errorf("node %d: %w", p.v.NodeID, ErrPeerDown)
		if p.f != nil {
			res, err = p.f.Result()
		}
		if err == nil {
			err = collect(p.set.route.ReplicaSet, p.v, res)
		}
		if err == nil && !p.v.Joining {
			p.set.acks++
		}
		if err == nil {
			continue
		}
		hinted := false
		if versioned && c.cfg.Handoff != nil && p.wire != nil && retryable(err) {
			// the replica is down or busy: it gets the delete or rename from its hint queue, in
			// order with the writes hinted to it, when it is back
			if herr := c.hint(p.v.NodeID, p.wire, timeout); herr == nil {
				c.cfg.Logger.WithFields(logrus.Fields{"vnode_id": p.v.ID, "target_node": p.v.NodeID}).WithError(err).Debug(name + " hinted")
				hinted = true
			} else {
				err = fmt.Errorf("%w (and its hint: %v)", err, herr)
			}
		}
		if p.v.Joining {
			// not counted: the move's verification finds what a joining vnode missed
			c.cfg.Logger.WithFields(logrus.Fields{"vnode_id": p.v.ID, "target_node": p.v.NodeID, "hinted": hinted}).WithError(err).Warn(name + " failed on a joining replica")
			continue
		}
		p.set.failed(p.v, err, hinted)
	}
	if versioned {
		return levelError(name, table, level, sets)
	}
	var errs []error
	for _, st := range sets {
		errs = append(errs, st.causes...)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%s on %s/%s: %w", name, tenant, db, err)
	}
	return nil
}

// failed records one replica's failure in its replica set's tally.
func (st *replicaSetState) failed(v meta.Vnode, err error, hinted bool) {
	st.fails++
	if hinted {
		st.hinted++
	}
	if retryable(err) {
		st.retryableFails++
	}
	err = fmt.Errorf("vnode %d on node %d: %w", v.ID, v.NodeID, err)
	st.errs = append(st.errs, err.Error())
	st.causes = append(st.causes, err)
}

// levelError is the *PartialWriteError of the replica sets that missed level once every replica
// answered, or nil. A hinted replica counts toward the level only at Any, as for writes.
func levelError(op, table string, level Level, sets []*replicaSetState) error {
	var failed []ReplicaSetFailure
	for _, st := range sets {
		n := Members(st.route.ReplicaSet)
		if Decide(level, n, st.acks, st.fails, st.hinted) == Met {
			continue
		}
		failed = append(failed, ReplicaSetFailure{BucketID: st.route.Bucket.ID, ReplicaSetID: st.route.ReplicaSet.ID,
			Acks: st.acks, Need: level.Required(n), Hinted: st.hinted, Errors: st.errs,
			Retryable: st.retryableFails == st.fails, causes: st.causes})
	}
	if len(failed) == 0 {
		return nil
	}
	return &PartialWriteError{Op: op, Collection: table, Level: level, Failed: failed, Succeeded: len(sets) - len(failed)}
}

// hint stores a request a replica on node target missed in this node's hint queue for it.
func (c *Client) hint(target uint64, wire proto.Message, timeout time.Duration) error {
	res, err := c.root.RequestFuture(c.cfg.Handoff, &handoff.Hint{Target: target, Request: wire}, max(timeout, minHintTimeout)).Result()
	if err != nil {
		return err
	}
	r, ok := res.(*handoff.HintResult)
	if !ok {
		return fmt.Errorf("%w %T to a hint", errNoReply, res)
	}
	return r.Err
}

// remoteAdmin is the manager of node nodeID and the wire form of msg for vnode spec, in an
// envelope and as is.
func (c *Client) remoteAdmin(ctx context.Context, nodeID uint64, spec vnode.Spec, msg any, filter []byte) (*actor.PID, *messages.Envelope, proto.Message, error) {
	node, err := c.cfg.Placement.Node(ctx, nodeID)
	if err != nil {
		return nil, nil, nil, err
	}
	if node.ActorAddr == "" {
		return nil, nil, nil, fmt.Errorf("node %d has no actor address", nodeID)
	}
	var m proto.Message
	switch r := msg.(type) {
	case *vnode.Delete:
		m = &messages.DeleteRequest{Vnode: spec.VnodeRef(), Table: r.Table, Filter: filter, MinTime: r.MinTime, MaxTime: r.MaxTime, Version: r.Version}
	case *vnode.DropTable:
		m = &messages.DropTableRequest{Vnode: spec.VnodeRef(), Table: r.Table}
	case *vnode.ExpireBefore:
		m = &messages.ExpireRequest{Vnode: spec.VnodeRef(), Time: r.Time}
	case *vnode.Rename:
		m = &messages.RenameRequest{Vnode: spec.VnodeRef(), Table: r.Table, Filter: filter, Update: r.Update.Marshal(nil), Version: r.Version}
	default:
		return nil, nil, nil, fmt.Errorf("no wire form for %T", msg)
	}
	env, err := messages.Wrap(m)
	if err != nil {
		return nil, nil, nil, err
	}
	return actor.NewPID(node.ActorAddr, actors.ManagerName), env, m, nil
}

// adminReplyError is the error of a replica's answer to an administrative request: an
// ErrorReply, in an envelope from remote replicas.
func adminReplyError(res any) error {
	res, err := messages.Unwrap(res)
	if err != nil {
		return err
	}
	r, ok := res.(*messages.ErrorReply)
	if !ok {
		return fmt.Errorf("%w %T", errNoReply, res)
	}
	return replyError(r.GetCode(), r.GetMessage())
}

// adminName names an administrative request in errors.
func adminName(msg any) string {
	switch msg.(type) {
	case *vnode.Delete:
		return "delete"
	case *vnode.DropTable:
		return "drop table"
	case *vnode.ExpireBefore:
		return "expire"
	case *vnode.Rename:
		return "update"
	}
	return fmt.Sprintf("%T", msg)
}
