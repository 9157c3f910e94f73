package tsm

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage"
)

func requireAggEqual(t testing.TB, typ storage.FieldType, want, got Agg, msg string) {
	t.Helper()
	if !aggEqual(&want, &got, typ.Class() == storage.ClassFloat) {
		t.Fatalf("%s: aggregates:\n got  %+v\n want %+v", msg, got, want)
	}
}

// checkFile compares everything a reader returns with the model columns (sorted by key), assuming the
// writer filled blocks greedily (full blocks of BlockPoints, then the rest; 1000 before version 4).
func checkFile(t testing.TB, r *Reader, cols []column) {
	t.Helper()
	BlockPoints := BlockPoints
	if r.Version() < FormatV4 {
		BlockPoints = fullBlockPoints
	}
	entries := r.Entries()
	require.Len(t, entries, len(cols))
	var b Block
	var points int64
	offset := int64(HeaderSize)
	series := map[storage.SeriesID]bool{}
	for ci := range cols {
		c := &cols[ci]
		e := entries[ci]
		require.Equal(t, c.key, e.Key)
		series[c.key.Series] = true
		require.True(t, r.MayContain(c.key.Series))
		found, ok := r.Find(c.key)
		require.True(t, ok)
		require.Equal(t, e.Key, found.Key)
		require.Len(t, e.Blocks, (c.n()+BlockPoints-1)/BlockPoints, "key %v", c.key)
		pos := 0
		for bi, m := range e.Blocks {
			msg := fmt.Sprintf("key %v block %d", c.key, bi)
			require.Equal(t, offset, m.Offset, msg)
			offset += int64(m.Size)
			end := min(pos+BlockPoints, c.n())
			require.EqualValues(t, end-pos, m.Agg.Count, msg)
			require.Equal(t, c.times[pos], m.MinTime, msg)
			require.Equal(t, c.times[end-1], m.MaxTime, msg)
			vlo, vhi := slices.Min(c.versions[pos:end]), slices.Max(c.versions[pos:end])
			slo, shi := slices.Min(c.seqs[pos:end]), slices.Max(c.seqs[pos:end])
			require.Equal(t, []uint64{vlo, vhi, slo, shi}, []uint64{m.MinVersion, m.MaxVersion, m.MinSeq, m.MaxSeq}, msg)
			requireAggEqual(t, c.key.Type, modelAgg(&c.vals, pos, end), m.Agg, msg)

			require.NoError(t, r.ReadBlock(m, c.key.Type, &b), msg)
			require.Equal(t, c.times[pos:end], b.Times, msg)
			require.Equal(t, c.versions[pos:end], b.Versions, msg)
			require.Equal(t, c.seqs[pos:end], b.Seqs, msg)
			require.Equal(t, c.key.Type, b.Values.Type, msg)
			require.Equal(t, end-pos, b.Values.Len(), msg)
			for i := pos; i < end; i++ {
				requireValueEqual(t, &c.vals, i, &b.Values, i-pos, msg)
			}
			ts, err := r.ReadTimes(m, nil)
			require.NoError(t, err, msg)
			require.Equal(t, c.times[pos:end], ts, msg)
			pos = end
		}
		points += int64(c.n())
	}
	require.Equal(t, r.blocksEnd, offset)
	info := r.Info()
	require.Equal(t, int64(len(cols)), info.Keys)
	require.Equal(t, points, info.Points)
	require.Equal(t, len(series), info.Series)
	require.NoError(t, r.Verify())
}

func TestRoundTripAllTypes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	sizes := []int{1, 2, 3, 999, 1000, 1001, 2500, 17}
	var cols []column
	for s := 0; s < 6; s++ {
		series := storage.NewSeriesID(uint32(rng.IntN(1<<24)), uint64(s+1))
		for fi, typ := range allTypes {
			field := fmt.Sprintf("f%d", fi%4)
			cols = append(cols, genColumn(rng, Key{Series: series, Field: field, Type: typ}, sizes[rng.IntN(len(sizes))]))
		}
	}
	sortColumns(cols)
	path, info := writeColumns(t, rng, t.TempDir(), cols)
	r, err := Open(path)
	require.NoError(t, err)
	defer r.Close()
	checkFile(t, r, cols)

	ri := r.Info()
	require.Equal(t, info, ri)
	st, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, st.Size(), info.Size)
	minT, maxT := int64(math.MaxInt64), int64(math.MinInt64)
	minS, maxS := uint64(math.MaxUint64), uint64(0)
	for _, c := range cols {
		minT, maxT = min(minT, c.times[0]), max(maxT, c.times[c.n()-1])
		minS, maxS = min(minS, slices.Min(c.seqs)), max(maxS, slices.Max(c.seqs))
	}
	require.Equal(t, []int64{minT, maxT}, []int64{info.MinTime, info.MaxTime})
	require.Equal(t, []uint64{minS, maxS}, []uint64{info.MinSeq, info.MaxSeq})

	// SeriesEntries returns exactly the keys of one series.
	for _, c := range cols {
		se := r.SeriesEntries(c.key.Series)
		var want []Key
		for _, d := range cols {
			if d.key.Series == c.key.Series {
				want = append(want, d.key)
			}
		}
		var got []Key
		for _, e := range se {
			got = append(got, e.Key)
		}
		require.Equal(t, want, got)
	}
	require.Empty(t, r.SeriesEntries(0))
	_, ok := r.Find(Key{Series: cols[0].key.Series, Field: "nope", Type: storage.TypeInt64})
	require.False(t, ok)
}

func TestRoundTripQuick(t *testing.T) {
	for seed := uint64(0); seed < 20; seed++ {
		rng := rand.New(rand.NewPCG(seed, 99))
		var cols []column
		nkeys := 1 + rng.IntN(30)
		seen := map[Key]bool{}
		for len(cols) < nkeys {
			k := Key{Series: storage.SeriesID(rng.Uint64N(8)), Field: string(rune('a' + rng.IntN(5))), Type: allTypes[rng.IntN(len(allTypes))]}
			if seen[k] {
				continue
			}
			seen[k] = true
			cols = append(cols, genColumn(rng, k, 1+rng.IntN(3000)))
		}
		sortColumns(cols)
		path, _ := writeColumns(t, rng, t.TempDir(), cols)
		r, err := Open(path)
		require.NoError(t, err)
		checkFile(t, r, cols)
		require.NoError(t, r.Close())
	}
}

func TestFloatBitExact(t *testing.T) {
	vals := []float64{math.Copysign(0, -1), 0, math.NaN(), math.Float64frombits(0x7ff0000000000001),
		math.Float64frombits(0xfff8dead00000000), math.Inf(-1), math.Inf(1), 1.5, -2.25}
	n := len(vals)
	c := column{key: Key{Series: 1, Field: "x", Type: storage.TypeDouble}, vals: storage.Values{Type: storage.TypeDouble, Floats: vals}}
	for i := 0; i < n; i++ {
		c.times = append(c.times, int64(i*i))
		c.versions = append(c.versions, 7)
		c.seqs = append(c.seqs, 3)
	}
	path, _ := writeColumns(t, rand.New(rand.NewPCG(1, 1)), t.TempDir(), []column{c})
	r, err := Open(path)
	require.NoError(t, err)
	defer r.Close()
	checkFile(t, r, []column{c})
	m := r.Entries()[0].Blocks[0]
	require.True(t, math.IsNaN(m.Agg.FSum()))
	require.Equal(t, math.Inf(-1), m.Agg.FMin())
	require.Equal(t, math.Inf(1), m.Agg.FMax())
	require.Equal(t, uint64(0x8000000000000000), math.Float64bits(m.Agg.FFirst()))
	require.Equal(t, -2.25, m.Agg.FLast())

	// All NaN: min and max are NaN; -0 first among equal zeros is kept.
	a := computeAgg(&storage.Values{Type: storage.TypeDouble, Floats: []float64{math.NaN(), math.NaN()}})
	require.True(t, math.IsNaN(a.FMin()) && math.IsNaN(a.FMax()))
	a = computeAgg(&storage.Values{Type: storage.TypeDouble, Floats: []float64{math.Copysign(0, -1), 0}})
	require.True(t, math.Signbit(a.FMin()) && math.Signbit(a.FMax()))
}

func TestIntSumOverflow(t *testing.T) {
	cases := []struct {
		v        []int64
		sum      int64
		overflow bool
	}{
		{[]int64{1, 2, 3}, 6, false},
		{[]int64{math.MaxInt64, 1}, math.MinInt64, true},
		{[]int64{math.MaxInt64, 1, -1}, math.MaxInt64, false}, // the exact sum fits
		{[]int64{math.MinInt64, -1}, math.MaxInt64, true},
		{[]int64{math.MinInt64, math.MinInt64, math.MaxInt64, math.MaxInt64, 1}, -1, false},
	}
	for _, tc := range cases {
		v := storage.Values{Type: storage.TypeInt64, Ints: tc.v}
		a := computeAgg(&v)
		require.Equal(t, tc.sum, a.Sum, "%v", tc.v)
		require.Equal(t, tc.overflow, a.SumOverflow, "%v", tc.v)
		requireAggEqual(t, v.Type, modelAgg(&v, 0, len(tc.v)), a, fmt.Sprint(tc.v))
	}
}

func TestBlockSplitting(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.tsm")
	w, err := NewWriter(path, WriterOptions{})
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(5, 5))
	// Key 1: calls of 7 points continue one another: blocks of BlockPoints, BlockPoints, 200.
	c1 := genColumn(rng, Key{Series: 1, Field: "a", Type: storage.TypeInt64}, 2*BlockPoints+200)
	for i := 0; i < 2*BlockPoints+200; i += 7 {
		tm, v, vs, ss := subColumn(&c1, i, min(i+7, 2*BlockPoints+200))
		require.NoError(t, w.WriteColumn(c1.key, tm, v, vs, ss))
	}
	// Key 2: 5 strings of 300 KiB: the bytes limit closes blocks after 4 values (1.2 MiB >= 1 MiB).
	big := storage.Values{Type: storage.TypeString}
	var times []int64
	var vs []uint64
	for i := 0; i < 5; i++ {
		big.Bytes = append(big.Bytes, make([]byte, 300<<10))
		big.Bytes[i][0] = byte(i)
		times = append(times, int64(i))
		vs = append(vs, 1)
	}
	k2 := Key{Series: 2, Field: "s", Type: storage.TypeString}
	require.NoError(t, w.WriteColumn(k2, times, &big, vs, vs))
	_, err = w.Finish()
	require.NoError(t, err)

	r, err := Open(path)
	require.NoError(t, err)
	defer r.Close()
	var counts [][]uint32
	for _, e := range r.Entries() {
		var cs []uint32
		for _, m := range e.Blocks {
			cs = append(cs, m.Agg.Count)
		}
		counts = append(counts, cs)
	}
	require.Equal(t, [][]uint32{{BlockPoints, BlockPoints, 200}, {4, 1}}, counts)
	var b Block
	require.NoError(t, r.ReadBlock(r.Entries()[1].Blocks[1], storage.TypeString, &b))
	require.Equal(t, big.Bytes[4], b.Values.Bytes[0])
	require.NoError(t, r.Verify())
}

func TestWriterOrderErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.tsm")
	w, err := NewWriter(path, WriterOptions{})
	require.NoError(t, err)
	ints := func(v ...int64) *storage.Values { return &storage.Values{Type: storage.TypeInt64, Ints: v} }
	u := func(n int) []uint64 { return make([]uint64, n) }
	k := Key{Series: 5, Field: "b", Type: storage.TypeInt64}
	require.NoError(t, w.WriteColumn(k, []int64{10, 20}, ints(1, 2), u(2), u(2)))

	for _, tc := range []struct {
		name string
		k    Key
		ts   []int64
		v    *storage.Values
		n    int
	}{
		{"earlier series", Key{Series: 4, Field: "z", Type: storage.TypeInt64}, []int64{1}, ints(1), 1},
		{"earlier field", Key{Series: 5, Field: "a", Type: storage.TypeInt64}, []int64{1}, ints(1), 1},
		{"earlier type", Key{Series: 5, Field: "b", Type: storage.TypeInt32}, []int64{1}, &storage.Values{Type: storage.TypeInt32, Ints: []int64{1}}, 1},
		{"continued key, time not after", k, []int64{20, 30}, ints(1, 2), 2},
		{"continued key, time before", k, []int64{5}, ints(1), 1},
		{"times not increasing", Key{Series: 6, Field: "a", Type: storage.TypeInt64}, []int64{3, 3}, ints(1, 2), 2},
		{"times decreasing", Key{Series: 6, Field: "a", Type: storage.TypeInt64}, []int64{3, 2}, ints(1, 2), 2},
		{"type mismatch", Key{Series: 6, Field: "a", Type: storage.TypeDouble}, []int64{1}, ints(1), 1},
		{"length mismatch", Key{Series: 6, Field: "a", Type: storage.TypeInt64}, []int64{1, 2}, ints(1), 2},
		{"invalid type", Key{Series: 6, Field: "a", Type: 0x77}, []int64{1}, &storage.Values{Type: 0x77}, 1},
	} {
		require.Error(t, w.WriteColumn(tc.k, tc.ts, tc.v, u(tc.n), u(tc.n)), tc.name)
	}
	// The writer is still usable after rejected input and only the accepted points are in the file.
	require.NoError(t, w.WriteColumn(k, []int64{21}, ints(3), u(1), u(1)))
	_, err = w.Finish()
	require.NoError(t, err)
	require.Error(t, w.WriteColumn(k, []int64{100}, ints(3), u(1), u(1)), "write after finish")
	_, err = w.Finish()
	require.Error(t, err, "finish twice")

	r, err := Open(path)
	require.NoError(t, err)
	defer r.Close()
	require.Len(t, r.Entries(), 1)
	var b Block
	require.NoError(t, r.ReadBlock(r.Entries()[0].Blocks[0], storage.TypeInt64, &b))
	require.Equal(t, []int64{10, 20, 21}, b.Times)
	require.Equal(t, []int64{1, 2, 3}, b.Values.Ints)
}

func TestWriteRawBlock(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	r, _, cols := openEveryType(t, rng, 2500)

	// Copy every block raw, and continue the last key with WriteColumn after its raw blocks. Blocks
	// with version ids cannot be copied with WriteRawBlock (their ids refer to r's table).
	dir := t.TempDir()
	dst := filepath.Join(dir, "copy.tsm")
	w, err := NewWriter(dst, WriterOptions{})
	require.NoError(t, err)
	ids := 0
	for _, e := range r.Entries() {
		for _, m := range e.Blocks {
			raw, err := r.ReadRawBlock(m)
			require.NoError(t, err)
			require.Len(t, raw, int(m.Size))
			if raw[0]&blockVersionsByID != 0 {
				ids++
				require.ErrorContains(t, w.WriteRawBlock(e.Key, m, raw), "use CopyBlock")
			}
			require.NoError(t, w.CopyBlock(e.Key, m, r))
		}
	}
	require.Positive(t, ids, "some blocks store version ids")
	last := &cols[len(cols)-1]
	ext := genColumn(rng, last.key, 1500)
	shift := last.times[last.n()-1] + 1 - ext.times[0]
	for i := range ext.times {
		ext.times[i] += shift
	}
	require.NoError(t, w.WriteColumn(last.key, ext.times, &ext.vals, ext.versions, ext.seqs))

	// Errors: a block going back in time, a bad CRC (a meta whose size is off by one), a class
	// mismatch, impossible aggregates.
	m0 := r.Entries()[0].Blocks[0]
	require.Error(t, w.CopyBlock(last.key, m0, r), "out of order")
	short := m0
	short.Size--
	require.Error(t, w.CopyBlock(Key{Series: 1000, Field: "x", Type: r.Entries()[0].Key.Type}, short, r), "bad crc")
	raw0, err := r.ReadRawBlock(m0)
	require.NoError(t, err)
	bad := slices.Clone(raw0)
	bad[len(bad)-1] ^= 0xff
	require.Error(t, w.WriteRawBlock(Key{Series: 1000, Field: "x", Type: r.Entries()[0].Key.Type}, m0, bad), "bad crc")
	wrong := storage.TypeInt64
	if r.Entries()[0].Key.Type.Class() == storage.ClassInt {
		wrong = storage.TypeDouble
	}
	require.Error(t, w.CopyBlock(Key{Series: 1000, Field: "x", Type: wrong}, m0, r), "class mismatch")
	for _, e := range r.Entries() {
		if e.Key.Type.Class() == storage.ClassInt {
			m := e.Blocks[0]
			m.Agg.Min, m.Agg.Max = 5, 4
			require.Error(t, w.CopyBlock(Key{Series: 1000, Field: "x", Type: e.Key.Type}, m, r), "impossible aggregates")
		}
	}
	_, err = w.Finish()
	require.NoError(t, err)

	r2, err := Open(dst)
	require.NoError(t, err)
	defer r2.Close()
	require.NoError(t, r2.Verify())
	require.Len(t, r2.Entries(), len(cols))
	for i, e := range r2.Entries() {
		want := r.Entries()[i]
		require.Equal(t, want.Key, e.Key)
		for j, m := range want.Blocks {
			got := e.Blocks[j]
			// A raw copy keeps the meta; same offsets because the layout is the same.
			requireAggEqual(t, e.Key.Type, m.Agg, got.Agg, "raw copy")
			m.Agg, got.Agg = Agg{}, Agg{}
			require.Equal(t, m, got, "raw copy")
		}
	}
	// The continued key: raw blocks, then the appended points.
	e := r2.Entries()[len(cols)-1]
	var all []int64
	var b Block
	for _, m := range e.Blocks {
		require.NoError(t, r2.ReadBlock(m, e.Key.Type, &b))
		all = append(all, b.Times...)
	}
	require.Equal(t, append(slices.Clone(last.times), ext.times...), all)
}

func TestBloomNoFalseNegatives(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	dir := t.TempDir()
	path := filepath.Join(dir, "b.tsm")
	w, err := NewWriter(path, WriterOptions{BloomFP: 0.01})
	require.NoError(t, err)
	ids := map[storage.SeriesID]bool{}
	var sorted []storage.SeriesID
	for len(sorted) < 3000 {
		id := storage.SeriesID(rng.Uint64())
		if !ids[id] {
			ids[id] = true
			sorted = append(sorted, id)
		}
	}
	slices.Sort(sorted)
	one := []uint64{1}
	for _, id := range sorted {
		require.NoError(t, w.WriteColumn(Key{Series: id, Field: "f", Type: storage.TypeBool}, []int64{1},
			&storage.Values{Type: storage.TypeBool, Bools: []bool{true}}, one, one))
	}
	_, err = w.Finish()
	require.NoError(t, err)
	r, err := Open(path)
	require.NoError(t, err)
	defer r.Close()
	for _, id := range sorted {
		require.True(t, r.MayContain(id))
	}
	fp := 0
	for i := 0; i < 20000; i++ {
		id := storage.SeriesID(rng.Uint64())
		if !ids[id] && r.MayContain(id) {
			fp++
		}
	}
	require.Less(t, fp, 20000*3/100, "false positive rate far above 1%%")
	require.Equal(t, 3000, r.Info().Series)
}

func TestEmptyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "e.tsm")
	w, err := NewWriter(path, WriterOptions{})
	require.NoError(t, err)
	info, err := w.Finish()
	require.NoError(t, err)
	require.Equal(t, int64(0), info.Keys)
	r, err := Open(path)
	require.NoError(t, err)
	defer r.Close()
	require.Empty(t, r.Entries())
	require.False(t, r.MayContain(1))
	require.Equal(t, info, r.Info())
	require.NoError(t, r.Verify())
}

func TestAbortAndCrash(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.tsm")
	one := []uint64{1}
	v := &storage.Values{Type: storage.TypeInt64, Ints: []int64{1}}
	k := Key{Series: 1, Field: "f", Type: storage.TypeInt64}

	w, err := NewWriter(path, WriterOptions{})
	require.NoError(t, err)
	require.NoError(t, w.WriteColumn(k, []int64{1}, v, one, one))
	require.NoError(t, w.Abort())
	require.NoError(t, w.Abort(), "abort twice")
	_, err = w.Finish()
	require.Error(t, err, "finish after abort")
	names, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, names)

	// A writer that never finishes (a crash) leaves only the .tmp file.
	w, err = NewWriter(path, WriterOptions{})
	require.NoError(t, err)
	require.NoError(t, w.WriteColumn(k, []int64{1}, v, one, one))
	require.NoError(t, w.bw.Flush())
	_, err = os.Stat(path)
	require.ErrorIs(t, err, os.ErrNotExist)
	_, err = os.Stat(path + ".tmp")
	require.NoError(t, err)
	_, err = Open(path + ".tmp")
	require.Error(t, err, "an unfinished file has no footer")
	require.NoError(t, w.Abort())

	// After Finish only the final file exists and Abort does not remove it.
	w, err = NewWriter(path, WriterOptions{})
	require.NoError(t, err)
	require.NoError(t, w.WriteColumn(k, []int64{1}, v, one, one))
	_, err = w.Finish()
	require.NoError(t, err)
	require.NoError(t, w.Abort())
	names, err = os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, names, 1)
	require.Equal(t, "a.tsm", names[0].Name())
}

func requireCorruption(t testing.TB, err error, path string, off int64, msg string) {
	t.Helper()
	var ce *storage.CorruptionError
	require.True(t, errors.As(err, &ce), "%s: got %v; want *storage.CorruptionError", msg, err)
	require.Equal(t, path, ce.Path, msg)
	if off >= 0 {
		require.Equal(t, off, ce.Offset, msg)
	}
}

func corruptionFixture(t *testing.T) (string, []byte, []column) {
	rng := rand.New(rand.NewPCG(11, 12))
	var cols []column
	for i, typ := range []storage.FieldType{storage.TypeDouble, storage.TypeInt64, storage.TypeBool, storage.TypeString} {
		cols = append(cols, genColumn(rng, Key{Series: storage.SeriesID(i + 1), Field: "v", Type: typ}, 1500))
	}
	path, _ := writeColumns(t, rng, t.TempDir(), cols)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return path, data, cols
}

func TestCorruptBlock(t *testing.T) {
	path, data, _ := corruptionFixture(t)
	r, err := Open(path)
	require.NoError(t, err)
	entries := slices.Clone(r.Entries())
	require.NoError(t, r.Close())
	for _, e := range entries {
		for _, m := range e.Blocks {
			for _, at := range []int64{0, int64(m.Size) / 2, int64(m.Size) - 1} {
				bad := slices.Clone(data)
				bad[m.Offset+at] ^= 0x40
				require.NoError(t, os.WriteFile(path, bad, 0o644))
				r, err := Open(path)
				require.NoError(t, err, "blocks are not read by Open")
				var b Block
				msg := fmt.Sprintf("key %v block at %d, byte %d", e.Key, m.Offset, at)
				requireCorruption(t, r.ReadBlock(m, e.Key.Type, &b), path, m.Offset, msg)
				requireCorruption(t, r.Verify(), path, m.Offset, msg)
				_, err = r.ReadRawBlock(m)
				requireCorruption(t, err, path, m.Offset, msg)
				if !m.TimesImplied() {
					_, err = r.ReadTimes(m, nil)
					requireCorruption(t, err, path, m.Offset, msg)
				}
				require.NoError(t, r.Close())
			}
		}
	}
}

func TestCorruptIndexFooter(t *testing.T) {
	path, data, _ := corruptionFixture(t)
	r, err := Open(path)
	require.NoError(t, err)
	indexOff := r.blocksEnd
	require.NoError(t, r.Close())
	// Every byte after the blocks, and the header.
	positions := []int64{0, 1, 4}
	for p := indexOff; p < int64(len(data)); p++ {
		positions = append(positions, p)
	}
	for _, p := range positions {
		bad := slices.Clone(data)
		bad[p] ^= 0x01
		require.NoError(t, os.WriteFile(path, bad, 0o644))
		_, err := Open(path)
		requireCorruption(t, err, path, -1, fmt.Sprintf("flipped byte %d", p))
	}
}

func TestTruncated(t *testing.T) {
	path, data, _ := corruptionFixture(t)
	for _, n := range []int{0, 1, 4, HeaderSize, HeaderSize + FooterSize - 1, len(data) / 2, len(data) - FooterSize, len(data) - 1} {
		require.NoError(t, os.WriteFile(path, data[:n], 0o644))
		_, err := Open(path)
		requireCorruption(t, err, path, -1, fmt.Sprintf("truncated to %d", n))
	}
	// Appended garbage moves the footer: also detected.
	require.NoError(t, os.WriteFile(path, append(slices.Clone(data), 0), 0o644))
	_, err := Open(path)
	requireCorruption(t, err, path, -1, "appended byte")
}

func TestConcurrentReads(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	var cols []column
	for i, typ := range allTypes {
		cols = append(cols, genColumn(rng, Key{Series: storage.SeriesID(i), Field: "v", Type: typ}, 3000))
	}
	path, _ := writeColumns(t, rng, t.TempDir(), cols)
	r, err := Open(path)
	require.NoError(t, err)
	defer r.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var b Block
			for rep := 0; rep < 3; rep++ {
				for ci, e := range r.Entries() {
					pos := 0
					for _, m := range e.Blocks {
						if err := r.ReadBlock(m, e.Key.Type, &b); err != nil {
							errs <- err
							return
						}
						for i := range b.Times {
							if b.Times[i] != cols[ci].times[pos+i] || !storage.EqualAt(&b.Values, i, &cols[ci].vals, pos+i) {
								errs <- fmt.Errorf("key %v: point %d differs", e.Key, pos+i)
								return
							}
						}
						pos += len(b.Times)
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

func TestDecUvarint(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 7))
	vals := []uint64{0, 1, 9, 10, 1e10, 9_990_000_000_000, 1 << 60, 1<<64 - 1, 1e19, 123456789 * 1e9}
	for i := 0; i < 2000; i++ {
		vals = append(vals, rng.Uint64()>>rng.IntN(64), uint64(rng.IntN(100000))*pow10[rng.IntN(15)])
	}
	for _, v := range vals {
		b := appendDecUvarint(nil, v)
		d := decoder{b: b}
		require.Equal(t, v, d.decUvarint(), "%d", v)
		require.NoError(t, d.err)
		require.Zero(t, d.remaining())
	}
	require.Len(t, appendDecUvarint(nil, 1e10), 1)
	require.Len(t, appendDecUvarint(nil, 9_990_000_000_000), 2)
	// Overflowing mantissa·10^e is an error, not a wrap.
	d := decoder{b: appendUvarint(nil, (1<<59)<<4|14)}
	d.decUvarint()
	require.Error(t, d.err)
}

// TestReadBlockValuesSkipsVersions: ReadBlockValues gives ReadBlock's times and values, no versions.
func TestReadBlockValuesSkipsVersions(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var cols []column
	for s := 0; s < 3; s++ {
		series := storage.NewSeriesID(uint32(rng.IntN(1<<24)), uint64(s+1))
		for fi, typ := range allTypes {
			cols = append(cols, genColumn(rng, Key{Series: series, Field: fmt.Sprintf("f%d", fi), Type: typ}, 1+rng.IntN(2500)))
		}
	}
	sortColumns(cols)
	path, _ := writeColumns(t, rng, t.TempDir(), cols)
	r, err := Open(path)
	require.NoError(t, err)
	defer r.Close()
	var full, vals Block
	for _, e := range r.Entries() {
		for _, m := range e.Blocks {
			require.NoError(t, r.ReadBlock(m, e.Key.Type, &full))
			require.NoError(t, r.ReadBlockValues(m, e.Key.Type, &vals))
			require.Equal(t, full.Times, vals.Times)
			require.Equal(t, full.Values.Len(), vals.Values.Len())
			for i := 0; i < full.Values.Len(); i++ {
				require.True(t, storage.EqualAt(&full.Values, i, &vals.Values, i), "value %d", i)
			}
			require.Empty(t, vals.Versions)
			require.Empty(t, vals.Seqs)
		}
	}
}

// TestLazyIndex: the reader keeps its index encoded and decodes a series at a time; every way of
// reading the entries gives the same keys and metas as the file's columns, and the columns written.
func TestLazyIndex(t *testing.T) {
	for _, maxPoints := range []int{300, 3 * BlockPoints} {
		t.Run(fmt.Sprint(maxPoints), func(t *testing.T) { testLazyIndex(t, maxPoints) })
	}
}

func testLazyIndex(t *testing.T, maxPoints int) {
	rng := rand.New(rand.NewPCG(21, uint64(maxPoints)))
	var cols []column
	for s := 1; s <= 40; s++ {
		for _, f := range []string{"a", "b", "c"} {
			if rng.IntN(4) == 0 {
				continue // series with different field sets
			}
			cols = append(cols, genColumn(rng, Key{Series: storage.SeriesID(s * 7), Field: f, Type: storage.TypeInt64}, 1+rng.IntN(maxPoints)))
		}
	}
	sortColumns(cols)
	path, _ := writeColumns(t, rng, t.TempDir(), cols)
	r, err := Open(path)
	require.NoError(t, err)
	defer r.Close()
	// small blocks: the index stays encoded; large ones: decoded at Open
	require.Equal(t, maxPoints > BlockPoints, r.entries != nil, "%d points per block", r.Info().Points/r.Info().Blocks)
	all := r.Entries()
	require.Len(t, all, len(cols))
	var es []Entry
	var blocks []BlockMeta
	for i, c := range cols {
		require.Equal(t, c.key, all[i].Key)
		n := 0
		for _, m := range all[i].Blocks {
			n += int(m.Agg.Count)
		}
		require.Equal(t, len(c.times), n, "%v", c.key)
		if i > 0 && cols[i-1].key.Series == c.key.Series {
			continue
		}
		series := r.SeriesEntries(c.key.Series)
		es, blocks = r.AppendSeriesEntries(es[:0], blocks[:0], c.key.Series)
		var want []Entry
		for _, e := range all {
			if e.Key.Series == c.key.Series {
				want = append(want, e)
			}
		}
		require.Equal(t, want, series)
		require.Equal(t, want, es)
		e, ok := r.Find(c.key)
		require.True(t, ok)
		require.Equal(t, all[i], e)
	}
	require.Empty(t, r.SeriesEntries(1), "a series the file lacks")
	_, ok := r.Find(Key{Series: 7, Field: "zz", Type: storage.TypeInt64})
	require.False(t, ok)
	require.Equal(t, int64(len(cols)), r.Info().Keys)
}
