package engine

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/wal"
)

// TestScanStats: a scan counts the series it matched, the blocks it decoded and those it left
// outside its time range, and the memcache columns it read. Three flushed rounds of equal size
// (one file each) and a fourth in the cache; a narrow range inside the second round reads only
// part of that file's blocks.
func TestScanStats(t *testing.T) {
	v := openTest(t, t.TempDir(), Options{Sync: wal.SyncNever})
	defer v.Close()
	a, b := seriesKey(t, "m", "host", "a"), seriesKey(t, "m", "host", "b")
	const perRound = 10000
	for round := 0; round < 4; round++ {
		var times, vals []int64
		for i := 0; i < perRound; i++ {
			ts := int64(round*perRound+i) * 10
			times, vals = append(times, ts), append(vals, ts)
		}
		_, err := v.WriteSync(&storage.Batch{Version: 1, Series: []storage.SeriesRows{intRows(a, "x", times, vals), intRows(b, "x", times, vals)}})
		require.NoError(t, err)
		if round < 3 {
			require.NoError(t, v.Flush())
		}
	}
	scan := func(q ScanQuery) (ScanStats, int) {
		var st ScanStats
		q.Stats = &st
		s := v.Snapshot()
		defer s.Release()
		n := 0
		require.NoError(t, s.Scan(q, func(c *ScanColumn) error { n += c.Points.Len(); return nil }))
		return st, n
	}
	full, n := scan(ScanQuery{Table: "m", MinTime: minTime, MaxTime: maxTime})
	require.Equal(t, 2*4*perRound, n)
	require.EqualValues(t, 2, full.Series)
	require.Zero(t, full.BlocksSkipped)
	require.EqualValues(t, 2, full.CacheColumns, "the fourth round of each series is in the cache")
	require.Zero(t, full.BlocksRead%6, "three files of two equal columns: %d blocks", full.BlocksRead)
	perFile := full.BlocksRead / 6 // blocks of one column in one file
	require.Greater(t, perFile, int64(2), "rounds must span several blocks for this test")

	// one series, a tenth of the second round: one file, a part of its blocks
	lo := int64(perRound+perRound/2) * 10
	narrow, n := scan(ScanQuery{Table: "m", Filter: hostIs("a"), MinTime: lo, MaxTime: lo + perRound/10*10 - 1})
	require.Equal(t, perRound/10, n)
	require.EqualValues(t, 1, narrow.Series)
	require.Zero(t, narrow.CacheColumns)
	require.Equal(t, perFile, narrow.BlocksRead+narrow.BlocksSkipped, "only the second file overlaps the range")
	require.Less(t, narrow.BlocksRead, perFile)
	require.GreaterOrEqual(t, narrow.BlocksRead, int64(1))
}
