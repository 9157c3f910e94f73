package vnode

// The compaction job actor.
//
// Owns:       one *engine.CompactionJob while it runs (CompactionJob.Run merges files) and the
//             context it runs with; the vnode cancels that context when it stops or restarts.
// Messages:   Started only: it runs the job, sends *compactionDone to its parent and stops itself.
// Supervisor: its vnode actor (jobStrategy: Stop); a panic in Run is recovered and reported as
//             the job's error.
// Children:   none.

import (
	"context"
	"weak"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/chronogo/chronogo/actors"
	"github.com/chronogo/chronogo/storage/engine"
)

// compactActor is described at the top of this file.
type compactActor struct {
	eng *engine.Vnode
	job *engine.CompactionJob
	ctx context.Context
}

func compactProps(eng *engine.Vnode, job *engine.CompactionJob, ctx context.Context) *actor.Props {
	if jobSpawned != nil {
		jobSpawned(weak.Make(job))
	}
	a := &compactActor{eng: eng, job: job, ctx: ctx} // not the producer's closure: the props outlive the job
	return actor.PropsFromProducer(func() actor.Actor { return a }, actor.WithMailbox(actors.CountedMailbox(actor.Unbounded())))
}

// Receive implements actor.Actor.
func (c *compactActor) Receive(ctx actor.Context) {
	if _, ok := ctx.Message().(*actor.Started); !ok {
		return
	}
	if c.job == nil {
		return // never restarted (jobStrategy stops it): nothing to run twice
	}
	job, eng, jctx := c.job, c.eng, c.ctx // they leave the actor (see flushActor)
	c.job, c.eng, c.ctx = nil, nil, nil
	err := runRecovered(func() error { return job.Run(jctx) })
	ctx.Send(ctx.Parent(), &compactionDone{eng: eng, job: job, err: err})
	ctx.Stop(ctx.Self())
}
