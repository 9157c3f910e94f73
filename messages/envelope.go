package messages

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"
)

// SchemaVersion is the message schema version this binary speaks. A node answers envelopes with a
// newer version than it knows with ERROR_CODE_UNSUPPORTED; older versions are accepted (fields are
// only ever added).
const SchemaVersion uint32 = 1

// ErrUnknownType is returned for an envelope whose type_name is not in the registry.
var ErrUnknownType = errors.New("unknown message type")

// ErrUnsupportedVersion is returned for an envelope from a newer schema version.
var ErrUnsupportedVersion = errors.New("unsupported message schema version")

// registry maps a payload's full protobuf name to a constructor. It is written once here and never
// changed at run time, so it needs no lock; adding a type means adding a line.
var registry = map[string]func() proto.Message{}

func register(newMsg func() proto.Message) {
	registry[string(proto.MessageName(newMsg()))] = newMsg
}

func init() {
	file_messages_proto_init() // this file's init may run before the generated one
	register(func() proto.Message { return new(WriteBatch) })
	register(func() proto.Message { return new(WriteAck) })
	register(func() proto.Message { return new(ErrorReply) })
	register(func() proto.Message { return new(ScanRequest) })
	register(func() proto.Message { return new(ScanChunk) })
	register(func() proto.Message { return new(FlushRequest) })
	register(func() proto.Message { return new(CompactRequest) })
	register(func() proto.Message { return new(StatsRequest) })
	register(func() proto.Message { return new(VnodeStats) })
	register(func() proto.Message { return new(AggChunk) })
	register(func() proto.Message { return new(CloseCursor) })
	register(func() proto.Message { return new(DeleteRequest) })
	register(func() proto.Message { return new(DropTableRequest) })
	register(func() proto.Message { return new(ExpireRequest) })
	register(func() proto.Message { return new(MetaHello) })
	register(func() proto.Message { return new(MetaHelloReply) })
	register(func() proto.Message { return new(MetaJoin) })
	register(func() proto.Message { return new(RenameRequest) })
	register(func() proto.Message { return new(RenameReply) })
	register(func() proto.Message { return new(Ping) })
	register(func() proto.Message { return new(Pong) })
	register(func() proto.Message { return new(DigestRequest) })
	register(func() proto.Message { return new(DigestReply) })
	register(func() proto.Message { return new(RepairReadRequest) })
	register(func() proto.Message { return new(RepairReadReply) })
	register(func() proto.Message { return new(ClientHello) })
	register(func() proto.Message { return new(ClientHelloReply) })
	register(func() proto.Message { return new(ClientWrite) })
	register(func() proto.Message { return new(ClientWriteReply) })
	register(func() proto.Message { return new(ClientScan) })
	register(func() proto.Message { return new(ClientScanReply) })
	register(func() proto.Message { return new(PlainCall) })
	register(func() proto.Message { return new(PlainCallReply) })
	register(func() proto.Message { return new(OpsRequest) })
	register(func() proto.Message { return new(OpsReply) })
}

// Known reports whether typeName (a full protobuf name) can be decoded by Open.
func Known(typeName string) bool {
	_, ok := registry[typeName]
	return ok
}

// Wrap puts m in an Envelope of the current schema version.
func Wrap(m proto.Message) (*Envelope, error) {
	name := string(proto.MessageName(m))
	if !Known(name) {
		return nil, fmt.Errorf("wrapping %s: %w", name, ErrUnknownType)
	}
	payload, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("wrapping %s: %w", name, err)
	}
	return &Envelope{Version: SchemaVersion, TypeName: name, Payload: payload}, nil
}

// Open decodes the envelope's payload with the registry. Unknown types and newer schema versions
// are errors (answer them with ErrorFor), never panics.
func (e *Envelope) Open() (proto.Message, error) {
	if e.GetVersion() > SchemaVersion {
		return nil, fmt.Errorf("opening %s: got version %d; want <= %d: %w", e.GetTypeName(), e.GetVersion(), SchemaVersion, ErrUnsupportedVersion)
	}
	newMsg, ok := registry[e.GetTypeName()]
	if !ok {
		return nil, fmt.Errorf("opening %q: %w", e.GetTypeName(), ErrUnknownType)
	}
	m := newMsg()
	if err := proto.Unmarshal(e.GetPayload(), m); err != nil {
		return nil, fmt.Errorf("opening %s: %w", e.GetTypeName(), err)
	}
	return m, nil
}

// Unwrap returns the payload of msg if it is an *Envelope and msg itself otherwise; local senders
// may skip the envelope.
func Unwrap(msg any) (any, error) {
	if e, ok := msg.(*Envelope); ok {
		return e.Open()
	}
	return msg, nil
}

// ErrorFor is the reply to a request that failed with err before reaching its handler.
func ErrorFor(err error) *ErrorReply {
	code := ErrorCode_ERROR_CODE_INTERNAL
	if errors.Is(err, ErrUnknownType) || errors.Is(err, ErrUnsupportedVersion) {
		code = ErrorCode_ERROR_CODE_UNSUPPORTED
	}
	return &ErrorReply{Code: code, Message: err.Error()}
}

// Retryable reports whether a request that failed with code may simply be sent again.
func Retryable(code ErrorCode) bool {
	return code == ErrorCode_ERROR_CODE_OVERLOADED || code == ErrorCode_ERROR_CODE_UNAVAILABLE ||
		code == ErrorCode_ERROR_CODE_DISK_FULL // nothing was written: hint it, retry once there is space
}
