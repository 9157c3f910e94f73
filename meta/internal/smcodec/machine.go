package smcodec

import (
	"io"

	sm "github.com/lni/dragonboat/v4/statemachine"
)

// Machine is a pure, in-memory meta state machine. Apply must be deterministic: no clock, no
// randomness, no map iteration order leaking into the result; time arrives inside the command.
type Machine interface {
	// Apply decodes and applies one command and returns its result code and encoded result.
	// Bad commands are results (an error code), never errors: dragonboat treats an error as fatal.
	Apply(cmd []byte) (code uint64, data []byte)
	// Lookup answers a typed in-process query with a copy of the state it reads.
	Lookup(query any) (any, error)
	// Snapshot returns the framed snapshot of the whole state.
	Snapshot() ([]byte, error)
	// Restore replaces the state with the one framed in r.
	Restore(r io.Reader) error
}

// adapter exposes a Machine as dragonboat's IStateMachine. Dragonboat serialises Update,
// RecoverFromSnapshot and Close against Lookup and SaveSnapshot with its own RWMutex.
type adapter struct {
	m Machine
}

// NewStateMachine wraps m for NodeHost.StartReplica.
func NewStateMachine(m Machine) sm.IStateMachine {
	return &adapter{m: m}
}

// Update applies one committed entry. Determinism rule: no clock, no rand, no map order in
// Apply; `now` arrives in the command, so every replica computes the same state and result.
func (a *adapter) Update(e sm.Entry) (sm.Result, error) {
	code, data := a.m.Apply(e.Cmd)
	return sm.Result{Value: code, Data: data}, nil
}

// Lookup answers a query.
func (a *adapter) Lookup(q any) (any, error) {
	return a.m.Lookup(q)
}

// SaveSnapshot writes the framed snapshot of the whole state.
func (a *adapter) SaveSnapshot(w io.Writer, _ sm.ISnapshotFileCollection, _ <-chan struct{}) error {
	b, err := a.m.Snapshot()
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// RecoverFromSnapshot replaces the state with the snapshot's.
func (a *adapter) RecoverFromSnapshot(r io.Reader, _ []sm.SnapshotFile, _ <-chan struct{}) error {
	return a.m.Restore(r)
}

// Close releases nothing: the state is in memory.
func (a *adapter) Close() error { return nil }
