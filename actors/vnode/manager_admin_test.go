package vnode

import (
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/chronogo/chronogo/messages"
	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/index"
)

// TestManagerAdminRequests: the wire forms of Delete, ExpireBefore and DropTable (as remote
// coordinators send them, in envelopes) reach the vnode and are answered with an ErrorReply.
func TestManagerAdminRequests(t *testing.T) {
	sys, mgr := startManager(t, Config{})
	ask := func(m proto.Message) *messages.ErrorReply {
		t.Helper()
		env, err := messages.Wrap(m)
		require.NoError(t, err)
		res, err := sys.Root.RequestFuture(mgr, env, timeout).Result()
		require.NoError(t, err)
		r, ok := res.(*messages.ErrorReply)
		require.True(t, ok, "got %T", res)
		return r
	}
	write := func(host string, ts int64, v float64) {
		res, err := sys.Root.RequestFuture(mgr, writeMsg(testSpec, pointBatch(t, host, ts, v), 1), timeout).Result()
		require.NoError(t, err)
		require.Equal(t, messages.ErrorCode_ERROR_CODE_OK, res.(*messages.WriteAck).GetCode())
	}
	for _, h := range []string{"a", "b"} {
		for ts := int64(10); ts <= 50; ts += 10 {
			write(h, ts, float64(ts))
		}
	}
	ref := testSpec.VnodeRef()

	filter, err := index.AppendExpr(nil, index.Match{Key: "host", Op: index.OpEq, Value: storage.StringTag("a")})
	require.NoError(t, err)
	require.Equal(t, messages.ErrorCode_ERROR_CODE_OK, ask(&messages.DeleteRequest{Vnode: ref, Table: "cpu", Filter: filter, MinTime: 20, MaxTime: 30, Version: 2}).GetCode())
	require.Equal(t, map[point]float64{{"a", 10}: 10, {"a", 40}: 40, {"a", 50}: 50, {"b", 10}: 10, {"b", 20}: 20, {"b", 30}: 30, {"b", 40}: 40, {"b", 50}: 50},
		scanAll(t, sys, mgr, testSpec))

	require.Equal(t, messages.ErrorCode_ERROR_CODE_OK, ask(&messages.ExpireRequest{Vnode: ref, Time: 40}).GetCode())
	require.Equal(t, map[point]float64{{"a", 40}: 40, {"a", 50}: 50, {"b", 40}: 40, {"b", 50}: 50}, scanAll(t, sys, mgr, testSpec))

	require.Equal(t, messages.ErrorCode_ERROR_CODE_OK, ask(&messages.DropTableRequest{Vnode: ref, Table: "cpu"}).GetCode())
	require.Empty(t, scanAll(t, sys, mgr, testSpec))

	r := ask(&messages.DeleteRequest{Vnode: ref, Table: "cpu", Filter: []byte{7}})
	require.Equal(t, messages.ErrorCode_ERROR_CODE_BAD_REQUEST, r.GetCode())
	require.Contains(t, r.GetMessage(), "decoding expression")
	r = ask(&messages.ExpireRequest{Vnode: &messages.VnodeRef{VnodeId: 8}, Time: 1})
	require.Equal(t, messages.ErrorCode_ERROR_CODE_BAD_REQUEST, r.GetCode(), "incomplete spec")
}
