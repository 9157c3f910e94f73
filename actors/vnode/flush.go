package vnode

// The flush job actor.
//
// Owns:       one *engine.FlushJob while it runs (FlushJob.Run writes the TSM files).
// Messages:   Started only: it runs the job, sends *flushDone to its parent and stops itself.
// Supervisor: its vnode actor (jobStrategy: Stop); a panic in Run is recovered and reported as
//             the job's error, so the vnode always learns that the flush ended.
// Children:   none.

import (
	"fmt"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/chronogo/chronogo/storage/engine"
)

// flushActor is described at the top of this file.
type flushActor struct {
	eng *engine.Vnode
	job *engine.FlushJob
}

func flushProps(eng *engine.Vnode, job *engine.FlushJob) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor { return &flushActor{eng: eng, job: job} })
}

// Receive implements actor.Actor.
func (f *flushActor) Receive(ctx actor.Context) {
	if _, ok := ctx.Message().(*actor.Started); !ok {
		return
	}
	err := runRecovered(f.job.Run)
	ctx.Send(ctx.Parent(), &flushDone{eng: f.eng, job: f.job, err: err})
	ctx.Stop(ctx.Self())
}

// runRecovered runs f and turns a panic into an error.
func runRecovered(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("BUG: job panicked: %v", r)
		}
	}()
	return f()
}
