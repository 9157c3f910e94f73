package engine

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/wal"
)

// digestsOf maps "series key/window" to "points hash" for a vnode's table.
func digestsOf(t *testing.T, v *Vnode, table string, window int64) map[string]string {
	t.Helper()
	s := v.Snapshot()
	defer s.Release()
	out := map[string]string{}
	require.NoError(t, s.Digests(DigestQuery{Table: table, MinTime: math.MinInt64, MaxTime: math.MaxInt64, Window: window}, func(d *SeriesDigest) error {
		k, ok := s.SeriesKey(d.Series)
		require.True(t, ok)
		out[fmt.Sprintf("%x/%d", k.Marshal(nil), d.Start)] = fmt.Sprintf("%d %x", d.Points, d.Hash)
		return nil
	}))
	return out
}

// visiblePoints is every visible point of a table as "series/field/time" -> value.
func visiblePoints(t *testing.T, v *Vnode, table string) map[string]string {
	t.Helper()
	s := v.Snapshot()
	defer s.Release()
	out := map[string]string{}
	require.NoError(t, s.Scan(ScanQuery{Table: table, MinTime: math.MinInt64, MaxTime: math.MaxInt64}, func(c *ScanColumn) error {
		k, _ := s.SeriesKey(c.Series)
		for i, tm := range c.Points.Times {
			var val any
			switch c.Points.Values.Type.Class() {
			case storage.ClassFloat:
				val = c.Points.Values.Floats[i]
			case storage.ClassInt:
				val = c.Points.Values.Ints[i]
			case storage.ClassBool:
				val = c.Points.Values.Bools[i]
			default:
				val = string(c.Points.Values.Bytes[i])
			}
			out[fmt.Sprintf("%x/%s/%d/%d", k.Marshal(nil), c.Field, c.Points.Values.Type, tm)] = fmt.Sprint(val)
		}
		return nil
	}))
	return out
}

// copyRepair writes every point of from's series (with their versions) into to.
func copyRepair(t *testing.T, from, to *Vnode, table string, keys [][]byte) int {
	t.Helper()
	s := from.Snapshot()
	defer s.Release()
	data, err := s.RepairRead(table, keys, math.MinInt64, math.MaxInt64, 0)
	require.NoError(t, err)
	require.False(t, data.More)
	n := 0
	for _, b := range data.Batches {
		require.NoError(t, b.Validate())
		_, err := to.WriteSync(b)
		require.NoError(t, err)
		for _, sr := range b.Series {
			for _, f := range sr.Fields {
				n += f.Values.Len()
			}
		}
	}
	return n
}

// TestDigestsAndRepair: two replicas given the same writes in different flush orders have the
// same digests; writes one of them missed make exactly their windows differ; copying each
// replica's points with their versions to the other makes both show the last-write-wins union
// (equal to a replica that got every write) and their digests equal. A delete one replica has
// and the other lacks is not undone by the copy: the deleted points stay hidden where the delete
// is, and the window keeps differing.
func TestDigestsAndRepair(t *testing.T) {
	const window = int64(3600e9)
	open := func() *Vnode { return openTest(t, t.TempDir(), Options{Sync: wal.SyncNever}) }
	a, b, ref := open(), open(), open()
	defer a.Close()
	defer b.Close()
	defer ref.Close()
	r := rand.New(rand.NewPCG(8, 9))
	var batches []*storage.Batch
	for i := range 12 {
		times := make([]int64, 50)
		for j := range times {
			times[j] = int64(r.IntN(6*3600)) * 1e9
		}
		batches = append(batches, &storage.Batch{Version: uint64(i + 1), Series: []storage.SeriesRows{
			{Key: seriesKey(t, "cpu", "host", fmt.Sprintf("h%d", i%3)), Times: times, Fields: []storage.FieldColumn{
				{Name: "f", Values: randomValues(r, storage.TypeDouble, len(times))},
				{Name: "s", Values: randomValues(r, storage.TypeString, len(times))}}}}})
	}
	write := func(v *Vnode, bs ...*storage.Batch) {
		for _, bt := range bs {
			_, err := v.WriteSync(bt)
			require.NoError(t, err)
		}
	}
	// a gets everything in order with flushes; b in reverse order without; ref in order
	for i, bt := range batches {
		write(a, bt)
		if i%4 == 3 {
			require.NoError(t, a.Flush())
		}
	}
	for i := len(batches) - 1; i >= 0; i-- {
		write(b, batches[i])
	}
	write(ref, batches...)
	require.Equal(t, visiblePoints(t, ref, "cpu"), visiblePoints(t, b, "cpu"))
	require.Equal(t, digestsOf(t, a, "cpu", window), digestsOf(t, b, "cpu", window), "same points, same digests")

	// a misses one write, b another
	extraA := &storage.Batch{Version: 100, Series: []storage.SeriesRows{{Key: seriesKey(t, "cpu", "host", "h1"), Times: []int64{7200e9 + 5}, Fields: []storage.FieldColumn{
		{Name: "f", Values: storage.Values{Type: storage.TypeDouble, Floats: []float64{1.5}}}}}}}
	extraB := &storage.Batch{Version: 101, Series: []storage.SeriesRows{{Key: seriesKey(t, "cpu", "host", "h2"), Times: batches[2].Series[0].Times[:3], Fields: []storage.FieldColumn{
		{Name: "f", Values: storage.Values{Type: storage.TypeDouble, Floats: []float64{9, 8, 7}}}}}}}
	write(a, extraA)
	write(b, extraB)
	write(ref, extraA, extraB)
	da, db := digestsOf(t, a, "cpu", window), digestsOf(t, b, "cpu", window)
	var differ []string
	for k, v := range da {
		if db[k] != v {
			differ = append(differ, k)
		}
	}
	for k := range db {
		if _, ok := da[k]; !ok {
			differ = append(differ, k)
		}
	}
	wantDiffer := map[string]bool{}
	for _, bt := range []*storage.Batch{extraA, extraB} {
		for _, tm := range bt.Series[0].Times {
			wantDiffer[fmt.Sprintf("%x/%d", bt.Series[0].Key, storage.FloorDiv(tm, window)*window)] = true
		}
	}
	gotDiffer := map[string]bool{}
	for _, k := range differ {
		gotDiffer[k] = true
	}
	require.Equal(t, wantDiffer, gotDiffer, "exactly the windows of the missed writes differ")

	keys := [][]byte{seriesKey(t, "cpu", "host", "h1"), seriesKey(t, "cpu", "host", "h2")}
	require.Positive(t, copyRepair(t, a, b, "cpu", keys))
	require.Positive(t, copyRepair(t, b, a, "cpu", keys))
	require.Equal(t, visiblePoints(t, ref, "cpu"), visiblePoints(t, a, "cpu"), "a shows every write, last-write-wins")
	require.Equal(t, visiblePoints(t, ref, "cpu"), visiblePoints(t, b, "cpu"), "b shows every write, last-write-wins")
	require.Equal(t, digestsOf(t, a, "cpu", window), digestsOf(t, b, "cpu", window))

	// a delete only a has: the copy from b does not bring the points back on a
	h0 := seriesKey(t, "cpu", "host", "h0")
	require.NoError(t, a.Delete("cpu", hostIs("h0"), 0, 3600e9-1, 1000))
	hidden := visiblePoints(t, a, "cpu")
	copyRepair(t, b, a, "cpu", [][]byte{h0})
	require.Equal(t, hidden, visiblePoints(t, a, "cpu"), "deleted points stay deleted")
	require.NotEqual(t, digestsOf(t, a, "cpu", window)[fmt.Sprintf("%x/0", h0)], digestsOf(t, b, "cpu", window)[fmt.Sprintf("%x/0", h0)])

	// the delete is listed, clipped to the range asked; copying it with DeleteKeys hides exactly
	// that series on b (not one whose key has another tag too)
	data, err := func() (RepairData, error) {
		s := a.Snapshot()
		defer s.Release()
		return s.RepairRead("cpu", [][]byte{h0}, 100, 5000e9, 0)
	}()
	require.NoError(t, err)
	require.Equal(t, []RepairTombstone{{Key: h0, MinTime: 100, MaxTime: 3600e9 - 1, Version: 1000}}, data.Tombstones)
	wider := &storage.Batch{Version: 5, Series: []storage.SeriesRows{{Key: seriesKey(t, "cpu", "host", "h0", "rack", "r1"), Times: []int64{10e9}, Fields: []storage.FieldColumn{
		{Name: "f", Values: storage.Values{Type: storage.TypeDouble, Floats: []float64{1}}}}}}}
	write(a, wider)
	write(b, wider)
	for _, tb := range data.Tombstones {
		require.NoError(t, b.DeleteKeys("cpu", [][]byte{tb.Key}, tb.MinTime, tb.MaxTime, tb.Version))
	}
	require.NoError(t, b.DeleteKeys("cpu", [][]byte{h0}, 0, 99, 1000), "the part of the range the read left out")
	require.Equal(t, visiblePoints(t, a, "cpu"), visiblePoints(t, b, "cpu"), "b has a's delete, the wider series untouched on both")
	require.Equal(t, digestsOf(t, a, "cpu", window), digestsOf(t, b, "cpu", window))

	// a bounded read says there is more
	s := a.Snapshot()
	defer s.Release()
	data, err = s.RepairRead("cpu", keys, math.MinInt64, math.MaxInt64, 10)
	require.NoError(t, err)
	require.True(t, data.More)
	require.Empty(t, data.Hidden, "no delete touches h1 or h2 on a")
	data, err = s.RepairRead("cpu", [][]byte{h0, keys[0]}, 0, 10, 0)
	require.NoError(t, err)
	require.Equal(t, [][]byte{h0}, data.Hidden, "the delete touches h0 on a")
}
