package engine

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/wal"
)

// TestScanSlicesBoundRowsAndKeepEveryPoint: a scan with SliceRows delivers each big series in time
// slices (Part 0, 1, ... in time order, not overlapping) of about SliceRows rows, and exactly the
// points of the unsliced scan, from files and caches alike.
func TestScanSlicesBoundRowsAndKeepEveryPoint(t *testing.T) {
	v := openTest(t, t.TempDir(), Options{Sync: wal.SyncNever})
	defer v.Close()
	big, small := seriesKey(t, "m", "host", "big"), seriesKey(t, "m", "host", "small")
	for round := 0; round < 4; round++ {
		var times, vals []int64
		for i := 0; i < 2500; i++ {
			ts := int64(round*2500+i) * 10
			times, vals = append(times, ts), append(vals, ts*3)
		}
		b := &storage.Batch{Version: 1, Series: []storage.SeriesRows{
			intRows(big, "a", times, vals), intRows(big, "b", times, vals), intRows(small, "a", times[:3], vals[:3])}}
		_, err := v.WriteSync(b)
		require.NoError(t, err)
		if round < 3 {
			require.NoError(t, v.Flush()) // three files and a cache
		}
	}
	scan := func(q ScanQuery) (map[string]int64, map[string][]int) {
		pts := map[string]int64{}
		rows := map[string][]int{} // series -> rows per part (field a)
		last := map[string][2]int64{}
		s := v.Snapshot()
		defer s.Release()
		require.NoError(t, s.Scan(q, func(c *ScanColumn) error {
			k, _ := s.SeriesKey(c.Series)
			host := string(k.Tags[0].Value.Raw)
			for i, ts := range c.Points.Times {
				key := fmt.Sprintf("%s/%s/%d", host, c.Field, ts)
				_, dup := pts[key]
				require.False(t, dup, "point %s twice", key)
				pts[key] = c.Points.Values.Ints[i]
			}
			if c.Field == "a" {
				p := last[host]
				require.True(t, c.Part == 0 || c.Part > int(p[0]) || len(rows[host]) == 0, "parts in order")
				if len(rows[host]) > 0 {
					require.Greater(t, c.Points.Times[0], p[1], "slices overlap")
				}
				rows[host] = append(rows[host], c.Points.Len())
				last[host] = [2]int64{int64(c.Part), c.Points.Times[c.Points.Len()-1]}
			}
			return nil
		}))
		return pts, rows
	}
	for _, r := range [][2]int64{{minTime, maxTime}, {12345, 67890}} {
		q := ScanQuery{Table: "m", MinTime: r[0], MaxTime: r[1]}
		want, wantRows := scan(q)
		if r[0] == minTime {
			require.Len(t, want, 2*10000+12)
		}
		require.Len(t, wantRows["big"], 1, "no slices without SliceRows")
		q.SliceRows = 500
		got, gotRows := scan(q)
		require.Equal(t, want, got)
		require.Len(t, gotRows["small"], 1, "a small series is one part")
		n := wantRows["big"][0]
		require.InDelta(t, n/500+1, len(gotRows["big"]), 2, "parts of %d rows: %v", n, gotRows["big"])
		for _, rows := range gotRows["big"] {
			require.LessOrEqual(t, rows, 2*500, "a part of %d rows: %v", rows, gotRows["big"])
		}
	}
}
