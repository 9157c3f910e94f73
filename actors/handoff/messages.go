package handoff

import (
	"google.golang.org/protobuf/proto"

	"github.com/chronogo/chronogo/messages"
)

// Hint asks the handoff manager to store a write that the replica on node Target missed; it is
// answered with *HintResult once the hint is on disk (fsynced) or refused. Local only: Batch must
// carry the encoded batch and the vnode id, and must not be modified after it is sent.
type Hint struct {
	Target uint64
	Batch  *messages.WriteBatch
	// Request, instead of Batch, hints a delete or a rename the replica missed
	// (*messages.DeleteRequest, *messages.RenameRequest): replayed in order with the writes hinted
	// around it, versioned like them.
	Request proto.Message
}

// HintResult answers a Hint: Err is nil when the hint is durable, ErrFull (wrapped) when the
// target's queue is full, another error when the queue cannot be written.
type HintResult struct {
	Err error
}

// syncHints is sent by a target actor to itself after appending hints: every Hint already in its
// mailbox is appended before it arrives, so one fsync covers them all (group commit).
type syncHints struct{}

// replayNext is sent by a target actor to itself (directly, or by the backoff timer) to start the
// next replay round.
type replayNext struct{}
