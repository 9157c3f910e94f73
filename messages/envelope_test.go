package messages

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
)

func TestEnvelopeRoundTrip(t *testing.T) {
	for _, m := range []proto.Message{
		&WriteBatch{VnodeId: 1, Tenant: "t", Db: "d", Batch: []byte("x")},
		&WriteAck{Seq: 9},
		&ErrorReply{Code: ErrorCode_ERROR_CODE_INTERNAL, Message: "boom"},
		&FlushRequest{Force: true},
		&VnodeStats{VnodeId: 3},
	} {
		e, err := Wrap(m)
		require.NoError(t, err)
		require.Equal(t, SchemaVersion, e.GetVersion())
		require.Equal(t, string(proto.MessageName(m)), e.GetTypeName())
		got, err := e.Open()
		require.NoError(t, err)
		require.True(t, proto.Equal(m, got), "got %v; want %v", got, m)
		plain, err := Unwrap(e)
		require.NoError(t, err)
		require.True(t, proto.Equal(m, plain.(proto.Message)))
	}
}

func TestEnvelopeErrors(t *testing.T) {
	cases := []struct {
		name string
		env  *Envelope
		want error
		code ErrorCode
	}{
		{"unknown type", &Envelope{Version: 1, TypeName: "chronogo.messages.FromTheFuture", Payload: []byte{1}}, ErrUnknownType, ErrorCode_ERROR_CODE_UNSUPPORTED},
		{"registered elsewhere but not ours", &Envelope{Version: 1, TypeName: "google.protobuf.Empty"}, ErrUnknownType, ErrorCode_ERROR_CODE_UNSUPPORTED},
		{"empty type", &Envelope{Version: 1}, ErrUnknownType, ErrorCode_ERROR_CODE_UNSUPPORTED},
		{"newer version", &Envelope{Version: SchemaVersion + 1, TypeName: "chronogo.messages.WriteAck"}, ErrUnsupportedVersion, ErrorCode_ERROR_CODE_UNSUPPORTED},
		{"bad payload", &Envelope{Version: 1, TypeName: "chronogo.messages.WriteAck", Payload: []byte{0x0a, 0xff}}, nil, ErrorCode_ERROR_CODE_INTERNAL},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := tc.env.Open()
			require.Error(t, err)
			require.Nil(t, m)
			if tc.want != nil {
				require.True(t, errors.Is(err, tc.want), "got %v; want %v", err, tc.want)
			}
			require.Equal(t, tc.code, ErrorFor(err).GetCode())
		})
	}
	_, err := Wrap(&emptypb.Empty{})
	require.ErrorIs(t, err, ErrUnknownType)
}

func TestRetryable(t *testing.T) {
	want := map[ErrorCode]bool{ErrorCode_ERROR_CODE_OVERLOADED: true, ErrorCode_ERROR_CODE_UNAVAILABLE: true, ErrorCode_ERROR_CODE_DISK_FULL: true}
	for c := range ErrorCode_name {
		require.Equal(t, want[ErrorCode(c)], Retryable(ErrorCode(c)), "code %v", ErrorCode(c))
	}
}

func TestPriorities(t *testing.T) {
	type prio interface{ GetPriority() int8 }
	for _, m := range []any{&FlushRequest{}, &CompactRequest{}, &StatsRequest{}} {
		require.Greater(t, m.(prio).GetPriority(), int8(4), "%T must jump ahead of writes", m)
	}
	_, isPrio := any(&WriteBatch{}).(prio)
	require.False(t, isPrio, "writes keep the default priority")
}
