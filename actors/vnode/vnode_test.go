package vnode

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/messages"
	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/engine"
	"github.com/chronogo/chronogo/storage/index"
	"github.com/chronogo/chronogo/storage/layout"
	"github.com/chronogo/chronogo/storage/wal"
)

func TestVnodeGroupCommit(t *testing.T) {
	sys, mgr := startManager(t, Config{})
	const senders, perSender = 8, 25
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		seqs = map[uint64]bool{}
	)
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			host := fmt.Sprintf("h%d", s)
			futures := make([]any, 0, perSender)
			for i := range perSender {
				futures = append(futures, sys.Root.RequestFuture(mgr, writeMsg(testSpec, pointBatch(t, host, int64(i), float64(s*1000+i)), 1), timeout))
			}
			for _, f := range futures {
				res, err := f.(interface{ Result() (any, error) }).Result()
				if !assertAck(t, res, err) {
					return
				}
				mu.Lock()
				seqs[res.(*messages.WriteAck).GetSeq()] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	require.Len(t, seqs, senders*perSender, "every write got its own seq")
	for seq := uint64(1); seq <= senders*perSender; seq++ {
		require.True(t, seqs[seq], "seq %d missing", seq)
	}
	st := stats(t, sys, mgr, testSpec.VnodeID)
	require.Equal(t, uint64(senders*perSender), st.GetWrites())
	require.GreaterOrEqual(t, st.GetCommits(), uint64(1))
	require.Less(t, st.GetCommits(), st.GetWrites(), "group commit shares fsyncs between queued writes")
	t.Logf("writes=%d commits=%d", st.GetWrites(), st.GetCommits())

	got := scanAll(t, sys, mgr, testSpec)
	require.Len(t, got, senders*perSender)
	for s := range senders {
		for i := range perSender {
			require.Equal(t, float64(s*1000+i), got[point{fmt.Sprintf("h%d", s), int64(i)}])
		}
	}
}

// assertAck checks a successful WriteAck reply.
func assertAck(t *testing.T, res any, err error) bool {
	t.Helper()
	if !assert(t, err == nil, "request failed: %v", err) {
		return false
	}
	ack, ok := res.(*messages.WriteAck)
	return assert(t, ok, "got %T; want *WriteAck", res) && assert(t, ack.GetCode() == messages.ErrorCode_ERROR_CODE_OK, "ack error %v: %s", ack.GetCode(), ack.GetMessage())
}

// assert reports a failure from any goroutine (require must run on the test goroutine).
func assert(t *testing.T, ok bool, format string, args ...any) bool {
	t.Helper()
	if !ok {
		t.Errorf(format, args...)
	}
	return ok
}

func TestVnodeFlushAndCompaction(t *testing.T) {
	// a tiny cache makes writes rotate it, so flush children run on their own
	sys, mgr := startManager(t, Config{Engine: engine.Options{CacheSize: 2 << 10}})
	want := map[point]float64{}
	for i := range 600 {
		host := fmt.Sprintf("h%d", i%3)
		ts := int64(i / 3)
		res, err := sys.Root.RequestFuture(mgr, writeMsg(testSpec, pointBatch(t, host, ts, float64(i)), uint64(i+1)), timeout).Result()
		require.True(t, assertAck(t, res, err))
		want[point{host, ts}] = float64(i)
	}
	res, err := sys.Root.RequestFuture(mgr, &messages.FlushRequest{VnodeId: testSpec.VnodeID, Force: true}, timeout).Result()
	require.NoError(t, err)
	require.Equal(t, messages.ErrorCode_ERROR_CODE_OK, res.(*messages.ErrorReply).GetCode(), "%v", res)
	st := stats(t, sys, mgr, testSpec.VnodeID)
	require.Equal(t, st.GetSeq(), st.GetFlushedSeq(), "a forced flush empties memory")
	require.Zero(t, st.GetCacheBytes())
	require.Greater(t, st.GetFiles(), uint32(1))
	filesBefore := st.GetFiles()

	res, err = sys.Root.RequestFuture(mgr, &messages.CompactRequest{VnodeId: testSpec.VnodeID, Full: true}, timeout).Result()
	require.NoError(t, err)
	require.Equal(t, messages.ErrorCode_ERROR_CODE_OK, res.(*messages.ErrorReply).GetCode(), "%v", res)
	st = stats(t, sys, mgr, testSpec.VnodeID)
	require.Less(t, st.GetFiles(), filesBefore, "full compaction merged files")
	require.Equal(t, want, scanAll(t, sys, mgr, testSpec))
}

// TestVnodeSettlesWhenQuiet is issue #9's idle compaction: with a short SettleAfter, a vnode that
// stops taking writes flushes its memcache, keeps only an empty WAL segment and compacts its files
// fully, without any request; every point stays readable, and a later write starts it over.
func TestVnodeSettlesWhenQuiet(t *testing.T) {
	root := t.TempDir()
	sys, mgr := startManager(t, Config{Root: root, SettleAfter: 300 * time.Millisecond, Engine: engine.Options{CacheSize: 2 << 10}})
	want := map[point]float64{}
	write := func(from, to int) {
		for i := from; i < to; i++ {
			host := fmt.Sprintf("h%d", i%3)
			ts := int64(i / 3)
			res, err := sys.Root.RequestFuture(mgr, writeMsg(testSpec, pointBatch(t, host, ts, float64(i)), uint64(i+1)), timeout).Result()
			require.True(t, assertAck(t, res, err))
			want[point{host, ts}] = float64(i)
		}
	}
	walDir := filepath.Join(layout.VnodeDir(root, testSpec.Tenant, testSpec.DB, testSpec.BucketID, testSpec.ReplicaSetID, testSpec.VnodeID), layout.WALDir)
	settled := func() bool {
		st := stats(t, sys, mgr, testSpec.VnodeID)
		segs, err := filepath.Glob(filepath.Join(walDir, "*"+wal.SegmentExt))
		require.NoError(t, err)
		return st.GetCacheBytes() == 0 && st.GetSeq() == st.GetFlushedSeq() && st.GetFiles() == 1 && len(segs) == 1
	}
	write(0, 600)
	require.False(t, settled(), "a tiny cache leaves several files and data in memory")
	require.Eventually(t, settled, 10*time.Second, 50*time.Millisecond, "the quiet vnode settles by itself")
	segs, err := filepath.Glob(filepath.Join(walDir, "*"+wal.SegmentExt))
	require.NoError(t, err)
	info, err := os.Stat(segs[0])
	require.NoError(t, err)
	require.Less(t, info.Size(), int64(100), "the remaining segment holds no records")
	require.Equal(t, want, scanAll(t, sys, mgr, testSpec))

	write(600, 700) // new writes: not settled until the next quiet spell
	require.Eventually(t, settled, 10*time.Second, 50*time.Millisecond)
	require.Equal(t, want, scanAll(t, sys, mgr, testSpec))

	// a delete of one host's older half: the settled file is rewritten without it
	vnodeDir := filepath.Dir(walDir)
	tsmFiles := func() []string {
		fs, err := filepath.Glob(filepath.Join(vnodeDir, "*", "*.tsm"))
		require.NoError(t, err)
		more, err := filepath.Glob(filepath.Join(vnodeDir, "*.tsm"))
		require.NoError(t, err)
		return append(fs, more...)
	}
	settledFile := tsmFiles()
	require.Len(t, settledFile, 1)
	filter := index.Match{Key: "host", Op: index.OpEq, Value: storage.StringTag("h1")}
	res, err := sys.Root.RequestFuture(mgr, &Forward{Spec: testSpec, Msg: &Delete{Table: "cpu", Filter: filter, MinTime: 0, MaxTime: 100, Version: 1 << 40}}, timeout).Result()
	require.NoError(t, err)
	require.Equal(t, messages.ErrorCode_ERROR_CODE_OK, res.(*messages.ErrorReply).GetCode(), "%v", res)
	for p := range want {
		if p.host == "h1" && p.ts <= 100 {
			delete(want, p)
		}
	}
	require.Eventually(t, func() bool { fs := tsmFiles(); return len(fs) == 1 && fs[0] != settledFile[0] }, 10*time.Second, 50*time.Millisecond,
		"the settling after the delete rewrote the file")
	require.Equal(t, want, scanAll(t, sys, mgr, testSpec))
}

// TestVnodeSettleOnRequest is issue #9's "forces the same at once": with settling by quiet spells
// off, a Settle request flushes, reclaims the WAL and compacts fully before it is answered, and a
// second one (already settled) answers too.
func TestVnodeSettleOnRequest(t *testing.T) {
	root := t.TempDir()
	sys, mgr := startManager(t, Config{Root: root, SettleAfter: -1, Engine: engine.Options{CacheSize: 2 << 10}})
	want := map[point]float64{}
	for i := range 600 {
		host := fmt.Sprintf("h%d", i%3)
		res, err := sys.Root.RequestFuture(mgr, writeMsg(testSpec, pointBatch(t, host, int64(i/3), float64(i)), uint64(i+1)), timeout).Result()
		require.True(t, assertAck(t, res, err))
		want[point{host, int64(i / 3)}] = float64(i)
	}
	st := stats(t, sys, mgr, testSpec.VnodeID)
	require.True(t, st.GetFiles() > 1 || st.GetCacheBytes() > 0, "not settled yet")
	walDir := filepath.Join(layout.VnodeDir(root, testSpec.Tenant, testSpec.DB, testSpec.BucketID, testSpec.ReplicaSetID, testSpec.VnodeID), layout.WALDir)
	for range 2 {
		res, err := sys.Root.RequestFuture(mgr, &Forward{Spec: testSpec, Msg: &Settle{}}, timeout).Result()
		require.NoError(t, err)
		require.Equal(t, messages.ErrorCode_ERROR_CODE_OK, res.(*messages.ErrorReply).GetCode(), "%v", res)
		st = stats(t, sys, mgr, testSpec.VnodeID)
		require.EqualValues(t, 1, st.GetFiles(), "compacted fully when answered")
		require.Zero(t, st.GetCacheBytes())
		require.Equal(t, st.GetSeq(), st.GetFlushedSeq())
		segs, err := filepath.Glob(filepath.Join(walDir, "*"+wal.SegmentExt))
		require.NoError(t, err)
		require.Len(t, segs, 1, "flushed WAL segments removed")
	}
	require.Equal(t, want, scanAll(t, sys, mgr, testSpec))
}
