package engine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/sirupsen/logrus/hooks/test"
	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/vfs"
	"github.com/chronogo/chronogo/storage/wal"
)

// tmpLeft lists .tmp files under dir: a failed write must not leave one holding space.
func tmpLeft(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	require.NoError(t, filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && strings.HasSuffix(p, ".tmp") {
			out = append(out, p)
		}
		return nil
	}))
	return out
}

// TestFlushFaultsLoseNothing injects faults into the TSM writer (a full disk at several byte
// counts, a failed fsync): the flush fails with the error, nothing acknowledged disappears,
// reads and writes go on, the next flush after the fault succeeds, and a reopen shows exactly
// the acknowledged writes. Not parallel: faults are process-wide.
func TestFlushFaultsLoseNothing(t *testing.T) {
	key := seriesKey(t, "m", "host", "a")
	batch := func(n int) *storage.Batch {
		// checkAcked wants v = ts/50; a second field of scattered values makes the file big enough
		// to fail in its blocks, its index or its footer
		times, vals, noise := make([]int64, 50), make([]int64, 50), make([]int64, 50)
		for i := range times {
			times[i], vals[i] = int64(n*50+i), int64(n)
			noise[i] = int64((n*50+i)*2654435761) % 1_000_000_007
		}
		rows := intRows(key, "v", times, vals)
		rows.Fields = append(rows.Fields, storage.FieldColumn{Name: "w", Values: storage.Values{Type: storage.TypeInt64, Ints: noise}})
		return &storage.Batch{Version: 1, Series: []storage.SeriesRows{rows}}
	}
	// the size of the flushed file, without faults
	size := func() int64 {
		dir := t.TempDir()
		v := openTest(t, dir, Options{Sync: wal.SyncAlways})
		for n := 0; n < 40; n++ {
			_, err := v.WriteSync(batch(n))
			require.NoError(t, err)
		}
		require.NoError(t, v.Flush())
		st, err := os.Stat(tsmFiles(t, dir)[0])
		require.NoError(t, err)
		require.NoError(t, v.Close())
		return st.Size()
	}()
	require.Greater(t, size, int64(4000))
	cases := []struct {
		name  string
		fault *vfs.Fault
		errno syscall.Errno
	}{
		{"enospc at once", &vfs.Fault{PathContains: "/tsm/", Op: vfs.OpWrite, After: 0}, syscall.ENOSPC},
		{"enospc in the blocks", &vfs.Fault{PathContains: "/tsm/", Op: vfs.OpWrite, After: size / 3}, syscall.ENOSPC},
		{"enospc in the footer", &vfs.Fault{PathContains: "/tsm/", Op: vfs.OpWrite, After: size - 10}, syscall.ENOSPC},
		{"fsync fails", &vfs.Fault{PathContains: "/tsm/", Op: vfs.OpSync}, syscall.EIO},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			quiet, _ := test.NewNullLogger()
			opts := Options{Sync: wal.SyncAlways, Logger: quiet}
			defer vfs.Inject(c.fault)()
			v := openTest(t, dir, opts)
			acked := map[int]bool{}
			n := 0
			for ; n < 40; n++ {
				_, err := v.WriteSync(batch(n))
				require.NoError(t, err)
				acked[n] = true
			}
			err := v.Flush()
			require.Error(t, err)
			require.True(t, errors.Is(err, c.errno), "got %v", err)
			require.Empty(t, tmpLeft(t, dir), "a failed flush leaves no partial file")
			checkAcked(t, v, acked, "after the failed flush")
			for i := 0; i < 5; i++ { // writes go on
				_, err := v.WriteSync(batch(n))
				require.NoError(t, err)
				acked[n] = true
				n++
			}
			c.fault.Clear()
			require.NoError(t, v.Flush(), "space is back")
			require.NotEmpty(t, tsmFiles(t, dir))
			checkAcked(t, v, acked, "after the flush")
			checkAckedAfterReopen(t, v, dir, opts, acked)
		})
	}
}

// TestIndexFaultsFailNewSeriesOnly fills the disk under the series index: writes that create
// series fail (nothing of them is seen), writes to known series go on, and once there is space
// everything acknowledged is there, also after a reopen.
func TestIndexFaultsFailNewSeriesOnly(t *testing.T) {
	dir := t.TempDir()
	quiet, _ := test.NewNullLogger()
	opts := Options{Sync: wal.SyncAlways, Logger: quiet}
	fault := &vfs.Fault{PathContains: "/index/", Op: vfs.OpWrite, After: 1 << 62}
	defer vfs.Inject(fault)()
	v := openTest(t, dir, opts)
	write := func(host string, ts int64) error {
		_, err := v.WriteSync(&storage.Batch{Version: 1, Series: []storage.SeriesRows{
			intRows(seriesKey(t, "m", "host", host), "v", []int64{ts}, []int64{ts})}})
		return err
	}
	want := map[string]bool{}
	for i := 0; i < 10; i++ {
		require.NoError(t, write(fmt.Sprintf("h%d", i), 1))
		want[fmt.Sprintf("h%d/1", i)] = true
	}
	require.NoError(t, v.Flush()) // the index log is written and synced
	fault.Allow(0)
	// Many new series pass the index's write buffer and hit the full disk.
	pad := strings.Repeat("x", 2000)
	failed := 0
	for i := 0; i < 400; i++ {
		if err := write(fmt.Sprintf("new%d%s", i, pad), 2); err != nil {
			require.True(t, storage.IsDiskFull(err), "got %v", err)
			failed++
		} else {
			want[fmt.Sprintf("new%d%s/2", i, pad)] = true
		}
	}
	require.Greater(t, failed, 0, "the fault never hit")
	require.NoError(t, write("h3", 3), "a known series is still writable")
	want["h3/3"] = true
	fault.Clear()
	require.NoError(t, write("after", 4))
	want["after/4"] = true
	got := func() map[string]bool {
		out := map[string]bool{}
		s := v.Snapshot()
		defer s.Release()
		require.NoError(t, s.Scan(ScanQuery{Table: "m", MinTime: minTime, MaxTime: maxTime}, func(c *ScanColumn) error {
			k, ok := s.SeriesKey(c.Series)
			require.True(t, ok)
			h, _ := k.Tag("host")
			for _, ts := range c.Points.Times {
				out[fmt.Sprintf("%s/%d", h.Raw, ts)] = true
			}
			return nil
		}))
		return out
	}
	require.Equal(t, want, got())
	require.NoError(t, v.Flush())
	require.NoError(t, v.Close())
	v = openTest(t, dir, opts)
	defer v.Close()
	require.Equal(t, want, got())
}
