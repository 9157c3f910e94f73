package vnode

import (
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/messages"
)

func TestManagerEnvelopes(t *testing.T) {
	sys, mgr := startManager(t, Config{})
	ask := func(msg any) any {
		res, err := sys.Root.RequestFuture(mgr, msg, timeout).Result()
		require.NoError(t, err)
		return res
	}

	unknown := &messages.Envelope{Version: messages.SchemaVersion, TypeName: "chronogo.messages.FromTheFuture", Payload: []byte{1, 2}}
	res := ask(unknown)
	require.Equal(t, messages.ErrorCode_ERROR_CODE_UNSUPPORTED, res.(*messages.ErrorReply).GetCode(), "%v", res)

	newer := &messages.Envelope{Version: messages.SchemaVersion + 1, TypeName: "chronogo.messages.WriteBatch"}
	res = ask(newer)
	require.Equal(t, messages.ErrorCode_ERROR_CODE_UNSUPPORTED, res.(*messages.WriteAck).GetCode(), "writes are always answered with a WriteAck: %v", res)

	env, err := messages.Wrap(writeMsg(testSpec, pointBatch(t, "a", 5, 1.5), 1))
	require.NoError(t, err)
	res = ask(env)
	require.Equal(t, &messages.WriteAck{Seq: 1}, res, "a wrapped write is applied; local senders get plain replies")

	// an unknown type inside an envelope forwarded to a running vnode is refused by the vnode too
	res = ask(&Forward{Spec: testSpec, Msg: unknown})
	require.Equal(t, messages.ErrorCode_ERROR_CODE_UNSUPPORTED, res.(*messages.ErrorReply).GetCode(), "%v", res)

	res = ask(&messages.FlushRequest{VnodeId: 99})
	require.Equal(t, messages.ErrorCode_ERROR_CODE_NOT_OWNER, res.(*messages.ErrorReply).GetCode())

	bad := writeMsg(Spec{VnodeID: 4}, pointBatch(t, "a", 5, 1.5), 1)
	res = ask(bad)
	require.Equal(t, messages.ErrorCode_ERROR_CODE_BAD_REQUEST, res.(*messages.WriteAck).GetCode(), "incomplete spec")

	conflicting := testSpec
	conflicting.BucketID++
	res = ask(&Ensure{Spec: conflicting})
	require.Equal(t, messages.ErrorCode_ERROR_CODE_BAD_REQUEST, res.(*messages.ErrorReply).GetCode(), "same vnode id, other bucket")

	res = ask(&Ensure{Spec: testSpec})
	pid, ok := res.(*actor.PID)
	require.True(t, ok)
	require.Equal(t, "vnodes/vnode/3", pid.GetId())

	res = ask(&ListVnodes{})
	require.Equal(t, []Ref{{Spec: testSpec, PID: pid}}, res)

	corrupt := &messages.WriteBatch{VnodeId: testSpec.VnodeID, Tenant: testSpec.Tenant, Db: testSpec.DB, BucketId: testSpec.BucketID,
		ReplicaSetId: testSpec.ReplicaSetID, Batch: []byte{0xff}}
	res = ask(corrupt)
	require.Equal(t, messages.ErrorCode_ERROR_CODE_BAD_REQUEST, res.(*messages.WriteAck).GetCode(), "undecodable batch")
}
