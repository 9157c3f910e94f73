package engine

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"
	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/layout"
	"github.com/chronogo/chronogo/storage/recordfile"
	"github.com/chronogo/chronogo/storage/wal"
)

// recoverFixture writes three flushed files (points 0..299 of host a, one file per 100 points;
// the WAL they came from is removed) and 50 unflushed points (300..349, in the WAL only), closes
// the vnode and returns what a scan must show.
func recoverFixture(t *testing.T, dir string) map[string]string {
	t.Helper()
	v := openTest(t, dir, Options{Sync: wal.SyncAlways})
	key := seriesKey(t, "m", "host", "a")
	write := func(lo, n int) {
		var times, vals []int64
		for i := lo; i < lo+n; i++ {
			times, vals = append(times, int64(i)), append(vals, int64(i*7))
		}
		_, err := v.WriteSync(&storage.Batch{Version: 1, Series: []storage.SeriesRows{intRows(key, "v", times, vals)}})
		require.NoError(t, err)
	}
	for f := 0; f < 3; f++ {
		write(f*100, 100)
		require.NoError(t, v.Flush())
	}
	write(300, 50)
	want := scanAll(t, v, "m")
	require.Len(t, want, 350)
	require.NoError(t, v.Close())
	return want
}

func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	if off < 0 {
		off += int64(len(b))
	}
	b[off] ^= 0x5a
	require.NoError(t, os.WriteFile(path, b, 0o644))
}

func tsmFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, layout.TSMDir, "*"+layout.TSMExt))
	require.NoError(t, err)
	return m
}

// TestRecoveryKeepsAcknowledgedData damages the summary or a TSM file of a closed vnode in each of
// the ways issue #7 found and checks what the reopened vnode shows and logs.
func TestRecoveryKeepsAcknowledgedData(t *testing.T) {
	sumPath := func(dir string) string { return filepath.Join(dir, layout.SummaryFile) }
	cases := []struct {
		name   string
		damage func(t *testing.T, dir string)
		lost   func(want map[string]string) // points the damage really destroys
		log    string                       // an error-level message that must be logged
		files  int                          // live TSM files after the reopen
	}{
		{
			// The last record is the third flush's edit: durable, its WAL records removed. Read as
			// a torn tail, it used to cost the third file (100 acknowledged points).
			name:   "summary last record damaged",
			damage: func(t *testing.T, dir string) { flipByte(t, sumPath(dir), -1) },
			log:    "summary tail was damaged: adopting a TSM file it does not list",
			files:  3,
		},
		{
			name:   "summary last record cut short",
			damage: func(t *testing.T, dir string) { truncateBy(t, sumPath(dir), 3) },
			log:    "summary tail was damaged: adopting a TSM file it does not list",
			files:  3,
		},
		{
			// The first record (the snapshot written at creation) is damaged and valid ones follow.
			name:   "summary corrupt in the middle",
			damage: func(t *testing.T, dir string) { flipByte(t, sumPath(dir), recordfile.HeaderSize+recordfile.FrameSize) },
			log:    "summary is corrupt: rebuilding it from the TSM files",
			files:  3,
		},
		{
			name: "summary is garbage",
			damage: func(t *testing.T, dir string) {
				require.NoError(t, os.WriteFile(sumPath(dir), bytes.Repeat([]byte{7}, 100), 0o644))
			},
			log:   "summary is corrupt: rebuilding it from the TSM files",
			files: 3,
		},
		{
			// A TSM file whose footer is damaged is quarantined; the others and the WAL stay readable.
			name: "tsm footer damaged",
			damage: func(t *testing.T, dir string) {
				flipByte(t, tsmFiles(t, dir)[1], -1)
			},
			lost: func(want map[string]string) {
				for k := range want {
					var ts int
					_, _ = fmt.Sscanf(k[strings.LastIndexByte(k, '/')+1:], "%d", &ts)
					if ts >= 100 && ts < 200 {
						delete(want, k)
					}
				}
			},
			log:   "tsm file is damaged: quarantined",
			files: 2,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			want := recoverFixture(t, dir)
			require.Len(t, tsmFiles(t, dir), 3)
			c.damage(t, dir)
			if c.lost != nil {
				c.lost(want)
			}
			logger, hook := test.NewNullLogger()
			v, err := Open(dir, Options{Sync: wal.SyncAlways, Logger: logger})
			require.NoError(t, err)
			require.Equal(t, want, scanAll(t, v, "m"))
			require.Len(t, v.Stats().Files, c.files)
			var logged []string
			for _, e := range hook.AllEntries() {
				if e.Level == logrus.ErrorLevel {
					logged = append(logged, e.Message)
				}
			}
			require.True(t, containsPrefix(logged, c.log), "error log %q lacks %q", logged, c.log)
			require.NoError(t, v.Close())

			// A second open finds a whole summary and changes nothing.
			hook.Reset()
			v, err = Open(dir, Options{Sync: wal.SyncAlways, Logger: logger})
			require.NoError(t, err)
			require.Equal(t, want, scanAll(t, v, "m"))
			require.Len(t, v.Stats().Files, c.files)
			for _, e := range hook.AllEntries() {
				require.NotEqual(t, logrus.ErrorLevel, e.Level, "second open: %s", e.Message)
			}
			require.NoError(t, v.Close())
		})
	}
}

// TestTornSummaryAfterCrashedFlushKeepsOneCopy: a flush whose edit never became durable (its output
// is an orphan, its points still in the WAL) followed by a torn summary tail: the orphan is adopted
// and the replayed points are the same points, seen once.
func TestTornSummaryAfterCrashedFlushKeepsOneCopy(t *testing.T) {
	dir := t.TempDir()
	want := recoverFixture(t, dir)
	// Make the fourth file as a flush would, then "crash" before its edit: write the edit's bytes
	// torn (a partial record) at the summary's end.
	v := openTest(t, dir, Options{Sync: wal.SyncAlways})
	j := v.StartFlush(true)
	require.NotNil(t, j)
	require.NoError(t, j.Run())
	require.NoError(t, v.Close()) // the job's file stays, the summary never hears of it
	for _, h := range j.handles {
		_ = h.r.Close()
	}
	f, err := os.OpenFile(filepath.Join(dir, layout.SummaryFile), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.Write([]byte{200, 0, 0, 0, 1, 2, 3})
	require.NoError(t, err)
	require.NoError(t, f.Close())

	v = openTest(t, dir, Options{Sync: wal.SyncAlways})
	require.Equal(t, want, scanAll(t, v, "m"))
	require.Len(t, v.Stats().Files, 4)
	require.NoError(t, v.Compact(t.Context(), true))
	require.Equal(t, want, scanAll(t, v, "m"))
	require.NoError(t, v.Close())
}

func truncateBy(t *testing.T, path string, n int64) {
	t.Helper()
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.NoError(t, os.Truncate(path, fi.Size()-n))
}

func containsPrefix(list []string, prefix string) bool {
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

// TestDamagedWALRecordCostsOnlyItsWrite: a byte flipped inside one WAL record in the middle of the
// log used to keep the whole vnode closed; now the vnode opens with every other write, and says
// which record it lost.
func TestDamagedWALRecordCostsOnlyItsWrite(t *testing.T) {
	dir := t.TempDir()
	v := openTest(t, dir, Options{Sync: wal.SyncAlways})
	key := seriesKey(t, "m", "host", "a")
	for n := 0; n < 10; n++ {
		_, err := v.WriteSync(&storage.Batch{Version: 1, Series: []storage.SeriesRows{intRows(key, "v", []int64{int64(n)}, []int64{int64(n * 7)})}})
		require.NoError(t, err)
	}
	require.NoError(t, v.Close())
	segs, err := filepath.Glob(filepath.Join(dir, layout.WALDir, "*"))
	require.NoError(t, err)
	require.Len(t, segs, 1)
	// Record n starts at the header plus n records of equal size: flip a byte inside record 5.
	raw, err := os.ReadFile(segs[0])
	require.NoError(t, err)
	recLen := (len(raw) - recordfile.HeaderSize) / 10
	flipByte(t, segs[0], int64(recordfile.HeaderSize+5*recLen+recLen/2))

	logger, hook := test.NewNullLogger()
	v, err = Open(dir, Options{Sync: wal.SyncAlways, Logger: logger})
	require.NoError(t, err)
	defer v.Close()
	got := scanAll(t, v, "m")
	require.Len(t, got, 9)
	require.NotContains(t, got, fmt.Sprintf("%x/v/%d/%d", key, storage.TypeInt64, 5))
	var logged []string
	for _, e := range hook.AllEntries() {
		if e.Level == logrus.ErrorLevel {
			logged = append(logged, e.Message)
			require.Equal(t, segs[0], e.Data["file"])
			require.Equal(t, int64(recordfile.HeaderSize+5*recLen), e.Data["offset"])
		}
	}
	require.True(t, containsPrefix(logged, "wal: damaged record skipped"), "%q", logged)
}
