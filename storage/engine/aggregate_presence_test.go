package engine

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/wal"
)

// TestImpliedWindows compares the windows computed from a block's metadata with those of its
// points, enumerated one by one, for random blocks, ranges and windows (a window shorter than
// the step, as long as the block, and between).
func TestImpliedWindows(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		n := uint32(1 + r.IntN(50))
		step := int64(1 + r.IntN(20))
		if n == 1 {
			step = 0
		}
		minT := r.Int64N(400) - 200
		maxT := minT + step*int64(n-1)
		lo, hi := r.Int64N(800)-400, r.Int64N(800)-400
		window := []int64{0, 1, 2, 3, 7, 16, 100, 1000}[r.IntN(8)]
		origin := r.Int64N(50) - 25
		windowOf := func(t int64) int64 {
			if window <= 0 {
				return lo
			}
			return origin + storage.FloorDiv(t-origin, window)*window
		}
		want := map[int64]bool{}
		for i := range int64(n) {
			if p := minT + i*step; p >= lo && p <= hi {
				want[windowOf(p)] = true
			}
		}
		got, ok := impliedWindows(nil, minT, maxT, n, lo, hi, window, windowOf)
		require.True(t, ok)
		gotSet := map[int64]bool{}
		for _, w := range got {
			gotSet[w] = true
		}
		require.Equal(t, want, gotSet, "n %d step %d [%d, %d] range [%d, %d] window %d origin %d", n, step, minT, maxT, lo, hi, window, origin)
	}
	// times that are not evenly spaced are refused
	_, ok := impliedWindows(nil, 0, 10, 4, 0, 10, 1, func(t int64) int64 { return t })
	require.False(t, ok)
}

// TestAggregateValueFields: with ValueFields, the value columns' results are the full
// aggregate's, and the presence marks of the other columns fill in exactly the windows where the
// series has points in no value column: together they cover the windows of the full aggregate,
// each once. Data mixes regular columns (implied times, flushed), irregular ones, unflushed
// points and a delete.
func TestAggregateValueFields(t *testing.T) {
	const step = int64(10e9)
	v := openTest(t, t.TempDir(), Options{Sync: wal.SyncNever})
	defer v.Close()
	r := rand.New(rand.NewPCG(5, 6))
	hosts := []string{"h0", "h1", "h2", "h3", "h4", "h5"}
	version := uint64(1)
	write := func(h int, times []int64, fields ...string) {
		var cols []storage.FieldColumn
		for _, f := range fields {
			typ := storage.TypeInt64
			if f == "b" {
				typ = storage.TypeDouble
			}
			cols = append(cols, storage.FieldColumn{Name: f, Values: randomValues(r, typ, len(times))})
		}
		b := &storage.Batch{Version: version, Series: []storage.SeriesRows{{Key: seriesKey(t, "cpu", "host", hosts[h]), Times: times, Fields: cols}}}
		version++
		_, err := v.WriteSync(b)
		require.NoError(t, err)
	}
	regular := func(from int64, n int) []int64 {
		times := make([]int64, n)
		for i := range times {
			times[i] = from + int64(i)*step
		}
		return times
	}
	for h := range hosts {
		// a and b: 2 h of regular points; c: sparse, partly where a has no point; d: only some hosts
		write(h, regular(0, 720), "a", "b")
		var sparse []int64
		for tm := int64(-30 * step); tm < 900*step; tm += step * int64(7+r.IntN(40)) {
			sparse = append(sparse, tm+int64(r.IntN(9))*1e9)
		}
		write(h, sparse, "c")
		if h%2 == 0 {
			write(h, regular(800*step, 100), "d")
		}
	}
	require.NoError(t, v.Flush())
	write(1, regular(1000*step, 30), "c") // unflushed: in the cache
	write(4, regular(700*step, 40), "d")
	require.NoError(t, v.Delete("cpu", hostIs("h2"), 100*step, 200*step, 1<<40))

	type res struct {
		series storage.SeriesID
		field  string
		start  int64
		text   string
	}
	run := func(q AggQuery) ([]res, AggStats) {
		s := v.Snapshot()
		defer s.Release()
		var out []res
		st, err := s.Aggregate(q, func(r *AggResult) error {
			out = append(out, res{r.Series, r.Field, r.Start, fmt.Sprintf("%d/%d %d %d %d %v %v %d %d", r.Type, r.Count, r.Sum, r.Min, r.Max, r.FSum, r.FMax, r.FirstTime, r.LastTime)})
			return nil
		})
		require.NoError(t, err)
		return out, st
	}
	fromMeta := 0
	for _, window := range []int64{0, 1e9, 60 * step, 3600e9} {
		for _, rng := range [][2]int64{{math.MinInt64, math.MaxInt64}, {50 * step, 400*step + 3e9}, {750 * step, 1100 * step}} {
			for _, fields := range [][]string{{"a"}, {"a", "c"}, {"d"}, {"nothing"}} {
				base := AggQuery{ScanQuery: ScanQuery{Table: "cpu", MinTime: rng[0], MaxTime: rng[1]}, Window: window, Origin: 5e9}
				full, _ := run(base)
				q := base
				q.ValueFields = fields
				got, st := run(q)
				fromMeta += st.PresenceFromMeta
				name := fmt.Sprintf("window %d range %v fields %v", window, rng, fields)

				var wantValues, gotValues []res
				wantWindows := map[storage.SeriesID]map[int64]bool{}
				for _, x := range full {
					if slices.Contains(fields, x.field) {
						wantValues = append(wantValues, x)
					}
					if wantWindows[x.series] == nil {
						wantWindows[x.series] = map[int64]bool{}
					}
					wantWindows[x.series][x.start] = true
				}
				gotWindows := map[storage.SeriesID]map[int64]bool{}
				valueWindows := map[storage.SeriesID]map[int64]bool{}
				marking := map[storage.SeriesID]bool{} // the series' marks began
				for _, x := range got {
					if gotWindows[x.series] == nil {
						gotWindows[x.series], valueWindows[x.series] = map[int64]bool{}, map[int64]bool{}
					}
					if slices.Contains(fields, x.field) {
						require.False(t, marking[x.series], "%s: a value column after presence marks", name)
						gotValues = append(gotValues, x)
						valueWindows[x.series][x.start] = true
					} else {
						marking[x.series] = true
						require.Contains(t, x.text, "/1 0 0 0 0 0 0 0", "%s: a presence mark carries only Count 1", name)
						require.False(t, gotWindows[x.series][x.start], "%s: window %d marked twice or after a value", name, x.start)
					}
					gotWindows[x.series][x.start] = true
				}
				require.Equal(t, wantValues, gotValues, name)
				require.Equal(t, wantWindows, gotWindows, name)
			}
		}
	}
	require.Positive(t, fromMeta, "some presence came from block metadata")
}
