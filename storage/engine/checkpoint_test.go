package engine

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/wal"
)

// TestCheckpointOpensAsTheVnodeWas: a checkpoint taken with flushed files, a delete and writes
// still in memory opens as a vnode holding exactly what the original held at that moment, though
// the original goes on writing, deleting and compacting; its TSM files are links to the original's
// (the same inodes), the rest copies.
func TestCheckpointOpensAsTheVnodeWas(t *testing.T) {
	root := t.TempDir()
	v := openTest(t, filepath.Join(root, "v"), Options{Sync: wal.SyncNever})
	defer v.Close()
	a, b := seriesKey(t, "m", "host", "a"), seriesKey(t, "m", "host", "b")
	write := func(from, n int) {
		var times, vals []int64
		for i := from; i < from+n; i++ {
			times, vals = append(times, int64(i)*10), append(vals, int64(i))
		}
		_, err := v.WriteSync(&storage.Batch{Version: uint64(from + 1), Series: []storage.SeriesRows{intRows(a, "x", times, vals), intRows(b, "x", times, vals)}})
		require.NoError(t, err)
	}
	write(0, 1000)
	require.NoError(t, v.Flush())
	write(1000, 1000)
	require.NoError(t, v.Flush())
	require.NoError(t, v.Delete("m", hostIs("b"), 0, 5000, 1<<40))
	write(2000, 500) // in memory only
	want := scanAll(t, v, "m")
	require.NotEmpty(t, want)

	dst := filepath.Join(root, "ckpt")
	files, err := v.Checkpoint(dst)
	require.NoError(t, err)
	_, err = v.Checkpoint(dst)
	require.Error(t, err, "a checkpoint never overwrites one")
	immutable := 0
	for _, f := range files {
		st, err := os.Stat(filepath.Join(dst, f.Path))
		require.NoError(t, err, f.Path)
		require.Equal(t, f.Size, st.Size(), f.Path)
		if f.Immutable {
			immutable++
			orig, err := os.Stat(filepath.Join(v.Dir(), f.Path))
			require.NoError(t, err)
			require.True(t, os.SameFile(orig, st), "%s is a link", f.Path)
		}
	}
	require.Equal(t, 2, immutable, "the two flushed files")

	// the original moves on
	write(2500, 500)
	require.NoError(t, v.Delete("m", hostIs("a"), 0, 1000, 1<<41))
	require.NoError(t, v.Flush())
	require.NoError(t, v.Compact(t.Context(), true))
	require.NotEqual(t, want, scanAll(t, v, "m"))

	c := openTest(t, dst, Options{Sync: wal.SyncNever})
	defer c.Close()
	require.Equal(t, want, scanAll(t, c, "m"))
}
