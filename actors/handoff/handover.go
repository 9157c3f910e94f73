package handoff

// Handing a queue over. An operator can empty the hint queue of a node that will not come back
// soon (the console's action, POST /api/v1/hints/handover) without losing a hint: each one is
// hinted again for the other vnodes of its replica set (the current placement's, members and
// joining ones, except those on the queue's node), each fsynced in its node's queue before the
// old one is acknowledged; the node itself gets the data back later from anti-entropy repair.
// A hint whose replica set has no vnode on another node (a single replica) stays, and so do the
// hints behind it: the hand-over stops there and says how many remain, and replay goes on.

import (
	"context"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"
	"google.golang.org/protobuf/proto"

	"github.com/chronogo/chronogo/meta"
)

// HandOver asks the handoff manager to hand the queue of node Node over; the answer is a
// *HandOverResult once the queue is empty or the hand-over stopped.
type HandOver struct{ Node uint64 }

// HandOverResult answers HandOver.
type HandOverResult struct {
	HandedOver int   // hints hinted again for the other replicas
	Remaining  int   // hints left in the queue
	Err        error // why it stopped early
}

// handover is a hand-over in progress in a target actor.
type handover struct {
	to *actor.PID
	n  int
}

// handOver starts a hand-over of this target's queue.
func (t *target) handOver(ctx actor.Context) {
	switch {
	case t.q == nil:
		ctx.Respond(&HandOverResult{Err: fmt.Errorf("the hint queue of node %d is not open: %v", t.node, t.broken)})
		return
	case t.handover != nil:
		ctx.Respond(&HandOverResult{Remaining: t.q.Len(), Err: fmt.Errorf("the hint queue of node %d is being handed over already", t.node)})
		return
	case t.q.Len() == 0:
		ctx.Respond(&HandOverResult{})
		return
	}
	t.handover = &handover{to: ctx.Sender()}
	if t.timer != nil { // a backoff waits: hand over now
		t.timer.Stop()
		t.timer = nil
	}
	t.kick(ctx)
}

// handOverRound hints every entry of r again for the other replicas, off the actor.
func (t *target) handOverRound(ctx actor.Context, r *round) {
	t.round, r.left, r.handover = r, 0, true
	for i := range r.entries {
		if !r.done[i] {
			r.left++
		}
	}
	self, root, manager, cfg, node := ctx.Self(), ctx.ActorSystem().Root, ctx.Parent(), t.cfg, t.node
	for i := range r.entries {
		if r.done[i] {
			continue
		}
		m := r.entries[i].Message()
		go func() {
			c, cancel := context.WithTimeout(context.Background(), 4*cfg.ReplayTimeout)
			defer cancel()
			err := handOverHint(c, cfg, root, manager, m, node)
			root.Send(self, &rerouted{r: r, i: i, err: err, handedOver: err == nil})
		}()
	}
}

// handOverHint hints m again for the vnodes of its replica set on nodes other than node.
func handOverHint(ctx context.Context, cfg Config, root *actor.RootContext, manager *actor.PID, m proto.Message, node uint64) error {
	rs, _, ok, err := currentReplicaSet(ctx, cfg, m)
	if err != nil || !ok {
		return err // !ok: the replica set is gone, nothing to write to
	}
	var others []meta.Vnode
	for _, v := range rs.Vnodes {
		if v.NodeID != node {
			others = append(others, v)
		}
	}
	if len(others) == 0 {
		return fmt.Errorf("replica set %d has no replica on another node to take the hint", rs.ID)
	}
	_, err = rehint(ctx, cfg, root, manager, m, others)
	return err
}

// endHandOver answers the hand-over in progress.
func (t *target) endHandOver(ctx actor.Context, err error) {
	if t.handover == nil {
		return
	}
	res := &HandOverResult{HandedOver: t.handover.n, Err: err}
	if t.q != nil {
		res.Remaining = t.q.Len()
	}
	if t.handover.to != nil {
		ctx.Send(t.handover.to, res)
	}
	t.log.WithFields(logrus.Fields{"handed_over": res.HandedOver, "remaining": res.Remaining}).WithError(err).Warn("hint queue handed over to the other replicas")
	t.handover = nil
}

// HandOver hands the queue of node over to the other replicas (see the top of this file) and
// waits for it, at most timeout.
func (h *Handoff) HandOver(node uint64, timeout time.Duration) (HandOverResult, error) {
	res, err := h.root.RequestFuture(h.pid, &HandOver{Node: node}, timeout).Result()
	if err != nil {
		return HandOverResult{}, fmt.Errorf("handing over the hints of node %d: %w", node, err)
	}
	r, ok := res.(*HandOverResult)
	if !ok {
		return HandOverResult{}, fmt.Errorf("handing over the hints of node %d: unexpected answer %T", node, res)
	}
	return *r, nil
}
