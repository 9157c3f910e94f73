package vnode

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/chronogo/chronogo/storage/engine"
	"github.com/chronogo/chronogo/storage/index"
)

// Local-only messages: they carry Go pointers or callbacks and never cross nodes, so they live
// here and not in messages/ (nothing registers them with protobuf).

// Spec identifies a vnode and where its data lives.
type Spec struct {
	Tenant, DB   string
	BucketID     uint64
	ReplicaSetID uint64
	VnodeID      uint64
}

// Ensure asks the manager for the PID of a vnode actor, spawning it if needed. The answer is an
// *actor.PID or a *messages.ErrorReply.
type Ensure struct{ Spec Spec }

// Forward asks the manager to deliver Msg to the vnode (spawning it if needed) with the original
// sender, so the vnode answers the requester directly.
type Forward struct {
	Spec Spec
	Msg  any
}

// ListVnodes asks the manager for its running vnodes; the answer is []Ref.
type ListVnodes struct{}

// Ref is a running vnode actor.
type Ref struct {
	Spec Spec
	PID  *actor.PID
}

// GetSnapshot asks a vnode for a read snapshot; the answer is an *engine.Snapshot (the caller
// must Release it) or a *messages.ErrorReply.
type GetSnapshot struct{}

// Delete hides points of a table (engine.Vnode.Delete); the answer is a *messages.ErrorReply
// with code OK on success.
type Delete struct {
	Table            string
	Filter           index.Expr
	MinTime, MaxTime int64
	Version          uint64
}

// DropTable removes a table's data and series (engine.Vnode.DropTable); answered like Delete.
type DropTable struct{ Table string }

// ExpireBefore hides every point older than Time (engine.Vnode.ExpireBefore); answered like Delete.
type ExpireBefore struct{ Time int64 }

// PanicForTest makes the vnode actor panic with Reason (tests of supervision only).
type PanicForTest struct{ Reason any }

// commitNow is the vnode's self-message that commits (fsyncs) the writes handled before it.
type commitNow struct{}

// flushDone is sent by a flush job actor to its vnode. eng is the engine that started the job: a
// restarted vnode actor receives the jobs of its previous incarnation and abandons them.
type flushDone struct {
	eng *engine.Vnode
	job *engine.FlushJob
	err error
}

// GetPriority puts job completions ahead of writes.
func (*flushDone) GetPriority() int8 { return priorityCompletion }

// compactionDone is sent by a compaction job actor to its vnode.
type compactionDone struct {
	eng *engine.Vnode
	job *engine.CompactionJob
	err error
}

// GetPriority puts job completions ahead of writes.
func (*compactionDone) GetPriority() int8 { return priorityCompletion }

// priorityCompletion is above messages.PriorityControl: a finished flush frees memory for writes.
const priorityCompletion int8 = 7
