package mongo

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
)

// OpCode is the operation code of a wire message.
type OpCode int32

// Operation codes ChronoGo knows. Only OP_MSG and OP_QUERY are served; OP_COMPRESSED is never
// negotiated because the handshake reply does not echo a compressor.
const (
	OpCodeReply      OpCode = 1
	OpCodeQuery      OpCode = 2004
	OpCodeCompressed OpCode = 2012
	OpCodeMsg        OpCode = 2013
)

func (o OpCode) String() string {
	switch o {
	case OpCodeReply:
		return "OP_REPLY"
	case OpCodeQuery:
		return "OP_QUERY"
	case OpCodeCompressed:
		return "OP_COMPRESSED"
	case OpCodeMsg:
		return "OP_MSG"
	}
	return fmt.Sprintf("OP_%d", int32(o))
}

const (
	// MsgHeaderLen is the size of the standard message header.
	MsgHeaderLen = 16
	// MaxMessageSize is the largest message ChronoGo reads or writes (maxMessageSizeBytes in hello).
	MaxMessageSize = 48_000_000
	// MaxBSONObjectSize is the largest document a client may send (maxBsonObjectSize in hello).
	MaxBSONObjectSize = 16 * 1024 * 1024
)

// MsgHeader is the 16-byte header that starts every wire message.
type MsgHeader struct {
	MessageLength int32 // total length including the header
	RequestID     int32
	ResponseTo    int32
	OpCode        OpCode
}

// ErrFraming marks a message whose framing cannot be trusted; the connection must be closed.
var ErrFraming = errors.New("invalid message framing")

// readHeader reads and validates a header; the length is checked before any body byte is read.
func readHeader(r io.Reader) (MsgHeader, error) {
	var b [MsgHeaderLen]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return MsgHeader{}, err
	}
	h := MsgHeader{
		MessageLength: int32(binary.LittleEndian.Uint32(b[0:])),
		RequestID:     int32(binary.LittleEndian.Uint32(b[4:])),
		ResponseTo:    int32(binary.LittleEndian.Uint32(b[8:])),
		OpCode:        OpCode(binary.LittleEndian.Uint32(b[12:])),
	}
	if h.MessageLength < MsgHeaderLen || h.MessageLength > MaxMessageSize {
		return h, fmt.Errorf("%w: message length %d; want %d..%d", ErrFraming, h.MessageLength, MsgHeaderLen, MaxMessageSize)
	}
	return h, nil
}

// appendHeader appends h to dst.
func appendHeader(dst []byte, h MsgHeader) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(h.MessageLength))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(h.RequestID))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(h.ResponseTo))
	return binary.LittleEndian.AppendUint32(dst, uint32(h.OpCode))
}

// ReadMessage reads one whole message: the validated header and its body. Any error means the
// stream can no longer be trusted.
func ReadMessage(r io.Reader) (MsgHeader, []byte, error) {
	h, err := readHeader(r)
	if err != nil {
		return h, nil, err
	}
	n := int(h.MessageLength - MsgHeaderLen)
	body, err := readGrowing(r, n, 0)
	if err != nil {
		return h, nil, fmt.Errorf("reading %s body of %d bytes: %w", h.OpCode, n, err)
	}
	return h, body, nil
}

// firstBodyChunk is how much of a body is reserved before any of it has arrived.
const firstBodyChunk = 64 << 10

// maxBodyReserve bounds what readGrowing reserves up front for a connection that sent large
// messages before (see conn.lastBody).
const maxBodyReserve = 4 << 20

// readGrowing reads exactly n bytes, growing its buffer as they arrive (at most doubling what was
// received), so a header that announces 48 MB costs 64 KiB until the bytes come. reserve (at most
// maxBodyReserve) is what may be reserved before any byte arrived beyond firstBodyChunk: the size
// of the connection's previous message, so a client that streams messages of one size gets its
// buffer at once instead of growing (and copying) it.
func readGrowing(r io.Reader, n, reserve int) ([]byte, error) {
	buf := make([]byte, 0, min(n, max(firstBodyChunk, min(reserve, maxBodyReserve))))
	for len(buf) < n {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(n-len(buf), cap(buf)))
		}
		m, err := r.Read(buf[len(buf):min(cap(buf), n)])
		buf = buf[:len(buf)+m]
		if err != nil && len(buf) < n {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	return buf, nil
}
