package plainrpc

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/chronogo/chronogo/actors"
	"github.com/chronogo/chronogo/messages"
)

// ErrCall is a call the remote replica refused or could not serve (its code and message follow).
var ErrCall = errors.New("plain call failed")

// Call sends call to the plain actor at addr and waits for the answer, at most timeout and no
// longer than ctx. A reply with a code other than OK is an error wrapping ErrCall, and the reply.
func Call(ctx context.Context, root *actor.RootContext, addr string, call *messages.PlainCall, timeout time.Duration) (*messages.PlainCallReply, error) {
	if d, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(d))
	}
	if timeout <= 0 {
		return nil, context.DeadlineExceeded
	}
	env, err := messages.Wrap(call)
	if err != nil {
		return nil, err
	}
	res, err := actors.Await(ctx, root.RequestFuture(actor.NewPID(addr, actors.PlainName), env, timeout))
	if err != nil {
		return nil, fmt.Errorf("plain call to %s: %w", addr, err)
	}
	res, err = messages.Unwrap(res)
	if err != nil {
		return nil, fmt.Errorf("plain call to %s: %w", addr, err)
	}
	switch r := res.(type) {
	case *messages.PlainCallReply:
		if r.GetCode() != messages.ErrorCode_ERROR_CODE_OK {
			return r, fmt.Errorf("plain call to %s: %w: %s: %s", addr, ErrCall, r.GetCode(), r.GetMessage())
		}
		return r, nil
	case *messages.ErrorReply:
		return &messages.PlainCallReply{Code: r.GetCode(), Message: r.GetMessage()},
			fmt.Errorf("plain call to %s: %w: %s: %s", addr, ErrCall, r.GetCode(), r.GetMessage())
	}
	return nil, fmt.Errorf("plain call to %s: answer %T", addr, res)
}
