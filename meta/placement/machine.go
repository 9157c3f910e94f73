package placement

import (
	sm "github.com/lni/dragonboat/v4/statemachine"

	"github.com/chronogo/chronogo/meta/internal/smcodec"
	"github.com/chronogo/chronogo/meta/model"
)

// shard is what the generic state machine needs of the placement.
var shard = &smcodec.Shard[State, Command, Result]{
	Kind:  smcodec.KindPlacement,
	New:   New,
	Apply: Apply,
	Invalid: func(s *State, err error) Result {
		return Result{Code: CodeInvalid, Message: err.Error(), Version: s.Version}
	},
	Code:   func(r Result) uint64 { return uint64(r.Code) },
	Lookup: (*State).Lookup,
	Restored: func(s *State) {
		if s.Nodes == nil {
			s.Nodes = []NodeRecord{}
		}
		if s.Buckets == nil {
			s.Buckets = map[string][]model.Bucket{}
		}
	},
}

// Machine is the placement state machine: State under the shared command and snapshot codecs. Build
// one with NewMachine (a literal lacks the shard functions).
type Machine = smcodec.Machine[State, Command, Result]

// NewMachine returns a placement machine over an empty placement.
func NewMachine() *Machine { return shard.NewMachine() }

// NewStateMachine is the dragonboat CreateStateMachineFunc of the placement shard.
func NewStateMachine(_, _ uint64) sm.IStateMachine { return NewMachine() }

// EncodeCommand frames a command for SyncPropose.
func EncodeCommand(c Command) ([]byte, error) { return smcodec.EncodeCommand(c) }

// DecodeResult decodes the Data of a dragonboat Result.
func DecodeResult(data []byte) (Result, error) { return smcodec.DecodeResult[Result](data) }
