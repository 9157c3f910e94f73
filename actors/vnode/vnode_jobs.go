package vnode

import (
	"context"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"

	"github.com/chronogo/chronogo/messages"
)

// Flush and compaction bookkeeping of the vnode actor: starting job children, committing their
// results (FinishFlush/FinishCompaction append to the summary) and answering waiting requesters.

// startFlush spawns a flush child for the due immutable caches (all of memory when force).
func (v *vnodeActor) startFlush(ctx actor.Context, force bool) bool {
	job := v.eng.StartFlush(force)
	if job == nil {
		return false
	}
	v.flushJob, v.flushBegan = job, time.Now()
	ctx.SpawnPrefix(flushProps(v.eng, job), "flush-")
	return true
}

// flushRequest answers when everything in memory at the time of the request is in TSM files.
func (v *vnodeActor) flushRequest(ctx actor.Context, m *messages.FlushRequest) {
	if v.flushJob != nil {
		v.flushWaiters = append(v.flushWaiters, ctx.Sender())
		v.flushAgain = v.flushAgain || m.GetForce()
		return
	}
	if v.startFlush(ctx, m.GetForce()) {
		v.flushWaiters = append(v.flushWaiters, ctx.Sender())
		return
	}
	v.reply(ctx, ctx.Sender(), errorReply(nil))
}

// flushDone commits a finished flush, then runs what waited for it and starts the next one.
func (v *vnodeActor) flushDone(ctx actor.Context, m *flushDone) {
	if m.eng != v.eng {
		// a job of the previous incarnation: its engine is closed; this only releases its files
		_ = m.eng.FinishFlush(m.job, errRestarting)
		return
	}
	v.flushJob = nil
	err := v.eng.FinishFlush(m.job, m.err)
	observeFlush(v.flushBegan, m.job.OutputBytes(), err)
	if err != nil {
		v.settleFailed(ctx, err) // the next quiet spell tries again
		v.log.WithError(err).Error("flush failed")
		for _, w := range v.flushWaiters {
			v.reply(ctx, w, errorReply(err))
		}
		v.flushWaiters, v.flushAgain = nil, false
	}
	for len(v.afterFlush) > 0 {
		f := v.afterFlush[0]
		v.afterFlush = v.afterFlush[1:]
		f()
	}
	force := v.flushAgain
	v.flushAgain = false
	if err == nil && v.startFlush(ctx, force) {
		return // waiters are answered when memory is empty
	}
	for _, w := range v.flushWaiters {
		v.reply(ctx, w, errorReply(nil))
	}
	v.flushWaiters = nil
	if err == nil && v.settling {
		v.settleAfterFlush(ctx)
	} else if err == nil {
		v.maybeCompact(ctx, false)
	}
}

// whenNotFlushing runs f now, or after the running flush is committed.
func (v *vnodeActor) whenNotFlushing(f func()) {
	if v.flushJob != nil {
		v.afterFlush = append(v.afterFlush, f)
		return
	}
	f()
}

// maybeCompact starts a due compaction unless one is running; it reports whether one runs now.
func (v *vnodeActor) maybeCompact(ctx actor.Context, full bool) bool {
	if v.compactJob != nil {
		return true
	}
	job := v.eng.StartCompaction(full)
	if job == nil {
		return false
	}
	cctx, cancel := context.WithCancel(context.Background())
	v.compactJob, v.compactCancel = job, cancel
	v.compactBegan, v.compactFull = time.Now(), full
	v.log.WithFields(logrus.Fields{"inputs": len(job.Plan().Inputs), "output_level": job.Plan().OutputLevel}).Debug("compaction started")
	ctx.SpawnPrefix(compactProps(v.eng, job, cctx), "compact-")
	return true
}

// compactRequest answers when no due compaction is left.
func (v *vnodeActor) compactRequest(ctx actor.Context, m *messages.CompactRequest) {
	if v.maybeCompact(ctx, m.GetFull()) {
		v.compactWait = append(v.compactWait, ctx.Sender())
		return
	}
	v.reply(ctx, ctx.Sender(), errorReply(nil))
}

// compactionDone commits a finished compaction and starts the next due one.
func (v *vnodeActor) compactionDone(ctx actor.Context, m *compactionDone) {
	if m.eng != v.eng {
		_ = m.eng.FinishCompaction(m.job, errRestarting)
		return
	}
	v.compactJob = nil
	v.compactCancel()
	v.compactCancel = nil
	err := v.eng.FinishCompaction(m.job, m.err)
	observeCompaction(v.compactBegan, v.compactFull, m.job.InputBytes(), m.job.OutputBytes(), err)
	if err != nil {
		v.settleFailed(ctx, err)
		v.log.WithError(err).Error("compaction failed")
		for _, w := range v.compactWait {
			v.reply(ctx, w, errorReply(err))
		}
		v.compactWait = nil
		return
	}
	if v.maybeCompact(ctx, len(v.compactWait) > 0 || v.settling) {
		return
	}
	if v.settling {
		v.settleDone(ctx)
	}
	for _, w := range v.compactWait {
		v.reply(ctx, w, errorReply(nil))
	}
	v.compactWait = nil
}
