package vnode

import (
	"sync"

	"github.com/chronogo/chronogo/storage/engine"
)

// Open lists the engines of the vnodes that are running on this node, so that a local read takes
// its snapshot straight from the engine (engine.Vnode.TrySnapshot is safe from any goroutine)
// instead of a request to the manager and the vnode actor: two mailbox hand-offs and a future per
// read, which on an idle machine cost more than a small query itself (each wakes an idle core).
// A vnode actor adds its engine once it is open and removes it before it closes it; a read that
// finds none, or a closed one, asks the actor as before (which also starts a vnode not running).
type Open struct {
	m sync.Map // Spec → *engine.Vnode
}

// NewOpen returns an empty list.
func NewOpen() *Open { return &Open{} }

// Snapshot is a read snapshot of the running vnode spec, or nil when it is not running here.
func (o *Open) Snapshot(spec Spec) *engine.Snapshot {
	if o == nil {
		return nil
	}
	e, ok := o.m.Load(spec)
	if !ok {
		return nil
	}
	snap, err := e.(*engine.Vnode).TrySnapshot()
	if err != nil {
		return nil
	}
	return snap
}

// Each calls fn with a read snapshot of every running vnode (released after fn returns).
func (o *Open) Each(fn func(spec Spec, snap *engine.Snapshot)) {
	if o == nil {
		return
	}
	o.m.Range(func(k, v any) bool {
		snap, err := v.(*engine.Vnode).TrySnapshot()
		if err != nil {
			return true // closing
		}
		defer snap.Release()
		fn(k.(Spec), snap)
		return true
	})
}

func (o *Open) add(spec Spec, eng *engine.Vnode) {
	if o != nil {
		o.m.Store(spec, eng)
	}
}

// remove forgets spec's engine if it is still eng (a newer incarnation's stays).
func (o *Open) remove(spec Spec, eng *engine.Vnode) {
	if o != nil {
		o.m.CompareAndDelete(spec, eng)
	}
}
