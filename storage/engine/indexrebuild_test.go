package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"
	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/index"
	"github.com/chronogo/chronogo/storage/layout"
	"github.com/chronogo/chronogo/storage/wal"
)

// indexFixture writes hosts 0..49 (file 1), hosts 25..74 (file 2) and, in the WAL only, hosts
// 70..84; it returns what a scan must show and the number of series.
func indexFixture(t *testing.T, dir string) (map[string]string, int) {
	t.Helper()
	v := openTest(t, dir, Options{Sync: wal.SyncAlways})
	write := func(lo, hi int, t0 int64) {
		var rows []storage.SeriesRows
		for h := lo; h < hi; h++ {
			rows = append(rows, intRows(seriesKey(t, "m", "host", fmt.Sprintf("h%03d", h)), "v",
				[]int64{t0, t0 + 1}, []int64{int64(h), int64(h) * 2}))
		}
		_, err := v.WriteSync(&storage.Batch{Version: 1, Series: rows})
		require.NoError(t, err)
	}
	write(0, 50, 100)
	require.NoError(t, v.Flush())
	write(25, 75, 200)
	require.NoError(t, v.Flush())
	write(70, 85, 300)
	want := scanAll(t, v, "m")
	require.NoError(t, v.Close())
	return want, 85
}

// TestDamagedIndexRebuiltFromTSM is issue #7's "a damaged index makes the whole vnode unreadable":
// the index is rebuilt from the TSM files' series-key tables and the WAL, every acknowledged point
// stays readable under its own series, and new series do not reuse the files' ids.
func TestDamagedIndexRebuiltFromTSM(t *testing.T) {
	indexDir := func(dir string) string { return filepath.Join(dir, layout.IndexDir) }
	cases := []struct {
		name   string
		damage func(t *testing.T, dir string)
		log    string
	}{
		{"snapshot damaged in the middle", func(t *testing.T, dir string) {
			snap := filepath.Join(indexDir(dir), index.SnapshotFileName)
			st, err := os.Stat(snap)
			require.NoError(t, err)
			flipByte(t, snap, st.Size()/2)
		}, "series index is damaged: rebuilding it from the TSM files"},
		{"log header damaged", func(t *testing.T, dir string) {
			logs, err := filepath.Glob(filepath.Join(indexDir(dir), "index-*.log"))
			require.NoError(t, err)
			require.NotEmpty(t, logs)
			flipByte(t, logs[0], 2)
		}, "series index is damaged: rebuilding it from the TSM files"},
		{"snapshot is garbage", func(t *testing.T, dir string) {
			require.NoError(t, os.WriteFile(filepath.Join(indexDir(dir), index.SnapshotFileName), []byte("garbage, not a snapshot"), 0o644))
		}, "series index is damaged: rebuilding it from the TSM files"},
		{"index directory removed", func(t *testing.T, dir string) {
			require.NoError(t, os.RemoveAll(indexDir(dir)))
		}, "series index lacks series that TSM files hold"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			want, nSeries := indexFixture(t, dir)
			c.damage(t, dir)
			logger, hook := test.NewNullLogger()
			v, err := Open(dir, Options{Sync: wal.SyncAlways, Logger: logger})
			require.NoError(t, err)
			require.Equal(t, want, scanAll(t, v, "m"))
			require.Equal(t, nSeries, v.idx.Len(), "each series once, under one id")
			var logged []string
			for _, e := range hook.AllEntries() {
				if e.Level == logrus.ErrorLevel {
					logged = append(logged, e.Message)
				}
			}
			require.True(t, containsPrefix(logged, c.log), "error log %q lacks %q", logged, c.log)

			// a new series takes an id past every id in the files
			var maxInc uint64
			for _, h := range v.cur.files {
				for _, e := range h.r.Entries() {
					maxInc = max(maxInc, e.Key.Series.AutoInc())
				}
			}
			key := seriesKey(t, "m", "host", "new")
			_, err = v.WriteSync(&storage.Batch{Version: 2, Series: []storage.SeriesRows{intRows(key, "v", []int64{5}, []int64{5})}})
			require.NoError(t, err)
			id, ok := v.idx.Lookup(key)
			require.True(t, ok)
			require.Greater(t, id.AutoInc(), maxInc)
			want = scanAll(t, v, "m")
			require.NoError(t, v.Close())

			hook.Reset()
			v, err = Open(dir, Options{Sync: wal.SyncAlways, Logger: logger})
			require.NoError(t, err)
			require.Equal(t, want, scanAll(t, v, "m"))
			for _, e := range hook.AllEntries() {
				require.False(t, e.Level == logrus.ErrorLevel && strings.Contains(e.Message, "index"), "second open: %s", e.Message)
			}
			require.NoError(t, v.Close())
		})
	}
}

// copyDir copies a vnode directory (the LOCK file too): a crash image of a vnode that is open.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	require.NoError(t, filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		require.NoError(t, err)
		rel, _ := filepath.Rel(src, p)
		if info.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	}))
}

// TestDamagedIndexLogAfterCrash: series created since the last index snapshot live in an index log
// record. Damage to the last one after a crash reads as a torn tail and is cut off; the series it
// named that a TSM file holds are named again from the file's series-key table, and the WAL replay
// names those only the WAL holds.
func TestDamagedIndexLogAfterCrash(t *testing.T) {
	dir := t.TempDir()
	indexFixture(t, dir)
	v := openTest(t, dir, Options{Sync: wal.SyncAlways})
	var rows []storage.SeriesRows
	pad := strings.Repeat("p", 100) // enough keys to pass the index's 256 KiB write buffer
	for h := 85; h < 3085; h++ {
		rows = append(rows, intRows(seriesKey(t, "m", "host", fmt.Sprintf("h%04d%s", h, pad)), "v", []int64{400}, []int64{int64(h)}))
	}
	_, err := v.WriteSync(&storage.Batch{Version: 3, Series: rows})
	require.NoError(t, err)
	require.NoError(t, v.Flush()) // file 3 holds them; the index log's last record names them
	rows = rows[:0]
	for h := 3085; h < 3100; h++ { // and these are in the WAL only
		rows = append(rows, intRows(seriesKey(t, "m", "host", fmt.Sprintf("h%04d", h)), "v", []int64{500}, []int64{int64(h)}))
	}
	_, err = v.WriteSync(&storage.Batch{Version: 4, Series: rows})
	require.NoError(t, err)
	want := scanAll(t, v, "m")
	crashed := t.TempDir()
	copyDir(t, dir, crashed)
	require.NoError(t, v.Close())

	logs, err := filepath.Glob(filepath.Join(crashed, layout.IndexDir, "index-*.log"))
	require.NoError(t, err)
	require.Len(t, logs, 1)
	st, err := os.Stat(logs[0])
	require.NoError(t, err)
	require.Greater(t, st.Size(), int64(100), "the new series are in the log")
	flipByte(t, logs[0], 30) // inside the first record after the 20-byte header

	logger, hook := test.NewNullLogger()
	v, err = Open(crashed, Options{Sync: wal.SyncAlways, Logger: logger})
	require.NoError(t, err)
	defer v.Close()
	require.Equal(t, want, scanAll(t, v, "m"))
	require.Equal(t, 3100, v.idx.Len())
	var logged []string
	for _, e := range hook.AllEntries() {
		if e.Level == logrus.ErrorLevel {
			logged = append(logged, e.Message)
		}
	}
	// the damaged record is the log's last, so it reads as a torn tail; the files' series it named
	// are named again from the files, the WAL's from the WAL
	require.True(t, containsPrefix(logged, "series index lacks series that TSM files hold"), "%q", logged)
}
