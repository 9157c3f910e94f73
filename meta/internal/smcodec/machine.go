package smcodec

import (
	"encoding/json"
	"fmt"
	"io"

	sm "github.com/lni/dragonboat/v4/statemachine"
)

// Machine is a shard's pure in-memory state under the command and snapshot codecs, and at the same
// time dragonboat's IStateMachine for it. Dragonboat serialises Update, RecoverFromSnapshot and
// Close against Lookup and SaveSnapshot with its own RWMutex. Build one with Shard.NewMachine.
type Machine[S, C, R any] struct {
	// State is the whole state; tests read it directly.
	State *S
	shard *Shard[S, C, R]
	// applied is the index of the last entry Update applied (0 until one is, after a start or a
	// snapshot restore: a snapshot does not tell its index here).
	applied uint64
}

// AppliedQuery asks a Machine (through Lookup) for the index of the last entry it applied.
type AppliedQuery struct{}

var _ sm.IStateMachine = (*Machine[struct{}, struct{}, struct{}])(nil)

// Apply decodes and applies one command and returns its result code and encoded result. A bad
// command is a result (the shard's invalid code), never an error: dragonboat treats an error as
// fatal.
func (m *Machine[S, C, R]) Apply(cmd []byte) (code uint64, data []byte) {
	var c C
	var r R
	if err := DecodeCommand(cmd, &c); err != nil {
		r = m.shard.Invalid(m.State, err)
	} else {
		r = m.shard.Apply(m.State, c)
	}
	data, err := json.Marshal(r)
	if err != nil {
		// BUG: results hold only plain data
		panic(fmt.Sprintf("BUG: encoding %s result: %v", m.shard.Kind, err))
	}
	return m.shard.Code(r), data
}

// Snapshot returns the framed snapshot of the whole state.
func (m *Machine[S, C, R]) Snapshot() ([]byte, error) {
	return EncodeSnapshot(m.shard.Kind, m.State)
}

// Restore replaces the state with the one framed in r; on error the state is unchanged.
func (m *Machine[S, C, R]) Restore(r io.Reader) error {
	s := m.shard.New()
	if err := DecodeSnapshot(r, m.shard.Kind, s); err != nil {
		return err
	}
	if m.shard.Restored != nil {
		m.shard.Restored(s)
	}
	m.State = s
	return nil
}

// Update applies one committed entry. Determinism rule: no clock, no rand, no map order in
// Apply; `now` arrives in the command, so every replica computes the same state and result.
func (m *Machine[S, C, R]) Update(e sm.Entry) (sm.Result, error) {
	m.applied = e.Index // Lookup is serialised against Update (see Machine)
	code, data := m.Apply(e.Cmd)
	return sm.Result{Value: code, Data: data}, nil
}

// Lookup answers a query.
func (m *Machine[S, C, R]) Lookup(q any) (any, error) {
	if _, ok := q.(AppliedQuery); ok {
		return m.applied, nil
	}
	return m.shard.Lookup(m.State, q)
}

// SaveSnapshot writes the framed snapshot of the whole state.
func (m *Machine[S, C, R]) SaveSnapshot(w io.Writer, _ sm.ISnapshotFileCollection, _ <-chan struct{}) error {
	b, err := m.Snapshot()
	if err != nil {
		return err
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("writing %s snapshot: %w", m.shard.Kind, err)
	}
	return nil
}

// RecoverFromSnapshot replaces the state with the snapshot's.
func (m *Machine[S, C, R]) RecoverFromSnapshot(r io.Reader, _ []sm.SnapshotFile, _ <-chan struct{}) error {
	return m.Restore(r)
}

// Close releases nothing: the state is in memory.
func (m *Machine[S, C, R]) Close() error { return nil }
