package engine

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/tsm"
	"github.com/chronogo/chronogo/storage/wal"
)

// TestAggregateHourSums: SumsOnly aggregates by whole hours fold blocks from their hour sums, and
// give the counts, sums and first/last times a plain model computes from the points written, with
// overwrites, deletes and unflushed points mixed in; ranges or windows that cut hours decode.
func TestAggregateHourSums(t *testing.T) {
	const (
		hour   = tsm.HourSpan
		step   = int64(10e9)
		t0     = int64(1_451_606_400e9) // 2016-01-01T00:00:00Z
		nhosts = 12
		npts   = 30 * 360 // 30 h of 10 s points
	)
	v := openTest(t, t.TempDir(), Options{Sync: wal.SyncNever})
	defer v.Close()
	r := rand.New(rand.NewPCG(11, 12))
	type point struct {
		i int64
		f float64
	}
	model := map[int]map[int64]point{} // host -> time -> values
	keys := make([][]byte, nhosts)
	for h := range nhosts {
		keys[h] = seriesKey(t, "cpu", "host", fmt.Sprintf("h%02d", h))
		model[h] = map[int64]point{}
	}
	version := uint64(1)
	write := func(h int, times []int64) {
		ints := make([]int64, len(times))
		floats := make([]float64, len(times))
		for i, tm := range times {
			ints[i] = r.Int64N(2001) - 1000
			floats[i] = math.Round(r.NormFloat64()*1e4) / 64 // exact in binary: float sums are exact too
			model[h][tm] = point{ints[i], floats[i]}
		}
		b := &storage.Batch{Version: version, Series: []storage.SeriesRows{{Key: keys[h], Times: times, Fields: []storage.FieldColumn{
			{Name: "i", Values: storage.Values{Type: storage.TypeInt64, Ints: ints}},
			{Name: "f", Values: storage.Values{Type: storage.TypeDouble, Floats: floats}}}}}}
		version++
		_, err := v.WriteSync(b)
		require.NoError(t, err)
	}
	// 30 h per host in 3 h writes, flushed and compacted into 4000-point blocks
	for lo := 0; lo < npts; lo += 1080 {
		for h := range nhosts {
			times := make([]int64, 1080)
			for i := range times {
				times[i] = t0 + int64(lo+i)*step + int64(h)*1e9
			}
			write(h, times)
		}
		require.NoError(t, v.Flush())
	}
	require.NoError(t, v.Compact(context.Background(), true))
	// host 1: a few points overwritten (a newer file overlaps its blocks); every host: a deleted range;
	// host 3: points still in the memcache
	write(1, []int64{t0 + 5*hour + 1e9 + 100*step, t0 + 20*hour + 1e9})
	require.NoError(t, v.Flush())
	require.NoError(t, v.Delete("cpu", nil, t0+7*hour, t0+7*hour+30*60e9, version))
	for _, pts := range model {
		for tm := range pts {
			if tm >= t0+7*hour && tm <= t0+7*hour+30*60e9 {
				delete(pts, tm)
			}
		}
	}
	version++
	write(3, []int64{t0 + 12*hour + 3e9 + 5*step})

	type agg struct {
		count, sum          int64
		fsum                float64
		firstTime, lastTime int64
	}
	check := func(lo, hi, window, origin int64, wantSums bool) {
		t.Helper()
		want := map[string]agg{}
		for h, pts := range model {
			for tm, p := range pts {
				if tm < lo || tm > hi {
					continue
				}
				start := lo
				if window > 0 {
					start = origin + storage.FloorDiv(tm-origin, window)*window
				}
				for _, f := range []string{"i", "f"} {
					k := fmt.Sprintf("%d/%s/%d", h, f, start)
					a, ok := want[k]
					if !ok {
						a = agg{firstTime: tm, lastTime: tm}
					}
					a.count++
					if f == "i" {
						a.sum += p.i
					} else {
						a.fsum += p.f
					}
					a.firstTime, a.lastTime = min(a.firstTime, tm), max(a.lastTime, tm)
					want[k] = a
				}
			}
		}
		got := map[string]agg{}
		s := v.Snapshot()
		defer s.Release()
		hostOf := map[string]int{}
		for h, k := range keys {
			hostOf[string(k)] = h
		}
		st, err := s.Aggregate(AggQuery{ScanQuery: ScanQuery{Table: "cpu", MinTime: lo, MaxTime: hi}, Window: window, Origin: origin, SumsOnly: true},
			func(res *AggResult) error {
				k, ok := s.SeriesKey(res.Series)
				require.True(t, ok)
				h, ok := hostOf[string(k.Marshal(nil))]
				require.True(t, ok)
				require.False(t, res.SumOverflow)
				got[fmt.Sprintf("%d/%s/%d", h, res.Field, res.Start)] = agg{res.Count, res.Sum, res.FSum, res.FirstTime, res.LastTime}
				return nil
			})
		require.NoError(t, err)
		require.Equal(t, want, got, "range [%d, %d] window %d origin %d", lo-t0, hi-t0, window, origin)
		if wantSums {
			require.Positive(t, st.BlocksFromSums, "range [%d, %d] window %d: hour sums used", lo-t0, hi-t0, window)
		} else {
			require.Zero(t, st.BlocksFromSums, "range [%d, %d] window %d: hours cut", lo-t0, hi-t0, window)
		}
	}
	check(t0, t0+12*hour-1, hour, 0, true)            // the Q2 shape
	check(t0+2*hour, t0+26*hour-1, 3*hour, t0, true)  // 3 h windows
	check(t0+hour, t0+29*hour-1, 0, 0, true)          // one window, edges on hours
	check(t0-5*hour, t0+40*hour, 24*hour, 0, true)    // days, the range wider than the data
	check(t0+90e9, t0+25*hour+7, hour, 0, true)       // edges inside the first and last blocks: those decode
	check(t0, t0+12*hour-1, 30*60e9, 0, false)        // half-hour windows cut hours
	check(t0, t0+12*hour-1, hour, 60e9, false)        // windows a minute off the hour
	check(t0+10*hour+1, t0+12*hour-2, hour, 0, false) // both edges cut hours
}
