package vnode

import (
	"errors"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/chronogo/chronogo/storage"
)

// vnodeDecider is the manager's decision for a failed vnode actor: corruption stops it (restarting
// would fail the same way; its files wait for repair), anything else restarts it, which reopens
// the vnode from summary and WAL.
func vnodeDecider(reason any) actor.Directive {
	var ce *storage.CorruptionError
	if err, ok := reason.(error); ok && errors.As(err, &ce) {
		return actor.StopDirective
	}
	return actor.RestartDirective
}

// jobStrategy supervises flush and compaction children: they recover their own panics, so a
// failure here is a bug in the actor itself; stop it (the vnode sees no completion and keeps its
// job until it stops, which abandons the job).
var jobStrategy = actor.NewOneForOneStrategy(0, 0, func(any) actor.Directive { return actor.StopDirective })

// backoffStrategy is OneForOne with a restart limit and exponential restart backoff: a child that
// fails more than maxRestarts times within `within` is stopped; otherwise it restarts after
// initial, 2*initial, 4*initial, ... (at most maxBackoff). Its mailbox stays suspended meanwhile,
// so requests queue instead of failing.
type backoffStrategy struct {
	maxRestarts         int
	within              time.Duration
	initial, maxBackoff time.Duration
	decider             actor.DeciderFunc
	last                sync.Map // child PID id -> its last failure reason
}

// lastFailure is the reason of child's last failure, if it failed.
func (s *backoffStrategy) lastFailure(child *actor.PID) (any, bool) {
	return s.last.Load(child.Id)
}

// HandleFailure implements actor.SupervisorStrategy.
func (s *backoffStrategy) HandleFailure(sys *actor.ActorSystem, sup actor.Supervisor, child *actor.PID, rs *actor.RestartStatistics, reason any, _ any) {
	s.last.Store(child.Id, reason)
	directive := s.decider(reason)
	if err, ok := reason.(error); ok && storage.IsDiskFull(err) {
		// A full disk is not the vnode's fault: retry its open slowly, for as long as it lasts,
		// instead of marking it broken after a few restarts.
		sys.EventStream.Publish(&actor.SupervisorEvent{Child: child, Reason: reason, Directive: directive})
		time.AfterFunc(s.maxBackoff, func() { sup.RestartChildren(child) })
		return
	}
	if directive == actor.RestartDirective {
		rs.Fail()
		if n := rs.NumberOfFailures(s.within); n > s.maxRestarts {
			rs.Reset()
			directive = actor.StopDirective
		}
	}
	sys.EventStream.Publish(&actor.SupervisorEvent{Child: child, Reason: reason, Directive: directive})
	switch directive {
	case actor.RestartDirective:
		time.AfterFunc(s.backoff(rs.NumberOfFailures(s.within)), func() { sup.RestartChildren(child) })
	case actor.ResumeDirective:
		sup.ResumeChildren(child)
	case actor.EscalateDirective:
		sup.EscalateFailure(reason, nil)
	default:
		sup.StopChildren(child)
	}
}

// backoff is the delay before restart number n (n >= 1) within the window.
func (s *backoffStrategy) backoff(n int) time.Duration {
	d := s.initial
	for i := 1; i < n && d < s.maxBackoff; i++ {
		d *= 2
	}
	return min(d, s.maxBackoff)
}
