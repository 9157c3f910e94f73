package actors

import (
	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"
	"google.golang.org/protobuf/proto"

	"github.com/chronogo/chronogo/messages"
)

// SendReply sends m to a requester: as is when the requester is on this node, in a
// messages.Envelope otherwise (remote peers only ever deserialize envelopes). A nil to (a plain
// Send without sender) is ignored.
func SendReply(ctx actor.Context, to *actor.PID, m proto.Message, log logrus.FieldLogger) {
	if out, ok := replyFor(to, ctx.Self().Address, m, log); ok {
		ctx.Send(to, out)
	}
}

// ReplyFrom is SendReply from any goroutine of sys: for an answer computed after the actor went
// on with its mailbox.
func ReplyFrom(sys *actor.ActorSystem, to *actor.PID, m proto.Message, log logrus.FieldLogger) {
	if out, ok := replyFor(to, sys.Address(), m, log); ok {
		sys.Root.Send(to, out)
	}
}

// replyFor is what to send to to from a system at self: m itself, or m in an envelope.
func replyFor(to *actor.PID, self string, m proto.Message, log logrus.FieldLogger) (any, bool) {
	if to == nil {
		return nil, false
	}
	if to.Address == self {
		return m, true
	}
	env, err := messages.Wrap(m)
	if err != nil {
		log.WithError(err).Error("wrapping reply")
		return nil, false
	}
	return env, true
}
