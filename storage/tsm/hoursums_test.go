package tsm

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage"
)

// modelHours groups a column by UTC hour with plain division (the reference for hour sums).
func modelHours(times []int64, v *storage.Values) []HourSum {
	var out []HourSum
	for i, t := range times {
		h := t / HourSpan * HourSpan
		if t%HourSpan < 0 {
			h -= HourSpan
		}
		if len(out) == 0 || out[len(out)-1].Start != h {
			out = append(out, HourSum{Start: h, FirstTime: t})
		}
		s := &out[len(out)-1]
		s.Count++
		s.LastTime = t
		if v.Type.Class() == storage.ClassInt {
			s.Sum += v.Ints[i]
		} else {
			s.FSum += v.Floats[i]
		}
	}
	return out
}

func TestHourSums(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	regular := func(start, step int64) func(int) int64 { return func(i int) int64 { return start + int64(i)*step } }
	jitter := func(start, step int64) func(int) int64 {
		t := start
		return func(i int) int64 {
			if i > 0 {
				t += 1 + rng.Int64N(step)
			}
			return t
		}
	}
	small := func(n int) storage.Values {
		v := storage.Values{Type: storage.TypeInt64}
		for range n {
			v.Ints = append(v.Ints, rng.Int64N(201)-100)
		}
		return v
	}
	floats := func(n int) storage.Values {
		v := storage.Values{Type: storage.TypeDouble}
		for range n {
			v.Floats = append(v.Floats, rng.NormFloat64()*1e3)
		}
		return v
	}
	cases := []struct {
		name  string
		n     int
		times func(int) int64
		vals  func(int) storage.Values
		want  bool // the writer stores hour sums
	}{
		{"10s ints from an hour start", 4000, regular(1_451_606_400e9, 10e9), small, true},
		{"10s ints from mid-hour", 4000, regular(1_451_606_400e9+1234e9+7, 10e9), small, true},
		{"10s ints before 1970", 3000, regular(-7_200e9-5e9, 10e9), small, true},
		{"irregular floats", 2500, jitter(1_700_000_000e9, 20e9), floats, true},
		{"one hour", 300, regular(1_451_606_400e9, 10e9), small, false},
		{"sparse: 2 points per hour", 400, regular(1_451_606_400e9, 1800e9), small, false},
		{"bools", 1000, regular(1_451_606_400e9, 10e9), func(n int) storage.Values {
			v := storage.Values{Type: storage.TypeBool}
			for i := range n {
				v.Bools = append(v.Bools, i%3 == 0)
			}
			return v
		}, false},
		{"sums that could overflow", 1000, regular(1_451_606_400e9, 10e9), func(n int) storage.Values {
			v := small(n)
			v.Ints[5] = math.MaxInt64 / 100
			return v
		}, false},
		{"before the first hour", 1000, regular(math.MinInt64+5, 10e9), small, false},
	}
	path := filepath.Join(t.TempDir(), "h.tsm")
	w, err := NewWriter(path, WriterOptions{})
	require.NoError(t, err)
	var cols []column
	for i, c := range cases {
		var times []int64
		for j := range c.n {
			times = append(times, c.times(j))
		}
		vals := c.vals(c.n)
		ones := make([]uint64, c.n)
		col := column{key: Key{Series: storage.SeriesID(i + 1), Field: "v", Type: vals.Type}, times: times, vals: vals, versions: ones, seqs: ones}
		require.NoError(t, w.WriteColumn(col.key, times, &vals, ones, ones), c.name)
		cols = append(cols, col)
	}
	_, err = w.Finish()
	require.NoError(t, err)
	r, err := Open(path)
	require.NoError(t, err)
	defer r.Close()
	require.NoError(t, r.Verify(), "Verify recomputes every block's hour sums")
	for i, c := range cases {
		e, ok := r.Find(cols[i].key)
		require.True(t, ok)
		var got []HourSum
		for _, m := range e.Blocks {
			require.Equal(t, c.want, m.HasHourSums(), c.name)
		}
		if !c.want {
			continue
		}
		require.NoError(t, r.ReadHourSums(e.Blocks, cols[i].key.Type, func(_ *BlockMeta, s []HourSum) error {
			got = append(got, s...)
			return nil
		}))
		// blocks split hours: merge the model's view per block boundary by comparing per block
		var want []HourSum
		off := 0
		for _, m := range e.Blocks {
			n := int(m.Agg.Count)
			sub := subValues(&cols[i].vals, off, off+n)
			want = append(want, modelHours(cols[i].times[off:off+n], sub)...)
			off += n
		}
		require.Equal(t, len(want), len(got), c.name)
		for k := range want {
			g, w := got[k], want[k]
			require.Equal(t, []int64{w.Start, w.FirstTime, w.LastTime, w.Count, w.Sum}, []int64{g.Start, g.FirstTime, g.LastTime, g.Count, g.Sum}, "%s hour %d", c.name, k)
			require.Equal(t, w.FSum, g.FSum, "%s hour %d", c.name, k)
		}
	}
}

// TestHourSumsCorrupt: a block whose hour sums disagree with its values (CRC recomputed, as a
// buggy writer would leave it) is caught by Verify, with the file and offset.
func TestHourSumsCorrupt(t *testing.T) {
	times := make([]int64, 1000)
	vals := storage.Values{Type: storage.TypeInt64, Ints: make([]int64, 1000)}
	for i := range times {
		times[i] = 1_451_606_400e9 + int64(i)*10e9
		vals.Ints[i] = int64(i % 7)
	}
	raw, m, err := EncodeBlock(nil, times, &vals, make([]uint64, 1000), make([]uint64, 1000))
	require.NoError(t, err)
	require.True(t, m.HasHourSums())
	// flags, then (implied times) the sums section: uvarint length, first sum delta
	require.Equal(t, byte(blockHourSums), raw[0]&blockHourSums)
	raw[2]++
	raw = append(raw[:len(raw)-crcSize], 0, 0, 0, 0)
	putCRC(raw)
	path := filepath.Join(t.TempDir(), "c.tsm")
	w, err := NewWriter(path, WriterOptions{})
	require.NoError(t, err)
	require.NoError(t, w.WriteRawBlock(Key{Series: 1, Field: "v", Type: storage.TypeInt64}, m, raw))
	_, err = w.Finish()
	require.NoError(t, err)
	r, err := Open(path)
	require.NoError(t, err)
	defer r.Close()
	err = r.Verify()
	var ce *storage.CorruptionError
	require.ErrorAs(t, err, &ce)
	require.ErrorContains(t, err, "hour sums")
	require.Equal(t, int64(HeaderSize), ce.Offset)
}

func putCRC(raw []byte) {
	body := raw[:len(raw)-crcSize]
	c := checksum(body)
	raw[len(raw)-4], raw[len(raw)-3], raw[len(raw)-2], raw[len(raw)-1] = byte(c>>24), byte(c>>16), byte(c>>8), byte(c)
}
