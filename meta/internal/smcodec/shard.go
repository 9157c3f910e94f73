package smcodec

import (
	"encoding/json"
	"fmt"
)

// Shard describes one meta shard to the generic Machine: its state S, command C and result R, and
// the few functions that are really its own. Every function must be deterministic (no clock, no
// randomness, no map order); time arrives inside the command.
type Shard[S, C, R any] struct {
	// Kind tags the shard's snapshots so one is never restored into another.
	Kind Kind
	// New returns an empty state.
	New func() *S
	// Apply applies one decoded command and returns its result, version included.
	Apply func(s *S, c C) R
	// Invalid builds the result of a command that does not decode: the shard's invalid code, err as
	// the message, and the current version of s.
	Invalid func(s *S, err error) R
	// Code returns a result's code, which becomes dragonboat's Result.Value.
	Code func(r R) uint64
	// Lookup answers a typed in-process query with a copy of the state it reads.
	Lookup func(s *S, query any) (any, error)
	// Restored, when set, repairs a state just decoded from a snapshot (JSON null leaves nil maps).
	Restored func(s *S)
}

// NewMachine returns a machine of this shard over an empty state.
func (sh *Shard[S, C, R]) NewMachine() *Machine[S, C, R] {
	return &Machine[S, C, R]{State: sh.New(), shard: sh}
}

// DecodeResult decodes the Data of a dragonboat Result into a shard's result type.
func DecodeResult[R any](data []byte) (R, error) {
	var r R
	if err := json.Unmarshal(data, &r); err != nil {
		return r, fmt.Errorf("decoding result: %w", err)
	}
	return r, nil
}
