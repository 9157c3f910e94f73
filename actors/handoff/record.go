package handoff

import (
	"encoding/binary"
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/chronogo/chronogo/messages"
)

// Record payload layout (FORMAT.md): version <1b> | enqueued_ns <int64 LE> | write_batch <rest>.
const (
	// HintVersion is the only hint payload version written and accepted.
	HintVersion = 1
	// hintHeaderSize is version(1) + enqueued_ns(8).
	hintHeaderSize = 9
	// ackPayloadSize is segment(8) + offset(8).
	ackPayloadSize = 16
)

// errBadHint is matched by every hint payload decoding error.
var errBadHint = errors.New("bad hint record")

// appendHint appends the payload of one hint to dst: the enqueue time (unix ns) and wb's
// protobuf encoding (deterministic, so equal hints encode to equal bytes).
func appendHint(dst []byte, enqueuedNs int64, wb *messages.WriteBatch) ([]byte, error) {
	dst = append(dst, HintVersion)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(enqueuedNs))
	out, err := proto.MarshalOptions{Deterministic: true}.MarshalAppend(dst, wb)
	if err != nil {
		return dst[:len(dst)-hintHeaderSize], fmt.Errorf("encoding hint: %w", err)
	}
	return out, nil
}

// decodeHint decodes a hint payload. The returned batch does not alias payload.
func decodeHint(payload []byte) (enqueuedNs int64, wb *messages.WriteBatch, err error) {
	if len(payload) < hintHeaderSize {
		return 0, nil, fmt.Errorf("%w: got %d bytes; want >= %d", errBadHint, len(payload), hintHeaderSize)
	}
	if payload[0] != HintVersion {
		return 0, nil, fmt.Errorf("%w: version got %d; want %d", errBadHint, payload[0], HintVersion)
	}
	enqueuedNs = int64(binary.LittleEndian.Uint64(payload[1:hintHeaderSize]))
	wb = &messages.WriteBatch{}
	if err := proto.Unmarshal(payload[hintHeaderSize:], wb); err != nil {
		return 0, nil, fmt.Errorf("%w: write batch: %w", errBadHint, err)
	}
	return enqueuedNs, wb, nil
}

// position is a place in a queue: a segment id and a byte offset in it.
type position struct {
	seg uint64
	off int64
}

// appendAck appends the payload of the ack file: every record before p is acknowledged.
func appendAck(dst []byte, p position) []byte {
	dst = binary.LittleEndian.AppendUint64(dst, p.seg)
	return binary.LittleEndian.AppendUint64(dst, uint64(p.off))
}

// decodeAck decodes the payload of the ack file.
func decodeAck(payload []byte) (position, error) {
	if len(payload) != ackPayloadSize {
		return position{}, fmt.Errorf("decoding ack position: got %d bytes; want %d", len(payload), ackPayloadSize)
	}
	p := position{seg: binary.LittleEndian.Uint64(payload[0:8]), off: int64(binary.LittleEndian.Uint64(payload[8:16]))}
	if p.off < 0 {
		return position{}, fmt.Errorf("decoding ack position: offset got %d; want >= 0", p.off)
	}
	return p, nil
}
