package tsm

import (
	"bytes"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ (then freeze them)")

// Golden files of each format version: the reader must keep reading every one of them. Only the
// current version's can be rewritten (-update); older ones are frozen.
var goldens = []struct {
	version   byte
	tsm, dump string
}{
	{FormatV1, "testdata/v1/000001.tsm", "testdata/v1/000001.txt"},
	{FormatV2, "testdata/v2/000001.tsm", "testdata/v2/000001.txt"},
	{FormatV3, "testdata/v3/000001.tsm", "testdata/v3/000001.txt"},
	{FormatV4, "testdata/v4/000001.tsm", "testdata/v4/000001.txt"},
	{FormatV5, "testdata/v5/000001.tsm", "testdata/v5/000001.txt"},
}

// goldenKeys are the series keys of the golden file (version 2 and later): s1 has one, s2 none
// (as a series deleted from the index when the file was written).
func goldenKeys(t *testing.T) func(storage.SeriesID) ([]byte, bool) {
	k := storage.SeriesKey{Table: "cpu", Tags: []storage.Tag{{Key: "host", Value: storage.StringTag("h1")},
		{Key: "rack", Value: storage.TagValue{Type: storage.TypeInt64, Raw: storage.EncodeTagInt(-3)}}}}
	require.NoError(t, k.Normalize())
	enc := k.Marshal(nil)
	return func(id storage.SeriesID) ([]byte, bool) {
		if id == storage.NewSeriesID(0xabc, 1) {
			return enc, true
		}
		return nil, false
	}
}

// goldenColumns are the fixed contents of testdata/v1/000001.tsm, from formulas only (no RNG), so a
// later version of the code must read back exactly these points. Version 5 adds a float column that
// spans several hours (so it has hour sums, as the int column "cpu" has).
func goldenColumns(version byte) []column {
	const t0 = int64(1_700_000_000_000_000_000)
	times := func(n int, f func(i int) int64) []int64 {
		t := make([]int64, n)
		for i := range t {
			t[i] = f(i)
		}
		return t
	}
	same := func(n int, v uint64) []uint64 {
		u := make([]uint64, n)
		for i := range u {
			u[i] = v
		}
		return u
	}
	regular := func(i int) int64 { return t0 + int64(i)*10e9 }
	irregular := func(i int) int64 { return t0 + int64(i*i)*1e6 + int64(i) }

	var cols []column
	// Series 0x000abc0000000001: a two-block int64 column (implied times), doubles, bools, strings.
	s1 := storage.NewSeriesID(0xabc, 1)
	ints := make([]int64, 1003)
	for i := range ints {
		ints[i] = int64((i*37)%101) - 20
	}
	cols = append(cols, column{key: Key{s1, "cpu", storage.TypeInt64}, times: times(1003, regular),
		vals: storage.Values{Type: storage.TypeInt64, Ints: ints}, versions: same(1003, 5), seqs: same(1003, 9)})
	floats := []float64{1.5, math.Copysign(0, -1), math.NaN(), math.Inf(1), -273.15, math.Float64frombits(0x7ff8000000000123), 1e-300}
	cols = append(cols, column{key: Key{s1, "temp", storage.TypeDouble}, times: times(len(floats), irregular),
		vals: storage.Values{Type: storage.TypeDouble, Floats: floats}, versions: []uint64{1, 2, 3, 4, 5, 6, 7}, seqs: same(7, 9)})
	cols = append(cols, column{key: Key{s1, "up", storage.TypeBool}, times: times(4, regular),
		vals: storage.Values{Type: storage.TypeBool, Bools: []bool{true, false, true, true}}, versions: same(4, 5), seqs: []uint64{9, 10, 11, 12}})
	cols = append(cols, column{key: Key{s1, "up", storage.TypeString}, times: times(3, irregular),
		vals: storage.Values{Type: storage.TypeString, Bytes: [][]byte{[]byte("yes"), {}, []byte("héllo, wörld")}}, versions: same(3, 5), seqs: same(3, 9)})

	// Series 0xfff0010000000002: ObjectId, datetime, int32 with varying versions, a document.
	s2 := storage.NewSeriesID(0xfff001, 2)
	oid := func(b byte) []byte { return []byte{0x65, 0x4f, 0x1a, 0x2b, 0, 0, 0, 1, 2, 3, 4, b} }
	cols = append(cols, column{key: Key{s2, "_id", storage.TypeObjectID}, times: times(2, regular),
		vals: storage.Values{Type: storage.TypeObjectID, Bytes: [][]byte{oid(1), oid(2)}}, versions: same(2, 1), seqs: same(2, 1)})
	cols = append(cols, column{key: Key{s2, "at", storage.TypeDateTime}, times: times(3, regular),
		vals: storage.Values{Type: storage.TypeDateTime, Ints: []int64{1_700_000_000_000, 1_700_000_010_000, -1}}, versions: same(3, 1), seqs: same(3, 1)})
	cols = append(cols, column{key: Key{s2, "n", storage.TypeInt32}, times: times(5, irregular),
		vals:     storage.Values{Type: storage.TypeInt32, Ints: []int64{math.MaxInt32, math.MinInt32, 0, 7, -7}},
		versions: []uint64{10, 10, 1 << 40, 3, 10}, seqs: []uint64{100, 200, 300, 400, 500}})
	doc := []byte{0x0c, 0, 0, 0, 0x10, 'a', 0, 1, 0, 0, 0, 0}
	cols = append(cols, column{key: Key{s2, "n", storage.TypeDocument}, times: times(2, irregular),
		vals: storage.Values{Type: storage.TypeDocument, Bytes: [][]byte{doc, {5, 0, 0, 0, 0}}}, versions: same(2, 1), seqs: same(2, 1)})
	cols = append(cols, column{key: Key{s2, "sum", storage.TypeInt64}, times: times(2, regular),
		vals: storage.Values{Type: storage.TypeInt64, Ints: []int64{math.MaxInt64, 2}}, versions: same(2, 1), seqs: same(2, 1)})
	if version >= FormatV5 {
		load := make([]float64, 900)
		for i := range load {
			load[i] = float64(i%17)*0.25 - 1
		}
		cols = append(cols, column{key: Key{s2, "load", storage.TypeDouble}, times: times(900, func(i int) int64 { return t0 + int64(i)*30e9 + int64(i%3) }),
			vals: storage.Values{Type: storage.TypeDouble, Floats: load}, versions: same(900, 1), seqs: same(900, 1)})
	}
	sortColumns(cols)
	return cols
}

func TestGolden(t *testing.T) {
	for _, g := range goldens {
		t.Run(fmt.Sprintf("v%d", g.version), func(t *testing.T) { checkGolden(t, g.version, g.tsm, g.dump) })
	}
}

func checkGolden(t *testing.T, version byte, goldenTSM, goldenDump string) {
	cols := goldenColumns(version)
	write := func(path string) {
		w, err := NewWriter(path, WriterOptions{SeriesKey: goldenKeys(t)})
		require.NoError(t, err)
		for _, c := range cols {
			require.NoError(t, w.WriteColumn(c.key, c.times, &c.vals, c.versions, c.seqs))
		}
		_, err = w.Finish()
		require.NoError(t, err)
	}
	if *update && version == FormatVersion {
		require.NoError(t, os.MkdirAll(filepath.Dir(goldenTSM), 0o755))
		write(goldenTSM)
		r, err := Open(goldenTSM)
		require.NoError(t, err)
		var buf bytes.Buffer
		require.NoError(t, r.Dump(&buf))
		require.NoError(t, r.Close())
		require.NoError(t, os.WriteFile(goldenDump, buf.Bytes(), 0o644))
	}
	if version == FormatVersion {
		// The writer still writes the current version's golden file byte for byte: a format
		// change needs a new version.
		again := filepath.Join(t.TempDir(), "000001.tsm")
		write(again)
		want, err := os.ReadFile(goldenTSM)
		require.NoError(t, err)
		got, err := os.ReadFile(again)
		require.NoError(t, err)
		require.True(t, bytes.Equal(want, got), "the writer no longer writes %s", goldenTSM)
	}
	r, err := Open(goldenTSM)
	require.NoError(t, err)
	defer r.Close()
	require.Equal(t, version, r.Version())
	checkFile(t, r, cols)
	require.Equal(t, 2, r.Info().Series)

	// Spot checks of aggregates that a reader must keep reporting.
	e, ok := r.Find(Key{storage.NewSeriesID(0xfff001, 2), "sum", storage.TypeInt64})
	require.True(t, ok)
	require.True(t, e.Blocks[0].Agg.SumOverflow)
	require.Equal(t, int64(math.MinInt64+1), e.Blocks[0].Agg.Sum)
	e, ok = r.Find(Key{storage.NewSeriesID(0xabc, 1), "cpu", storage.TypeInt64})
	require.True(t, ok)
	if version < FormatV4 {
		require.Len(t, e.Blocks, 2, "1003 points: blocks of 1000 and 3")
	} else {
		require.Len(t, e.Blocks, 1, "1003 points: one block (up to BlockPoints)")
	}
	require.True(t, e.Blocks[0].TimesImplied())
	if version >= FormatV5 {
		checkGoldenHourSums(t, r, cols)
	}

	// The series-key table: exactly what the writer was told.
	keys := map[storage.SeriesID]string{}
	err = r.SeriesKeys(func(id storage.SeriesID, key []byte) error {
		keys[id] = string(key)
		return nil
	})
	if version == FormatV1 {
		require.ErrorIs(t, err, ErrNoSeriesKeys)
	} else {
		require.NoError(t, err)
		want, _ := goldenKeys(t)(storage.NewSeriesID(0xabc, 1))
		require.Equal(t, map[storage.SeriesID]string{storage.NewSeriesID(0xabc, 1): string(want)}, keys)
	}

	want, err := os.ReadFile(goldenDump)
	require.NoError(t, err)
	var got bytes.Buffer
	require.NoError(t, r.Dump(&got))
	require.Equal(t, string(want), got.String(), "dump of %s changed", goldenTSM)
}

// checkGoldenHourSums checks that the multi-hour int and float columns of a version 5 file have hour
// sums, equal to sums computed here from the columns.
func checkGoldenHourSums(t *testing.T, r *Reader, cols []column) {
	withSums := 0
	for _, c := range cols {
		e, ok := r.Find(c.key)
		require.True(t, ok)
		m := e.Blocks[0]
		multiHour := c.times[0]/HourSpan != c.times[len(c.times)-1]/HourSpan
		class := c.key.Type.Class()
		want := multiHour && (class == storage.ClassInt && c.key.Field == "cpu" || class == storage.ClassFloat)
		require.Equal(t, want, m.HasHourSums(), "%v", c.key)
		if !want {
			continue
		}
		withSums++
		type hour struct {
			n           int64
			first, last int64
			sum         int64
			fsum        float64
		}
		model := map[int64]*hour{}
		for i, tm := range c.times {
			h := model[tm/HourSpan]
			if h == nil {
				h = &hour{first: tm}
				model[tm/HourSpan] = h
			}
			h.n++
			h.last = tm
			if class == storage.ClassInt {
				h.sum += c.vals.Ints[i]
			} else {
				h.fsum += c.vals.Floats[i]
			}
		}
		err := r.ReadHourSums(e.Blocks[:1], c.key.Type, func(_ *BlockMeta, sums []HourSum) error {
			require.Len(t, sums, len(model))
			for _, s := range sums {
				h := model[s.Start/HourSpan]
				require.NotNil(t, h, "hour %d", s.Start)
				require.Equal(t, hour{h.n, h.first, h.last, h.sum, h.fsum}, hour{s.Count, s.FirstTime, s.LastTime, s.Sum, s.FSum})
			}
			return nil
		})
		require.NoError(t, err)
	}
	require.Equal(t, 2, withSums)
}
