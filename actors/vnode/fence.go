package vnode

// The placement fence. A vnode that moved away (ctl move-vnode promoted its replacement) or whose
// bucket was dropped must take no more writes here: a coordinator whose placement is stale (it was
// down or cut off during the move's barriers) or a hint stored before the move would otherwise
// land in a replica that no longer counts, or respawn a swept one, and the write would be lost.
// So a write, delete or rename for a vnode the cached placement does not have on this node waits
// while the manager brings the cache up to a linearizable read (one read at a time, for all
// waiting requests), then runs if the fresh placement has the vnode here, or is refused with
// NOT_OWNER ("not placed"): the sender's placement is the stale one. When the placement cannot be
// read the request is refused UNAVAILABLE (retryable). A vnode that is placed here costs one
// cached lookup per request.

import (
	"context"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"

	"github.com/chronogo/chronogo/actors"
	"github.com/chronogo/chronogo/messages"
)

// NotPlaced is in the message of a NOT_OWNER refusal by the fence; hint queues re-route the
// hints refused so (actors/handoff).
const NotPlaced = actors.NotPlaced

const (
	fenceSyncTimeout = 10 * time.Second
	maxHeld          = 10_000 // requests waiting for a placement check; past it they are refused
)

// heldRequest is a request waiting for a placement check, with whom to answer.
type heldRequest struct {
	msg    any
	spec   Spec
	sender *actor.PID
}

// verified is a held request the fresh placement confirmed: it is handled without a new check.
type verified struct{ msg any }

// placementSynced ends a placement check.
type placementSynced struct{ err error }

// fencedSpec is the vnode a write, delete or rename is for (false for other messages).
func fencedSpec(msg any) (Spec, bool) {
	switch r := msg.(type) {
	case *messages.WriteBatch:
		return Spec{Tenant: r.GetTenant(), DB: r.GetDb(), BucketID: r.GetBucketId(), ReplicaSetID: r.GetReplicaSetId(), VnodeID: r.GetVnodeId()}, true
	case *LocalWrite:
		h := r.Header
		return Spec{Tenant: h.GetTenant(), DB: h.GetDb(), BucketID: h.GetBucketId(), ReplicaSetID: h.GetReplicaSetId(), VnodeID: h.GetVnodeId()}, true
	case *messages.DeleteRequest:
		return SpecOf(r.GetVnode()), true
	case *messages.RenameRequest:
		return SpecOf(r.GetVnode()), true
	case *Forward:
		switch r.Msg.(type) {
		case *Delete, *Rename:
			return r.Spec, true
		}
	}
	return Spec{}, false
}

// fenced reports whether msg waits for a placement check (it was held, or refused).
func (m *manager) fenced(ctx actor.Context, msg any) bool {
	if m.cfg.Placed == nil || m.cfg.SyncPlacement == nil {
		return false
	}
	spec, ok := fencedSpec(msg)
	if !ok || m.cfg.Placed(spec) {
		return false
	}
	if len(m.held) >= maxHeld {
		m.replyErr(ctx, &messages.ErrorReply{Code: messages.ErrorCode_ERROR_CODE_UNAVAILABLE,
			Message: fmt.Sprintf("vnode %d: too many requests wait for a placement check", spec.VnodeID)})
		return true
	}
	m.held = append(m.held, heldRequest{msg: msg, spec: spec, sender: ctx.Sender()})
	if !m.syncing {
		m.syncing = true
		self, root, sync := ctx.Self(), ctx.ActorSystem().Root, m.cfg.SyncPlacement
		go func() {
			c, cancel := context.WithTimeout(context.Background(), fenceSyncTimeout)
			defer cancel()
			root.Send(self, &placementSynced{err: sync(c)})
		}()
	}
	return true
}

// placementSynced runs or refuses the held requests against the fresh placement.
func (m *manager) placementSynced(ctx actor.Context, r *placementSynced) {
	held := m.held
	m.held, m.syncing = nil, false
	for _, h := range held {
		switch {
		case r.err != nil:
			m.refuseHeld(ctx, h, messages.ErrorCode_ERROR_CODE_UNAVAILABLE, fmt.Sprintf("vnode %d: cannot check the placement: %v", h.spec.VnodeID, r.err))
		case m.cfg.Placed(h.spec):
			ctx.RequestWithCustomSender(ctx.Self(), &verified{msg: h.msg}, h.sender)
		default:
			m.log.WithFields(logrus.Fields{"vnode_id": h.spec.VnodeID, "bucket_id": h.spec.BucketID, "db": h.spec.DB}).
				Warn("refusing a request for a vnode the placement does not have on this node (the sender's placement is stale)")
			m.refuseHeld(ctx, h, messages.ErrorCode_ERROR_CODE_NOT_OWNER, fmt.Sprintf("vnode %d of bucket %d is %s (moved or dropped)", h.spec.VnodeID, h.spec.BucketID, NotPlaced))
		}
	}
}

func (m *manager) refuseHeld(ctx actor.Context, h heldRequest, code messages.ErrorCode, msg string) {
	if h.sender == nil {
		return
	}
	actors.SendReply(ctx, h.sender, errorReplyFor(h.msg, &messages.ErrorReply{Code: code, Message: msg}), m.log)
}
