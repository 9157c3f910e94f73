package smcodec

import (
	"encoding/json"
	"fmt"
)

// CommandVersion is the first byte of every proposed command; bump it when the command body changes
// incompatibly, and keep decoding the old version for as long as old entries can sit in a Raft log.
const CommandVersion byte = 1

// EncodeCommand frames a command: the version byte followed by the command as JSON. encoding/json
// writes struct fields in declaration order and map keys sorted, so the bytes are deterministic.
func EncodeCommand(cmd any) ([]byte, error) {
	body, err := json.Marshal(cmd)
	if err != nil {
		return nil, fmt.Errorf("encoding command: %w", err)
	}
	return append([]byte{CommandVersion}, body...), nil
}

// DecodeCommand checks the version byte and decodes the JSON body into cmd.
func DecodeCommand(b []byte, cmd any) error {
	if len(b) == 0 {
		return fmt.Errorf("decoding command: empty")
	}
	if b[0] != CommandVersion {
		return fmt.Errorf("decoding command: version %d; want %d", b[0], CommandVersion)
	}
	if err := json.Unmarshal(b[1:], cmd); err != nil {
		return fmt.Errorf("decoding command: %w", err)
	}
	return nil
}
