package locks

import (
	"encoding/json"
	"io"

	sm "github.com/lni/dragonboat/v4/statemachine"

	"github.com/chronogo/chronogo/meta/internal/smcodec"
)

// Machine adapts State to smcodec.Machine: it decodes commands and encodes results and snapshots.
type Machine struct {
	State *State
}

// NewStateMachine is the dragonboat CreateStateMachineFunc of the locks shard.
func NewStateMachine(_, _ uint64) sm.IStateMachine {
	return smcodec.NewStateMachine(&Machine{State: New()})
}

// EncodeCommand frames a command for SyncPropose.
func EncodeCommand(c Command) ([]byte, error) { return smcodec.EncodeCommand(c) }

// DecodeResult decodes the Data of a dragonboat Result.
func DecodeResult(data []byte) (Result, error) {
	var r Result
	err := json.Unmarshal(data, &r)
	return r, err
}

// Apply decodes and applies one command.
func (m *Machine) Apply(cmd []byte) (uint64, []byte) {
	var c Command
	r := invalid("")
	if err := smcodec.DecodeCommand(cmd, &c); err != nil {
		r = invalid("%v", err)
		r.Version = m.State.Version
	} else {
		r = Apply(m.State, c)
	}
	data, err := json.Marshal(r)
	if err != nil {
		// BUG: Result holds only plain data
		panic("BUG: encoding locks result: " + err.Error())
	}
	return uint64(r.Code), data
}

// Lookup answers a query.
func (m *Machine) Lookup(q any) (any, error) { return m.State.Lookup(q) }

// Snapshot frames the whole state.
func (m *Machine) Snapshot() ([]byte, error) {
	return smcodec.EncodeSnapshot(smcodec.KindLocks, m.State)
}

// Restore replaces the state with a framed snapshot.
func (m *Machine) Restore(r io.Reader) error {
	s := New()
	if err := smcodec.DecodeSnapshot(r, smcodec.KindLocks, s); err != nil {
		return err
	}
	if s.Leases == nil {
		s.Leases = map[string]Lease{}
	}
	m.State = s
	return nil
}
