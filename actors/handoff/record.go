package handoff

import (
	"encoding/binary"
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/chronogo/chronogo/messages"
)

// Record payload layout (FORMAT.md): version <1b> | enqueued_ns <int64 LE> | message <rest>, the
// message being a WriteBatch (version 1), a DeleteRequest (version 2) or a RenameRequest (3).
const (
	// HintVersion is the payload version of a hinted write.
	HintVersion = 1
	// HintVersionDelete is the payload version of a hinted delete.
	HintVersionDelete = 2
	// HintVersionRename is the payload version of a hinted rename (updateMany of the meta field).
	HintVersionRename = 3
	// hintHeaderSize is version(1) + enqueued_ns(8).
	hintHeaderSize = 9
	// ackPayloadSize is segment(8) + offset(8).
	ackPayloadSize = 16
)

// errBadHint is matched by every hint payload decoding error.
var errBadHint = errors.New("bad hint record")

// appendHint appends the payload of one hint to dst: the enqueue time (unix ns) and the protobuf
// encoding (deterministic, so equal hints encode to equal bytes) of a *messages.WriteBatch or a
// *messages.DeleteRequest.
func appendHint(dst []byte, enqueuedNs int64, m proto.Message) ([]byte, error) {
	switch m.(type) {
	case *messages.WriteBatch:
		dst = append(dst, HintVersion)
	case *messages.DeleteRequest:
		dst = append(dst, HintVersionDelete)
	case *messages.RenameRequest:
		dst = append(dst, HintVersionRename)
	default:
		return dst, fmt.Errorf("encoding hint: %T cannot be hinted", m)
	}
	dst = binary.LittleEndian.AppendUint64(dst, uint64(enqueuedNs))
	out, err := proto.MarshalOptions{Deterministic: true}.MarshalAppend(dst, m)
	if err != nil {
		return dst[:len(dst)-hintHeaderSize], fmt.Errorf("encoding hint: %w", err)
	}
	return out, nil
}

// decodeHint decodes a hint payload: a *messages.WriteBatch or a *messages.DeleteRequest that
// does not alias payload.
func decodeHint(payload []byte) (enqueuedNs int64, m proto.Message, err error) {
	if len(payload) < hintHeaderSize {
		return 0, nil, fmt.Errorf("%w: got %d bytes; want >= %d", errBadHint, len(payload), hintHeaderSize)
	}
	switch payload[0] {
	case HintVersion:
		m = &messages.WriteBatch{}
	case HintVersionDelete:
		m = &messages.DeleteRequest{}
	case HintVersionRename:
		m = &messages.RenameRequest{}
	default:
		return 0, nil, fmt.Errorf("%w: version got %d; want %d, %d or %d", errBadHint, payload[0], HintVersion, HintVersionDelete, HintVersionRename)
	}
	enqueuedNs = int64(binary.LittleEndian.Uint64(payload[1:hintHeaderSize]))
	if err := proto.Unmarshal(payload[hintHeaderSize:], m); err != nil {
		return 0, nil, fmt.Errorf("%w: %T: %w", errBadHint, m, err)
	}
	return enqueuedNs, m, nil
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
