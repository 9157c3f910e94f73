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

// TestManagerRenameRequest: a RenameRequest in an envelope renames the vnode's series and is
// answered with counts; a field inside a scalar is PATH_NOT_VIABLE, a bad update BAD_REQUEST.
func TestManagerRenameRequest(t *testing.T) {
	sys, mgr := startManager(t, Config{})
	ask := func(m *messages.RenameRequest) *messages.RenameReply {
		t.Helper()
		env, err := messages.Wrap(m)
		require.NoError(t, err)
		res, err := sys.Root.RequestFuture(mgr, env, timeout).Result()
		require.NoError(t, err)
		r, ok := res.(*messages.RenameReply)
		require.True(t, ok, "got %T", res)
		return r
	}
	for _, h := range []string{"a", "b"} {
		for ts := int64(10); ts <= 30; ts += 10 {
			res, err := sys.Root.RequestFuture(mgr, writeMsg(testSpec, pointBatch(t, h, ts, float64(ts)), 1), timeout).Result()
			require.NoError(t, err)
			require.Equal(t, messages.ErrorCode_ERROR_CODE_OK, res.(*messages.WriteAck).GetCode())
		}
	}
	ref := testSpec.VnodeRef()
	filter, err := index.AppendExpr(nil, index.Match{Key: "host", Op: index.OpEq, Value: storage.StringTag("a")})
	require.NoError(t, err)
	upd := (&storage.TagUpdate{Ops: []storage.TagOp{{Path: "host", Tags: []storage.Tag{{Key: "host", Value: storage.StringTag("c")}}}}}).Marshal(nil)
	r := ask(&messages.RenameRequest{Vnode: ref, Table: "cpu", Filter: filter, Update: upd, Version: 5})
	require.Equal(t, messages.ErrorCode_ERROR_CODE_OK, r.GetCode(), r.GetMessage())
	require.Equal(t, int64(1), r.GetSeries())
	require.Equal(t, int64(1), r.GetRenamed())
	require.Equal(t, int64(3), r.GetRows())
	require.Equal(t, int64(3), r.GetRenamedRows())
	require.Equal(t, map[point]float64{{"c", 10}: 10, {"c", 20}: 20, {"c", 30}: 30, {"b", 10}: 10, {"b", 20}: 20, {"b", 30}: 30},
		scanAll(t, sys, mgr, testSpec))

	into := (&storage.TagUpdate{Ops: []storage.TagOp{{Path: "host.x", Tags: []storage.Tag{{Key: "host.x", Value: storage.StringTag("y")}}}}}).Marshal(nil)
	r = ask(&messages.RenameRequest{Vnode: ref, Table: "cpu", Update: into, Version: 6})
	require.Equal(t, messages.ErrorCode_ERROR_CODE_PATH_NOT_VIABLE, r.GetCode())
	require.Contains(t, r.GetMessage(), "Cannot create field 'x' in element {host: ")
	r = ask(&messages.RenameRequest{Vnode: ref, Table: "cpu", Update: []byte{9}, Version: 7})
	require.Equal(t, messages.ErrorCode_ERROR_CODE_BAD_REQUEST, r.GetCode())
	require.Equal(t, map[point]float64{{"c", 10}: 10, {"c", 20}: 20, {"c", 30}: 30, {"b", 10}: 10, {"b", 20}: 20, {"b", 30}: 30},
		scanAll(t, sys, mgr, testSpec), "failed renames change nothing")
}
