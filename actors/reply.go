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
	if to == nil {
		return
	}
	if to.Address == ctx.Self().Address {
		ctx.Send(to, m)
		return
	}
	env, err := messages.Wrap(m)
	if err != nil {
		log.WithError(err).Error("wrapping reply")
		return
	}
	ctx.Send(to, env)
}
