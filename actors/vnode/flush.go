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
	"weak"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/chronogo/chronogo/actors"
	"github.com/chronogo/chronogo/storage/engine"
)

// flushActor is described at the top of this file.
type flushActor struct {
	eng *engine.Vnode
	job *engine.FlushJob
}

func flushProps(eng *engine.Vnode, job *engine.FlushJob) *actor.Props {
	if jobSpawned != nil {
		jobSpawned(weak.Make(job))
	}
	a := &flushActor{eng: eng, job: job} // not the producer's closure: the props outlive the job
	return actor.PropsFromProducer(func() actor.Actor { return a }, actor.WithMailbox(actors.CountedMailbox(actor.Unbounded())))
}

// Receive implements actor.Actor.
func (f *flushActor) Receive(ctx actor.Context) {
	if _, ok := ctx.Message().(*actor.Started); !ok {
		return
	}
	if f.job == nil {
		return // never restarted (jobStrategy stops it): nothing to run twice
	}
	eng := f.eng
	// The job leaves the actor with its result: a stopped actor can stay reachable through a PID
	// that caches its process, and the job holds memcaches and the file version it flushed.
	job := f.job
	f.job, f.eng = nil, nil
	err := runRecovered(job.Run)
	ctx.Send(ctx.Parent(), &flushDone{eng: eng, job: job, err: err})
	ctx.Stop(ctx.Self())
}

// jobSpawned, when a test sets it, is given a weak pointer to every flush and compaction job.
var jobSpawned func(any)

// runRecovered runs f and turns a panic into an error.
func runRecovered(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("BUG: job panicked: %v", r)
		}
	}()
	return f()
}
