package vnode

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/chronogo/chronogo/actors"
	"github.com/chronogo/chronogo/messages"
	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/index"
)

// TestManagerRefusesLateRequests: with the node's clock set, a write, delete or rename that is not
// a hint replay and was stamped more than half the late-write window ago is refused with
// TOO_LATE and changes nothing; the same request as a hint replay, or stamped recently, applies.
func TestManagerRefusesLateRequests(t *testing.T) {
	clock := actors.NewHLC(nil)
	sys, mgr := startManager(t, Config{Clock: clock.Now})
	now := clock.Now()
	old := now - actors.HLCOf(time.Unix(0, 0).Add(actors.LateWriteWindow/2+time.Second))
	recent := now - actors.HLCOf(time.Unix(0, 0).Add(actors.LateWriteWindow/2-5*time.Second))
	code := func(m proto.Message) messages.ErrorCode {
		t.Helper()
		env, err := messages.Wrap(m)
		require.NoError(t, err)
		res, err := sys.Root.RequestFuture(mgr, env, timeout).Result()
		require.NoError(t, err)
		switch r := res.(type) {
		case *messages.WriteAck:
			return r.GetCode()
		case *messages.ErrorReply:
			return r.GetCode()
		case *messages.RenameReply:
			return r.GetCode()
		}
		t.Fatalf("reply %T", res)
		return 0
	}
	write := func(ts int64, v float64, version uint64, hinted bool) messages.ErrorCode {
		w := writeMsg(testSpec, pointBatch(t, "a", ts, v), version)
		w.Hinted = hinted
		return code(w)
	}
	require.Equal(t, messages.ErrorCode_ERROR_CODE_TOO_LATE, write(10, 1, old, false))
	require.Empty(t, scanAll(t, sys, mgr, testSpec), "a refused write changes nothing")
	require.Equal(t, messages.ErrorCode_ERROR_CODE_OK, write(10, 2, old, true), "a hint replay may be old")
	require.Equal(t, messages.ErrorCode_ERROR_CODE_OK, write(20, 3, recent, false))
	require.Equal(t, map[point]float64{{"a", 10}: 2, {"a", 20}: 3}, scanAll(t, sys, mgr, testSpec))

	// A local write (the coordinator on this node) is checked too.
	lb := pointBatch(t, "a", 30, 4)
	lb.Version = old
	res, err := sys.Root.RequestFuture(mgr, &LocalWrite{Header: writeMsg(testSpec, lb, old), Batch: lb}, timeout).Result()
	require.NoError(t, err)
	require.Equal(t, messages.ErrorCode_ERROR_CODE_TOO_LATE, res.(*messages.WriteAck).GetCode())

	filter, err := index.AppendExpr(nil, index.Match{Key: "host", Op: index.OpEq, Value: storage.StringTag("a")})
	require.NoError(t, err)
	ref := testSpec.VnodeRef()
	require.Equal(t, messages.ErrorCode_ERROR_CODE_TOO_LATE, code(&messages.DeleteRequest{Vnode: ref, Table: "cpu", Filter: filter, MinTime: 0, MaxTime: 100, Version: old}))
	upd := (&storage.TagUpdate{Ops: []storage.TagOp{{Path: "host", Tags: []storage.Tag{{Key: "host", Value: storage.StringTag("c")}}}}}).Marshal(nil)
	require.Equal(t, messages.ErrorCode_ERROR_CODE_TOO_LATE, code(&messages.RenameRequest{Vnode: ref, Table: "cpu", Filter: filter, Update: upd, Version: old}))
	expr, err := index.UnmarshalExpr(filter)
	require.NoError(t, err)
	res, err = sys.Root.RequestFuture(mgr, &Forward{Spec: testSpec, Msg: &Delete{Table: "cpu", Filter: expr, MinTime: 0, MaxTime: 100, Version: old}}, timeout).Result()
	require.NoError(t, err)
	require.Equal(t, messages.ErrorCode_ERROR_CODE_TOO_LATE, res.(*messages.ErrorReply).GetCode())
	require.Equal(t, map[point]float64{{"a", 10}: 2, {"a", 20}: 3}, scanAll(t, sys, mgr, testSpec), "nothing deleted or renamed")
	require.Equal(t, messages.ErrorCode_ERROR_CODE_OK, code(&messages.DeleteRequest{Vnode: ref, Table: "cpu", Filter: filter, MinTime: 0, MaxTime: 100, Version: old, Hinted: true}))
	require.Equal(t, map[point]float64{{"a", 20}: 3}, scanAll(t, sys, mgr, testSpec),
		"the hinted delete applies, to the points written before it by version")
}
