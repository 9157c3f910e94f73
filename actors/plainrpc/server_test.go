package plainrpc

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/messages"
	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/meta/plain"
)

// fakeShards holds shard 7 of t.d on this node and shard 8 of t.e elsewhere; writes count.
type fakeShards struct {
	writes  int
	failing error
}

func (f *fakeShards) CachedPlainShardByID(id uint64) (meta.PlainShard, bool) {
	switch id {
	case 7:
		return meta.PlainShard{ID: 7, Tenant: "t", DB: "d", Replicas: []uint64{1}}, true
	case 8:
		return meta.PlainShard{ID: 8, Tenant: "t", DB: "e", Replicas: []uint64{2}}, true
	}
	return meta.PlainShard{}, false
}

func (f *fakeShards) PlainHere(p meta.PlainShard) (bool, error) { return p.Has(1), nil }

func (f *fakeShards) PlainRuns(p meta.PlainShard) (bool, error) { return p.Runs(1), nil }

func (f *fakeShards) PlainAddReplica(context.Context, uint64, uint64, string) error {
	f.writes++
	return f.failing
}

func (f *fakeShards) PlainRemoveReplica(context.Context, uint64, uint64) error {
	f.writes++
	return f.failing
}

func (f *fakeShards) PlainWrite(_ context.Context, _ uint64, cmd plain.Command) (plain.Result, uint64, error) {
	if f.failing != nil {
		return plain.Result{}, 0, f.failing
	}
	f.writes++
	return plain.Result{Statuses: make([]plain.Status, len(cmd.Items))}, 40 + uint64(f.writes), nil
}

func (f *fakeShards) PlainRead(_ context.Context, _ uint64, q any) (any, error) {
	if f.failing != nil {
		return nil, f.failing
	}
	return plain.GetResult{}, nil
}

func (f *fakeShards) PlainApplied(uint64) (uint64, bool) { return 41, true }

func TestServe(t *testing.T) {
	cmd := func(db string) []byte {
		b, err := plain.EncodeCommand(plain.Command{Op: plain.OpWrite, OpID: make([]byte, 16), NS: plain.NS{Tenant: "t", DB: db, Coll: "c"},
			Items: []plain.Item{{Mode: plain.ModeInsert, Key: []byte{1}, Doc: []byte{5, 0, 0, 0, 0}}}})
		require.NoError(t, err)
		return b
	}
	query := func(db string) []byte {
		b, err := plain.EncodeQuery(plain.GetQuery{NS: plain.NS{Tenant: "t", DB: db, Coll: "c"}, Key: []byte{1}})
		require.NoError(t, err)
		return b
	}
	cases := []struct {
		name    string
		call    *messages.PlainCall
		failing error
		code    messages.ErrorCode
	}{
		{"unknown shard", &messages.PlainCall{ShardId: 9, Command: cmd("d")}, nil, messages.ErrorCode_ERROR_CODE_NOT_OWNER},
		{"shard elsewhere", &messages.PlainCall{ShardId: 8, Command: cmd("e")}, nil, messages.ErrorCode_ERROR_CODE_NOT_OWNER},
		{"garbage command", &messages.PlainCall{ShardId: 7, Command: []byte{1, 2, 3}}, nil, messages.ErrorCode_ERROR_CODE_BAD_REQUEST},
		{"command on another database", &messages.PlainCall{ShardId: 7, Command: cmd("e")}, nil, messages.ErrorCode_ERROR_CODE_BAD_REQUEST},
		{"garbage query", &messages.PlainCall{ShardId: 7, Query: []byte{1}}, nil, messages.ErrorCode_ERROR_CODE_BAD_REQUEST},
		{"query on another database", &messages.PlainCall{ShardId: 7, Query: query("e")}, nil, messages.ErrorCode_ERROR_CODE_BAD_REQUEST},
		{"empty call", &messages.PlainCall{ShardId: 7}, nil, messages.ErrorCode_ERROR_CODE_BAD_REQUEST},
		{"add without address", &messages.PlainCall{ShardId: 7, AddReplica: 3}, nil, messages.ErrorCode_ERROR_CODE_BAD_REQUEST},
		{"add elsewhere", &messages.PlainCall{ShardId: 8, AddReplica: 3, AddAddr: "h:1"}, nil, messages.ErrorCode_ERROR_CODE_NOT_OWNER},
		{"applied elsewhere", &messages.PlainCall{ShardId: 8, Applied: true}, nil, messages.ErrorCode_ERROR_CODE_NOT_OWNER},
		{"replica without leader", &messages.PlainCall{ShardId: 7, Command: cmd("d")}, errors.New("timeout"), messages.ErrorCode_ERROR_CODE_UNAVAILABLE},
		{"replica stopped", &messages.PlainCall{ShardId: 7, Query: query("d")}, meta.ErrPlainNotHere, messages.ErrorCode_ERROR_CODE_NOT_OWNER},
	}
	for _, c := range cases {
		f := &fakeShards{failing: c.failing}
		r := Serve(context.Background(), f, c.call)
		require.Equal(t, c.code, r.GetCode(), "%s: %s", c.name, r.GetMessage())
		require.NotEmpty(t, r.GetMessage(), c.name)
		require.Zero(t, f.writes, "%s: nothing written", c.name)
	}

	f := &fakeShards{}
	r := Serve(context.Background(), f, &messages.PlainCall{ShardId: 7, Command: cmd("d")})
	require.Equal(t, messages.ErrorCode_ERROR_CODE_OK, r.GetCode(), r.GetMessage())
	res, err := plain.DecodeResult(r.GetResult())
	require.NoError(t, err)
	require.Len(t, res.Statuses, 1)
	require.EqualValues(t, 41, r.GetApplied())
	require.Equal(t, 1, f.writes)
	r = Serve(context.Background(), f, &messages.PlainCall{ShardId: 7, Query: query("d")})
	require.Equal(t, messages.ErrorCode_ERROR_CODE_OK, r.GetCode(), r.GetMessage())
	v, err := plain.DecodeAnswer(r.GetResult())
	require.NoError(t, err)
	require.Equal(t, plain.GetResult{}, v)
	r = Serve(context.Background(), f, &messages.PlainCall{ShardId: 7, Applied: true})
	require.EqualValues(t, 41, r.GetApplied())
	r = Serve(context.Background(), f, &messages.PlainCall{ShardId: 7, AddReplica: 3, AddAddr: "h:1"})
	require.Equal(t, messages.ErrorCode_ERROR_CODE_OK, r.GetCode(), r.GetMessage())
	r = Serve(context.Background(), f, &messages.PlainCall{ShardId: 7, RemoveReplica: 3})
	require.Equal(t, messages.ErrorCode_ERROR_CODE_OK, r.GetCode(), r.GetMessage())
	require.Equal(t, 3, f.writes)
	f.failing = errors.New("no leader")
	r = Serve(context.Background(), f, &messages.PlainCall{ShardId: 7, RemoveReplica: 3})
	require.Equal(t, messages.ErrorCode_ERROR_CODE_UNAVAILABLE, r.GetCode(), r.GetMessage())
}
