package vnode

// The vnode actor.
//
// Owns:       one *engine.Vnode (opened in Started, closed in Stopped or Restarting), the list of
//             handled but not yet committed writes, and at most one flush and one compaction job.
// Messages:   lifecycle (Started, Stopping, Stopped, Restarting, Terminated of a job); requests *messages.WriteBatch,
//             *messages.FlushRequest, *messages.CompactRequest, *messages.StatsRequest (plain from
//             local senders, in a *messages.Envelope from remote ones), *GetSnapshot, *Delete,
//             *DropTable, *ExpireBefore, *PanicForTest; completions *commitNow (self),
//             *flushDone, *compactionDone (from its job children).
// Supervisor: the manager (manager.go): Restart with backoff, max 5 per minute; Stop on
//             *storage.CorruptionError.
// Children:   flush-<n> (flush.go) and compact-<n> (compact.go), one of each at a time; their
//             supervisor is this actor's props (jobStrategy: Stop — jobs recover their own panics
//             and report them as errors).
//
// Group commit: each WriteBatch is written (engine.Write: WAL append + memcache) as it arrives; the
// first one after a commit sends commitNow to self. Writes already queued are handled before it,
// so one engine.Commit (one fsync) covers all of them, then every sender gets its WriteAck.
//
// Summary writer: the engine appends version edits to the summary inside FinishFlush,
// FinishCompaction, Delete and ExpireBefore. Only this actor calls them, so it is the summary's
// single writer; no separate summary actor is needed.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"
	"google.golang.org/protobuf/proto"

	"github.com/chronogo/chronogo/actors"
	"github.com/chronogo/chronogo/messages"
	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/engine"
	"github.com/chronogo/chronogo/storage/summary"
)

// maxGroup bounds the writes one commit covers, so acks are not held back forever under load.
const maxGroup = 512

// pendingWrite is a written, not yet committed batch and who to acknowledge.
type pendingWrite struct {
	sender *actor.PID
	seq    uint64
}

// vnodeActor is described at the top of this file.
type vnodeActor struct {
	spec Spec
	dir  string
	opts engine.Options
	log  logrus.FieldLogger
	open *Open // where readers find the engine while it is open

	eng          *engine.Vnode
	pending      []pendingWrite
	commitQueued bool
	writes       uint64
	commits      uint64

	flushJob      *engine.FlushJob
	flushBegan    time.Time // of flushJob (metrics)
	flushWaiters  []*actor.PID
	flushAgain    bool     // a forced flush was asked for while one was running
	afterFlush    []func() // requests that must not run during a flush (DropTable)
	compactJob    *engine.CompactionJob
	compactBegan  time.Time // of compactJob (metrics)
	compactFull   bool
	compactCancel context.CancelFunc
	compactWait   []*actor.PID

	// settling (settle.go)
	settleAfter       time.Duration
	settleTimer       *time.Timer
	lastWrite         time.Time
	settled, settling bool
	settleWaiters     []*actor.PID // Settle requests answered when settling ends
}

func newVnodeActor(spec Spec, dir string, opts engine.Options, settleAfter time.Duration, open *Open, log logrus.FieldLogger) *vnodeActor {
	return &vnodeActor{spec: spec, dir: dir, opts: opts, settleAfter: settleAfter, open: open,
		log: log.WithFields(logrus.Fields{"vnode_id": spec.VnodeID, "bucket_id": spec.BucketID})}
}

// Receive implements actor.Actor.
func (v *vnodeActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		v.start(ctx)
	case *actor.Stopping:
		v.stopping(ctx)
	case *actor.Stopped:
		v.stopped()
	case *actor.Restarting:
		v.restarting(ctx)
	case *actor.Terminated:
		// a job child ended; its completion message says how
	default:
		v.handle(ctx, m)
	}
}

// handle dispatches requests and completions (also the payloads of envelopes).
func (v *vnodeActor) handle(ctx actor.Context, msg any) {
	switch m := msg.(type) {
	case *messages.Envelope:
		inner, err := m.Open()
		if err != nil {
			v.reply(ctx, ctx.Sender(), messages.ErrorFor(err))
			return
		}
		v.handle(ctx, inner)
	case *messages.WriteBatch:
		v.write(ctx, m)
	case *LocalWrite:
		v.writeBatch(ctx, m.Batch)
	case *messages.FlushRequest:
		v.flushRequest(ctx, m)
	case *messages.CompactRequest:
		v.compactRequest(ctx, m)
	case *messages.StatsRequest:
		v.reply(ctx, ctx.Sender(), v.stats())
	case *GetSnapshot:
		ctx.Respond(v.eng.Snapshot())
	case *Delete:
		v.settled = false // the next settling rewrites the files it hides points in
		if m.Keys != nil {
			v.reply(ctx, ctx.Sender(), errorReply(v.eng.DeleteKeys(m.Table, m.Keys, m.MinTime, m.MaxTime, m.Version)))
			return
		}
		v.reply(ctx, ctx.Sender(), errorReply(v.eng.Delete(m.Table, m.Filter, m.MinTime, m.MaxTime, m.Version)))
	case *DropTable:
		sender := ctx.Sender()
		v.whenNotFlushing(func() { v.reply(ctx, sender, errorReply(v.eng.DropTable(m.Table))) })
	case *ExpireBefore:
		v.settled = false
		v.reply(ctx, ctx.Sender(), errorReply(v.eng.ExpireBefore(m.Time)))
	case *Rename:
		v.settled = false
		v.reply(ctx, ctx.Sender(), v.rename(m))
	case *PanicForTest:
		panic(m.Reason)
	case *commitNow:
		v.commit(ctx)
	case *flushDone:
		v.flushDone(ctx, m)
	case *compactionDone:
		v.compactionDone(ctx, m)
	case *settleTick:
		v.settleCheck(ctx)
	case *Settle:
		v.settleNow(ctx)
	case *Checkpoint:
		files, err := v.eng.Checkpoint(m.Dir)
		ctx.Respond(&CheckpointReply{Files: files, Err: err})
	default:
		v.log.WithField("message_type", fmt.Sprintf("%T", msg)).Warn("vnode got an unexpected message")
		if ctx.Sender() != nil {
			v.reply(ctx, ctx.Sender(), &messages.ErrorReply{Code: messages.ErrorCode_ERROR_CODE_UNSUPPORTED, Message: fmt.Sprintf("unexpected message %T", msg)})
		}
	}
}

// rename runs a series rename with the vnode's writes (it writes copies and tombstones).
func (v *vnodeActor) rename(m *Rename) *messages.RenameReply {
	res, err := v.eng.Rename(m.Table, m.Filter, m.Update.Apply, m.Version)
	if err != nil {
		msg := err.Error()
		if pe := (*storage.PathConflictError)(nil); errors.As(err, &pe) {
			msg = pe.Error() // MongoDB's message, as the client must see it
		}
		return &messages.RenameReply{Code: codeOf(err), Message: msg}
	}
	return &messages.RenameReply{Series: int64(res.Series), Renamed: int64(res.Renamed), Rows: res.Rows, RenamedRows: res.RenamedRows}
}

// start opens the engine; a failure panics so that the manager's decider sees the error.
func (v *vnodeActor) start(ctx actor.Context) {
	eng, err := engine.Open(v.dir, v.opts)
	if err != nil {
		panic(fmt.Errorf("opening vnode %d: %w", v.spec.VnodeID, err))
	}
	v.eng = eng
	v.open.add(v.spec, eng)
	v.lastWrite = time.Now()
	v.armSettle(ctx)
	if v.eng.NeedsFlush() {
		v.startFlush(ctx, false)
	}
}

// reply sends m to a requester, in an envelope when the requester is on another node.
func (v *vnodeActor) reply(ctx actor.Context, to *actor.PID, m proto.Message) {
	actors.SendReply(ctx, to, m, v.log)
}

// write handles one WriteBatch; the ack waits for the next commit.
func (v *vnodeActor) write(ctx actor.Context, m *messages.WriteBatch) {
	b, err := m.DecodeBatch()
	if err != nil {
		v.reply(ctx, ctx.Sender(), &messages.WriteAck{Code: messages.ErrorCode_ERROR_CODE_BAD_REQUEST, Message: err.Error()})
		return
	}
	v.writeBatch(ctx, b)
}

// writeBatch writes a decoded batch; the ack waits for the next commit.
func (v *vnodeActor) writeBatch(ctx actor.Context, b *storage.Batch) {
	v.lastWrite, v.settled = time.Now(), false
	seq, err := v.eng.Write(b)
	if err != nil {
		v.reply(ctx, ctx.Sender(), &messages.WriteAck{Code: codeOf(err), Message: err.Error()})
		if errors.Is(err, engine.ErrWriteStall) && v.flushJob == nil && v.eng.NeedsFlush() {
			v.startFlush(ctx, false) // a flush that failed (full disk) is retried by the writes it stalls
		}
		if errors.Is(err, engine.ErrClosed) {
			// the engine refuses writes after an apply failure: reopen it from the WAL
			panic(fmt.Errorf("vnode %d: %w", v.spec.VnodeID, err))
		}
		return
	}
	v.writes++
	v.pending = append(v.pending, pendingWrite{sender: ctx.Sender(), seq: seq})
	switch {
	case len(v.pending) >= maxGroup:
		v.commit(ctx)
	case !v.commitQueued:
		v.commitQueued = true
		ctx.Send(ctx.Self(), &commitNow{})
	}
	if v.flushJob == nil && v.eng.NeedsFlush() {
		v.startFlush(ctx, false)
	}
}

// commit makes every pending write durable with one engine.Commit and acknowledges them.
func (v *vnodeActor) commit(ctx actor.Context) {
	v.commitQueued = false
	if len(v.pending) == 0 {
		return
	}
	err := v.eng.Commit(v.pending[len(v.pending)-1].seq)
	v.commits++
	code := messages.ErrorCode_ERROR_CODE_UNAVAILABLE
	if storage.IsDiskFull(err) {
		code = messages.ErrorCode_ERROR_CODE_DISK_FULL
	}
	for _, p := range v.pending {
		ack := &messages.WriteAck{Seq: p.seq}
		if err != nil {
			ack = &messages.WriteAck{Code: code, Message: err.Error()}
		}
		v.reply(ctx, p.sender, ack)
	}
	v.pending = v.pending[:0]
	if err == nil && v.flushJob == nil && v.eng.NeedsFlush() {
		v.startFlush(ctx, false) // the commit put the writes in the cache, which may now be full
	}
	if storage.IsDiskFull(err) {
		// The WAL cut off what it could not write and the engine dropped those writes: the vnode
		// stays up for reads, and writes succeed again once there is space.
		v.log.WithError(err).Warn("disk full: writes refused until there is space")
		return
	}
	if err != nil {
		// a failed fsync leaves the WAL in an unknown state: reopen it
		panic(fmt.Errorf("vnode %d: commit: %w", v.spec.VnodeID, err))
	}
}

// failPending answers every uncommitted write with err.
func (v *vnodeActor) failPending(ctx actor.Context, err error) {
	for _, p := range v.pending {
		v.reply(ctx, p.sender, &messages.WriteAck{Code: codeOf(err), Message: err.Error()})
	}
	v.pending = nil
}

// stats describes the vnode.
func (v *vnodeActor) stats() *messages.VnodeStats {
	s := v.eng.Stats()
	out := &messages.VnodeStats{VnodeId: v.spec.VnodeID, Tenant: v.spec.Tenant, Db: v.spec.DB, BucketId: v.spec.BucketID,
		ReplicaSetId: v.spec.ReplicaSetID, Seq: s.Seq, FlushedSeq: s.FlushedSeq, Files: uint32(len(s.Files)),
		DiskBytes: s.DiskBytes, CacheBytes: s.CacheBytes, ImmutableCaches: uint32(s.ImmutableCaches), Series: uint64(s.Series),
		Tombstones: uint32(s.Tombstones), ExpiredBefore: s.ExpiredBefore, Writes: v.writes, Commits: v.commits,
		CompactionDue: v.eng.CompactionDue(), FilesPerLevel: make([]uint32, summary.MaxLevel+1)}
	for _, f := range s.Files {
		if int(f.Level) < len(out.FilesPerLevel) {
			out.FilesPerLevel[f.Level]++
		}
	}
	var jobs []string
	var began time.Time
	if v.flushJob != nil {
		jobs, began = append(jobs, "flush"), v.flushBegan
	}
	if v.compactJob != nil {
		jobs = append(jobs, "compaction")
		if began.IsZero() || v.compactBegan.Before(began) {
			began = v.compactBegan
		}
		done, total := v.compactJob.Progress()
		out.CompactionDone, out.CompactionTotal = uint64(done), uint64(total)
	}
	if len(jobs) > 0 {
		out.Job, out.JobSeconds = strings.Join(jobs, ", "), time.Since(began).Seconds()
	}
	return out
}

// stopping commits what was written and cancels a running compaction; the engine is closed in
// Stopped, once the job children have terminated.
func (v *vnodeActor) stopping(ctx actor.Context) {
	v.stopSettle()
	if v.eng == nil {
		return
	}
	if v.compactCancel != nil {
		v.compactCancel()
	}
	if len(v.pending) > 0 {
		err := v.eng.Commit(v.pending[len(v.pending)-1].seq)
		if err != nil {
			v.failPending(ctx, err)
		} else {
			for _, p := range v.pending {
				v.reply(ctx, p.sender, &messages.WriteAck{Seq: p.seq})
			}
			v.pending = nil
		}
	}
	for _, w := range append(v.flushWaiters, v.compactWait...) {
		v.reply(ctx, w, errorReply(errStopping))
	}
	v.flushWaiters, v.compactWait = nil, nil
}

// stopped abandons jobs whose results never arrived and closes the engine.
func (v *vnodeActor) stopped() {
	if v.eng == nil {
		return
	}
	if v.flushJob != nil {
		_ = v.eng.FinishFlush(v.flushJob, errStopping)
		v.flushJob = nil
	}
	if v.compactJob != nil {
		_ = v.eng.FinishCompaction(v.compactJob, errStopping)
		v.compactJob = nil
	}
	v.open.remove(v.spec, v.eng)
	if err := v.eng.Close(); err != nil {
		v.log.WithError(err).Error("closing vnode")
	}
	v.eng = nil
}

// restarting runs on the failed incarnation: it answers the writers it still owes, and closes the
// engine so that the next incarnation can open it (it holds the directory lock). Running jobs
// finish against the closed engine; their completions reach the next incarnation, which abandons
// them (see flushDone).
func (v *vnodeActor) restarting(ctx actor.Context) {
	v.stopSettle()
	v.failPending(ctx, errRestarting)
	for _, w := range append(v.flushWaiters, v.compactWait...) {
		v.reply(ctx, w, errorReply(errRestarting))
	}
	if v.compactCancel != nil {
		v.compactCancel()
	}
	if v.eng != nil {
		v.open.remove(v.spec, v.eng)
		if err := v.eng.Close(); err != nil {
			v.log.WithError(err).Error("closing vnode before restart")
		}
		v.eng = nil
	}
}
