package vnode

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"
)

// Settling: a vnode that has taken no write for SettleAfter (Config; default 1 minute) is put
// in its most compact form without anyone asking, once per quiet spell: its memcache is flushed,
// its WAL rolled and the flushed segments removed, and its files compacted fully (one file per
// time window, then the files that deletes, expiry or renames left hidden points in are rewritten).
// A write during the work only means the next quiet spell settles again; a delete, an expiry or a
// rename makes a settled vnode settle again at its next check, without waiting for a quiet spell.

// settleTick asks the actor to check whether it is time to settle.
type settleTick struct{}

// armSettle schedules the next settleTick (no goroutine waits meanwhile).
func (v *vnodeActor) armSettle(ctx actor.Context) {
	if v.settleAfter <= 0 {
		return
	}
	sys, self := ctx.ActorSystem(), ctx.Self()
	v.settleTimer = time.AfterFunc(v.settleAfter/2, func() { sys.Root.Send(self, &settleTick{}) })
}

func (v *vnodeActor) stopSettle() {
	if v.settleTimer != nil {
		v.settleTimer.Stop()
		v.settleTimer = nil
	}
}

// settleCheck starts settling when the vnode has been quiet long enough and is not settled.
func (v *vnodeActor) settleCheck(ctx actor.Context) {
	defer v.armSettle(ctx)
	if v.settled || v.settling || time.Since(v.lastWrite) < v.settleAfter || v.flushJob != nil || v.compactJob != nil {
		return
	}
	v.settling = true
	v.log.Debug("vnode is quiet: settling (flush, WAL reclaim, full compaction)")
	if !v.startFlush(ctx, true) {
		v.settleAfterFlush(ctx) // nothing in memory
	}
}

// settleNow starts settling at once for a Settle request (or joins the settling under way); the
// requester is answered when it ends. A running flush or compaction is finished first: settling
// starts from the flush's completion (flushDone) or the compaction's (compactionDone).
func (v *vnodeActor) settleNow(ctx actor.Context) {
	v.settleWaiters = append(v.settleWaiters, ctx.Sender())
	if v.settling {
		return
	}
	v.settling = true
	v.log.Debug("settling on request")
	switch {
	case v.flushJob != nil:
		v.flushAgain = true // flushDone flushes the rest, then goes on settling
	case v.startFlush(ctx, true):
	default:
		// nothing in memory: reclaim the WAL and compact (a compaction under way goes on fully
		// while settling, and compactionDone ends it)
		v.settleAfterFlush(ctx)
	}
}

// settleFailed ends a settling that failed: the next quiet spell (or request) tries again.
func (v *vnodeActor) settleFailed(ctx actor.Context, err error) {
	v.settling = false
	for _, w := range v.settleWaiters {
		v.reply(ctx, w, errorReply(err))
	}
	v.settleWaiters = nil
}

// settleAfterFlush continues settling once memory is flushed: reclaim the WAL, then compact.
func (v *vnodeActor) settleAfterFlush(ctx actor.Context) {
	if err := v.eng.ReclaimWAL(); err != nil {
		v.log.WithError(err).Warn("settling: reclaiming wal segments failed")
	}
	if !v.maybeCompact(ctx, true) {
		v.settleDone(ctx)
	}
}

// settleDone ends settling; the vnode stays settled until its next write.
func (v *vnodeActor) settleDone(ctx actor.Context) {
	v.settling = false
	v.settled = true
	v.log.WithFields(logrus.Fields{"files": len(v.eng.Stats().Files)}).Debug("vnode settled")
	for _, w := range v.settleWaiters {
		v.reply(ctx, w, errorReply(nil))
	}
	v.settleWaiters = nil
}
