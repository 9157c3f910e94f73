package engine

import (
	"errors"
	"fmt"
	"syscall"
	"testing"

	"github.com/sirupsen/logrus/hooks/test"
	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/vfs"
	"github.com/chronogo/chronogo/storage/wal"
)

// TestDiskFullFailsWritesOnlyAndRecovers injects ENOSPC into the WAL at many points (every byte
// count a record can be cut at, across buffer flushes and segment rolls): the write or commit that
// hits it fails with ENOSPC and is never seen, reads keep working, writes succeed again once the
// space is back, and a reopen shows exactly the acknowledged writes. Not parallel: faults are
// process-wide.
func TestDiskFullFailsWritesOnlyAndRecovers(t *testing.T) {
	key := seriesKey(t, "m", "host", "a")
	batch := func(n int) *storage.Batch {
		times, vals := make([]int64, 50), make([]int64, 50)
		for i := range times {
			times[i], vals[i] = int64(n*50+i), int64(n)
		}
		return &storage.Batch{Version: 1, Series: []storage.SeriesRows{intRows(key, "v", times, vals)}}
	}
	for _, allow := range []int64{0, 1, 100, 999, 4096, 9000} {
		t.Run(fmt.Sprintf("allow=%d", allow), func(t *testing.T) {
			dir := t.TempDir()
			fault := &vfs.Fault{PathContains: "/wal/", Op: vfs.OpWrite, After: 1 << 62}
			defer vfs.Inject(fault)()
			quiet, _ := test.NewNullLogger() // a warning per refused write
			opts := Options{Sync: wal.SyncAlways, WALSegmentSize: 32 << 10, CacheSize: 64 << 10, Logger: quiet}
			v := openTest(t, dir, opts)
			acked := map[int]bool{}
			n := 0
			for ; n < 20; n++ {
				_, err := v.WriteSync(batch(n))
				require.NoError(t, err)
				acked[n] = true
			}
			fault.Allow(allow)
			failed := 0
			for i := 0; i < 30; i++ {
				_, err := v.WriteSync(batch(n))
				if err != nil {
					require.True(t, errors.Is(err, syscall.ENOSPC), "got %v", err)
					failed++
				} else {
					acked[n] = true
				}
				n++
			}
			require.Greater(t, failed, 0, "the fault never hit")
			checkAcked(t, v, acked, "while the disk is full")

			fault.Clear()
			for i := 0; i < 10; i++ {
				_, err := v.WriteSync(batch(n))
				require.NoError(t, err, "after space came back")
				acked[n] = true
				n++
			}
			checkAcked(t, v, acked, "after space came back")
			checkAckedAfterReopen(t, v, dir, opts, acked)
		})
	}
}

// TestFailedFsyncRecoversOnReopen: an fsync that fails (EIO) leaves the WAL unusable (the page
// cache cannot be trusted), the writes it covered are refused, and a reopen shows exactly the
// acknowledged ones.
func TestFailedFsyncRecoversOnReopen(t *testing.T) {
	dir := t.TempDir()
	key := seriesKey(t, "m", "host", "a")
	fault := &vfs.Fault{PathContains: "/wal/", Op: vfs.OpSync}
	fault.Clear()
	defer vfs.Inject(fault)()
	v := openTest(t, dir, Options{Sync: wal.SyncAlways})
	acked := map[int]bool{}
	for n := 0; n < 5; n++ {
		_, err := v.WriteSync(&storage.Batch{Version: 1, Series: []storage.SeriesRows{intRows(key, "v", []int64{int64(n*50 + 0)}, []int64{int64(n)})}})
		require.NoError(t, err)
		acked[n] = true
	}
	fault.Allow(0)
	_, err := v.WriteSync(&storage.Batch{Version: 1, Series: []storage.SeriesRows{intRows(key, "v", []int64{5 * 50}, []int64{5})}})
	require.ErrorIs(t, err, syscall.EIO)
	require.ErrorIs(t, v.Close(), syscall.EIO, "close reports the WAL's failure and still releases the vnode")
	fault.Clear()
	v = openTest(t, dir, Options{Sync: wal.SyncAlways})
	defer v.Close()
	got := scanAll(t, v, "m")
	for n := range acked {
		require.Contains(t, got, fmt.Sprintf("%x/v/%d/%d", key, storage.TypeInt64, n*50))
	}
}

// checkAckedAfterReopen closes v, opens its directory again and requires exactly the acknowledged
// batches, then closes it.
func checkAckedAfterReopen(t *testing.T, v *Vnode, dir string, opts Options, acked map[int]bool) {
	t.Helper()
	require.NoError(t, v.Close())
	v = openTest(t, dir, opts)
	checkAcked(t, v, acked, "after a reopen")
	require.NoError(t, v.Close())
}

// checkAcked requires the vnode to show exactly the acknowledged batches (50 points each).
func checkAcked(t *testing.T, v *Vnode, acked map[int]bool, when string) {
	t.Helper()
	got := map[int]int{}
	s := v.Snapshot()
	defer s.Release()
	require.NoError(t, s.Scan(ScanQuery{Table: "m", MinTime: minTime, MaxTime: maxTime}, func(c *ScanColumn) error {
		if c.Field != "v" {
			return nil // other fields of the same rows
		}
		for i, ts := range c.Points.Times {
			require.Equal(t, ts/50, c.Points.Values.Ints[i])
			got[int(ts/50)]++
		}
		return nil
	}))
	for n := range acked {
		require.Equal(t, 50, got[n], "%s: acknowledged batch %d", when, n)
	}
	for n, c := range got {
		require.True(t, acked[n], "%s: batch %d (%d points) was never acknowledged", when, n, c)
	}
}
