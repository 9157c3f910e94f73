package engine

import (
	"context"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage/wal"
)

// TestFullCompactionRewritesHiddenPoints is issue #14's tombstone-aware picking: a vnode already in
// one file is rewritten by a full compaction once a delete (in the middle of the series' range) or
// an expiry hides points in it, so the disk shrinks; the rewritten file holds exactly the visible
// points, qualifies no more (a second full compaction does nothing), and a delete of points written
// after it does not touch it again.
func TestFullCompactionRewritesHiddenPoints(t *testing.T) {
	ctx := context.Background()
	v := openTest(t, t.TempDir(), Options{Sync: wal.SyncNever})
	defer v.Close()
	var times, vals []int64
	for i := range int64(20_000) {
		times, vals = append(times, i*10), append(vals, i*7919%1000)
	}
	for _, h := range []string{"a", "b"} {
		writeInts(t, v, 1, h, "x", times, vals)
	}
	require.NoError(t, v.Flush())
	require.NoError(t, v.Compact(ctx, true))
	require.Len(t, v.Stats().Files, 1)
	before := v.Stats().DiskBytes
	require.Nil(t, v.StartCompaction(true), "nothing hidden: no rewrite")

	// hide the middle half of host a: the file's blocks of a cross the tombstone's edges
	require.NoError(t, v.Delete("cpu", hostIs("a"), 50_000, 149_999, 5))
	want := scanAll(t, v, "cpu")
	require.Len(t, want, 2*20_000-10_000)
	require.NoError(t, v.Compact(ctx, true))
	require.Equal(t, want, scanAll(t, v, "cpu"), "the rewrite keeps every visible point")
	afterDelete := v.Stats().DiskBytes
	require.Less(t, afterDelete, before, "the hidden points left the disk")
	require.Nil(t, v.StartCompaction(true), "the rewritten file does not qualify again")

	// a write after the delete in its range is newer: visible, and no reason to rewrite
	writeInts(t, v, 9, "a", "x", []int64{100_000}, []int64{42})
	require.NoError(t, v.Flush())
	require.NoError(t, v.Compact(ctx, true))
	require.Len(t, v.Stats().Files, 1)
	require.Nil(t, v.StartCompaction(true))
	want = scanAll(t, v, "cpu")
	require.Len(t, want, 2*20_000-10_000+1)

	// expiry of everything before 100_000: a rewrite again, down to what is left
	require.NoError(t, v.ExpireBefore(100_000))
	want = scanAll(t, v, "cpu")
	require.NoError(t, v.Compact(ctx, true))
	require.Equal(t, want, scanAll(t, v, "cpu"))
	require.Less(t, v.Stats().DiskBytes, afterDelete)
	require.Nil(t, v.StartCompaction(true))

	// a delete of everything: the file goes
	require.NoError(t, v.Delete("cpu", nil, math.MinInt64, math.MaxInt64, 100))
	require.NoError(t, v.Compact(ctx, true))
	require.Empty(t, v.Stats().Files)
	require.Empty(t, scanAll(t, v, "cpu"))
}
