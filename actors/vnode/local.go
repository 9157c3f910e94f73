package vnode

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/chronogo/chronogo/messages"

	"github.com/chronogo/chronogo/storage"
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

// SpecOf is the spec a remote request names (a nil ref gives an empty spec, which the manager
// rejects as incomplete).
func SpecOf(r *messages.VnodeRef) Spec {
	return Spec{Tenant: r.GetTenant(), DB: r.GetDb(), BucketID: r.GetBucketId(), ReplicaSetID: r.GetReplicaSetId(), VnodeID: r.GetVnodeId()}
}

// VnodeRef is the wire form of a spec.
func (s Spec) VnodeRef() *messages.VnodeRef {
	return &messages.VnodeRef{VnodeId: s.VnodeID, Tenant: s.Tenant, Db: s.DB, BucketId: s.BucketID, ReplicaSetId: s.ReplicaSetID}
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
// with code OK on success (in an envelope when the sender is on another node: the manager turns
// a remote messages.DeleteRequest into a Delete forwarded with its sender).
type Delete struct {
	Table            string
	Filter           index.Expr
	Keys             [][]byte // when not nil: exactly these series (Filter unused)
	MinTime, MaxTime int64
	Version          uint64
}

// Settle asks a vnode to settle now, without waiting for a quiet spell: flush its memcache, roll
// its WAL and remove the flushed segments, compact fully and rewrite the files deletes left hidden
// points in (settle.go). The answer, once it is done, is a *messages.ErrorReply (code OK on
// success).
type Settle struct{}

// Checkpoint copies the vnode into Dir as it is now (engine.Vnode.Checkpoint); the answer is a
// *CheckpointReply.
type Checkpoint struct{ Dir string }

// CheckpointReply answers a Checkpoint.
type CheckpointReply struct {
	Files []engine.CheckpointFile
	Err   error
}

// DropTable removes a table's data and series (engine.Vnode.DropTable); answered like Delete.
type DropTable struct{ Table string }

// ExpireBefore hides every point older than Time (engine.Vnode.ExpireBefore); answered like Delete.
type ExpireBefore struct{ Time int64 }

// Rename renames the series of Table matching Filter by Update (engine.Vnode.Rename, MongoDB's
// update of the meta field); the answer is a *messages.RenameReply (in an envelope when the
// sender is remote: the manager turns a messages.RenameRequest into a Rename).
type Rename struct {
	Table   string
	Filter  index.Expr
	Update  *storage.TagUpdate
	Version uint64
}

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
