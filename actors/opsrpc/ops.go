package opsrpc

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"

	"github.com/chronogo/chronogo/actors"
	"github.com/chronogo/chronogo/messages"
)

// Provider is the node's MongoDB listener, which knows the commands running on it.
type Provider interface {
	// CurrentOps returns the currentOp entries of tenant's running commands (every tenant's
	// with all).
	CurrentOps(tenant string, all bool) [][]byte
	// KillOp interrupts command id of tenant (of any tenant with all); false when there is none.
	KillOp(id int64, tenant string, all bool) bool
}

// Slot holds the provider, set once the listener runs (nil before: requests are answered
// UNAVAILABLE).
type Slot struct{ p atomic.Pointer[Provider] }

// Set installs p.
func (s *Slot) Set(p Provider) { s.p.Store(&p) }

// Props returns the props of the ops actor; spawn it as actors.OpsName.
func Props(slot *Slot, log logrus.FieldLogger) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor { return &server{slot: slot, log: log} })
}

type server struct {
	slot *Slot
	log  logrus.FieldLogger
}

// Receive answers OpsRequests at once (listing and cancelling take no I/O).
func (s *server) Receive(ctx actor.Context) {
	var req *messages.OpsRequest
	switch m := ctx.Message().(type) {
	case *messages.Envelope:
		inner, err := m.Open()
		if err != nil {
			actors.SendReply(ctx, ctx.Sender(), messages.ErrorFor(err), s.log)
			return
		}
		r, ok := inner.(*messages.OpsRequest)
		if !ok {
			actors.SendReply(ctx, ctx.Sender(), &messages.ErrorReply{Code: messages.ErrorCode_ERROR_CODE_UNSUPPORTED,
				Message: fmt.Sprintf("the ops actor serves OpsRequest, not %T", inner)}, s.log)
			return
		}
		req = r
	case *messages.OpsRequest:
		req = m
	default:
		return
	}
	actors.SendReply(ctx, ctx.Sender(), Serve(s.slot, req), s.log)
}

// Serve answers one request from the slot's provider.
func Serve(slot *Slot, req *messages.OpsRequest) *messages.OpsReply {
	p := slot.p.Load()
	if p == nil {
		return &messages.OpsReply{Code: messages.ErrorCode_ERROR_CODE_UNAVAILABLE, Message: "the node does not serve MongoDB clients yet"}
	}
	if req.GetKillOp() != 0 {
		return &messages.OpsReply{Killed: (*p).KillOp(req.GetKillOp(), req.GetTenant(), req.GetAll())}
	}
	return &messages.OpsReply{Ops: (*p).CurrentOps(req.GetTenant(), req.GetAll())}
}

// Ask sends req to the ops actor at addr and waits for the answer, at most timeout and no longer
// than ctx.
func Ask(ctx context.Context, root *actor.RootContext, addr string, req *messages.OpsRequest, timeout time.Duration) (*messages.OpsReply, error) {
	if d, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(d))
	}
	if timeout <= 0 {
		return nil, context.DeadlineExceeded
	}
	env, err := messages.Wrap(req)
	if err != nil {
		return nil, err
	}
	res, err := actors.Await(ctx, root.RequestFuture(actor.NewPID(addr, actors.OpsName), env, timeout))
	if err != nil {
		return nil, fmt.Errorf("ops of %s: %w", addr, err)
	}
	res, err = messages.Unwrap(res)
	if err != nil {
		return nil, fmt.Errorf("ops of %s: %w", addr, err)
	}
	switch r := res.(type) {
	case *messages.OpsReply:
		if r.GetCode() != messages.ErrorCode_ERROR_CODE_OK {
			return nil, fmt.Errorf("ops of %s: %s: %s", addr, r.GetCode(), r.GetMessage())
		}
		return r, nil
	case *messages.ErrorReply:
		return nil, fmt.Errorf("ops of %s: %s: %s", addr, r.GetCode(), r.GetMessage())
	}
	return nil, fmt.Errorf("ops of %s: answer %T", addr, res)
}
