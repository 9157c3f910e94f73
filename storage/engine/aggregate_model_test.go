package engine

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/wal"
)

// aggModel computes the expected aggregates from scanned-independent model points:
// "keyhex/field/type/start" -> "count sum min max first last".
func (m *model) aggregates(table string, lo, hi, window, origin int64) map[string]string {
	type acc struct {
		count         int64
		sum, min, max float64
		first, last   string
		firstT, lastT int64
	}
	accs := map[string]*acc{}
	for k, val := range m.visible(table) {
		parts := strings.Split(k, "/")
		ts, _ := strconv.ParseInt(parts[3], 10, 64)
		typ, _ := strconv.Atoi(parts[2])
		if ts < lo || ts > hi || storage.FieldType(typ).Class() == storage.ClassBytes {
			continue
		}
		start := lo
		if window > 0 {
			start = origin + storage.FloorDiv(ts-origin, window)*window
		}
		key := fmt.Sprintf("%s/%s/%s/%d", parts[0], parts[1], parts[2], start)
		var f float64
		switch val[0] {
		case 'i':
			n, _ := strconv.ParseInt(val[1:], 10, 64)
			f = float64(n)
		case 'f':
			f, _ = strconv.ParseFloat(val[1:], 64)
		case 'b':
			if val == "btrue" {
				f = 1
			}
		}
		a := accs[key]
		if a == nil {
			a = &acc{min: math.Inf(1), max: math.Inf(-1), firstT: math.MaxInt64, lastT: math.MinInt64}
			accs[key] = a
		}
		a.count++
		a.sum += f
		a.min, a.max = math.Min(a.min, f), math.Max(a.max, f)
		if ts < a.firstT {
			a.firstT, a.first = ts, fmt.Sprint(f)
		}
		if ts > a.lastT {
			a.lastT, a.last = ts, fmt.Sprint(f)
		}
	}
	out := map[string]string{}
	for k, a := range accs {
		out[k] = fmt.Sprintf("%d %v %v %v %s %s", a.count, a.sum, a.min, a.max, a.first, a.last)
	}
	return out
}

func engineAggregates(t testing.TB, v *Vnode, table string, lo, hi, window, origin int64) (map[string]string, AggStats) {
	s := v.Snapshot()
	defer s.Release()
	out := map[string]string{}
	st, err := s.Aggregate(AggQuery{ScanQuery: ScanQuery{Table: table, MinTime: lo, MaxTime: hi}, Window: window, Origin: origin}, func(r *AggResult) error {
		if r.Type.Class() == storage.ClassBytes {
			return nil
		}
		k, ok := s.SeriesKey(r.Series)
		require.True(t, ok)
		key := fmt.Sprintf("%x/%s/%d/%d", k.Marshal(nil), r.Field, r.Type, r.Start)
		if r.Type.Class() == storage.ClassFloat {
			out[key] = fmt.Sprintf("%d %v %v %v %v %v", r.Count, r.FSum, r.FMin, r.FMax, r.FFirst, r.FLast)
		} else {
			require.False(t, r.SumOverflow)
			out[key] = fmt.Sprintf("%d %v %v %v %v %v", r.Count, float64(r.Sum), float64(r.Min), float64(r.Max), float64(r.First), float64(r.Last))
		}
		return nil
	})
	require.NoError(t, err)
	return out, st
}

// TestAggregateManySeriesParallel covers the parallel path (enough series for several workers).
func TestAggregateManySeriesParallel(t *testing.T) {
	v := openTest(t, t.TempDir(), Options{Sync: wal.SyncNever, CacheSize: 64 << 10})
	defer v.Close()
	m := &model{points: map[string]modelPoint{}, series: map[string]modelSeries{}, expired: math.MinInt64}
	r := rand.New(rand.NewPCG(7, 7))
	for round := 0; round < 5; round++ {
		b := &storage.Batch{Version: uint64(round)}
		for h := 0; h < 150; h++ {
			key := seriesKey(t, "cpu", "host", fmt.Sprintf("h%03d", h))
			m.series[fmt.Sprintf("%x", key)] = modelSeries{"cpu", fmt.Sprintf("h%03d", h)}
			times := make([]int64, 40)
			for i := range times {
				times[i] = int64(r.IntN(2000))
			}
			b.Series = append(b.Series, storage.SeriesRows{Key: key, Times: times, Fields: []storage.FieldColumn{
				{Name: "f", Values: randomValues(r, storage.TypeInt64, len(times))},
				{Name: "g", Values: randomValues(r, storage.TypeDouble, len(times))}}})
		}
		_, err := v.WriteSync(b)
		require.NoError(t, err)
		m.write(b)
		if round%2 == 1 {
			require.NoError(t, v.Flush())
		}
	}
	for _, window := range []int64{0, 100, 700} {
		want := m.aggregates("cpu", 0, 1999, window, 3)
		got, _ := engineAggregates(t, v, "cpu", 0, 1999, window, 3)
		require.Equal(t, want, got, "window %d", window)
	}
	// a callback error stops the aggregate at once, and every worker is done when it returns
	stopAt := errors.New("enough")
	s := v.Snapshot()
	n := 0
	_, err := s.Aggregate(AggQuery{ScanQuery: ScanQuery{Table: "cpu", MinTime: 0, MaxTime: 1999}, Window: 100}, func(*AggResult) error {
		if n++; n == 5 {
			return stopAt
		}
		return nil
	})
	s.Release()
	require.ErrorIs(t, err, stopAt)
	require.Equal(t, 5, n)
	require.Zero(t, liveAggWorkers.Load(), "workers outlived the call")
}

// requireLastOnlyMatches checks that a LastOnly aggregate gives the full aggregate's last point
// (time and value) for every column.
func requireLastOnlyMatches(t testing.TB, v *Vnode, table string, lo, hi int64) {
	t.Helper()
	s := v.Snapshot()
	defer s.Release()
	last := func(lastOnly bool) map[string]string {
		out := map[string]string{}
		_, err := s.Aggregate(AggQuery{ScanQuery: ScanQuery{Table: table, MinTime: lo, MaxTime: hi}, LastOnly: lastOnly}, func(r *AggResult) error {
			key := fmt.Sprintf("%d/%s/%d", r.Series, r.Field, r.Type)
			switch r.Type.Class() {
			case storage.ClassFloat:
				out[key] = fmt.Sprintf("%d %v", r.LastTime, r.FLast)
			case storage.ClassBytes:
				out[key] = fmt.Sprintf("%d %q", r.LastTime, r.LastBytes)
			default:
				out[key] = fmt.Sprintf("%d %d", r.LastTime, r.Last)
			}
			return nil
		})
		require.NoError(t, err)
		return out
	}
	require.Equal(t, last(false), last(true), "LastOnly [%d, %d]", lo, hi)
}
