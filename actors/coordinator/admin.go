package coordinator

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/chronogo/chronogo/actors/vnode"
	"github.com/chronogo/chronogo/messages"
	"github.com/chronogo/chronogo/storage/index"
)

// Delete hides a table's points matching filter in [minT, maxT] on every replica of every bucket
// overlapping the range. The delete is versioned by the coordinator's clock, so it hides exactly
// the writes versioned before it.
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
// in parallel and joins the failures.
// TODO(remote-admin): replicas on other nodes need a wire form of these requests (index.Expr has
// none yet); until then they fail with ErrRemoteVnode.
func (c *Client) fanOut(ctx context.Context, tenant, db string, minT, maxT int64, msg any) error {
	buckets, err := c.cfg.Placement.BucketsIn(ctx, tenant, db, minT, maxT)
	if err != nil {
		return fmt.Errorf("%T on %s/%s: %w", msg, tenant, db, err)
	}
	timeout := time.Until(c.deadline(ctx))
	type pending struct {
		spec vnode.Spec
		f    *actor.Future
	}
	var (
		futures []pending
		errs    []error
	)
	for _, b := range buckets {
		for _, rs := range b.ReplicaSets {
			for _, v := range rs.Vnodes {
				spec := vnode.Spec{Tenant: b.Tenant, DB: b.DB, BucketID: b.ID, ReplicaSetID: rs.ID, VnodeID: v.ID}
				if v.NodeID != c.cfg.NodeID {
					errs = append(errs, fmt.Errorf("vnode %d on node %d: %w", v.ID, v.NodeID, ErrRemoteVnode))
					continue
				}
				futures = append(futures, pending{spec, c.root.RequestFuture(c.cfg.Manager, &vnode.Forward{Spec: spec, Msg: msg}, timeout)})
			}
		}
	}
	for _, p := range futures {
		res, err := p.f.Result()
		if err == nil {
			err = errNoReply
			if r, ok := res.(*messages.ErrorReply); ok {
				err = replyError(r.GetCode(), r.GetMessage())
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("vnode %d: %w", p.spec.VnodeID, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%T on %s/%s: %w", msg, tenant, db, err)
	}
	return nil
}
