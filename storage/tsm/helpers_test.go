package tsm

import (
	"math"
	"math/big"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage"
)

// column is the test model of one key's points.
type column struct {
	key      Key
	times    []int64
	vals     storage.Values
	versions []uint64
	seqs     []uint64
}

func (c *column) n() int { return len(c.times) }

var allTypes = []storage.FieldType{
	storage.TypeDouble, storage.TypeInt64, storage.TypeInt32, storage.TypeBool, storage.TypeString,
	storage.TypeObjectID, storage.TypeDateTime, storage.TypeDocument, storage.TypeNull, storage.TypeTimestamp,
	storage.TypeBinary, storage.TypeDecimal128, storage.TypeArray,
}

// genValues makes n values of type typ with the awkward cases each class has.
func genValues(rng *rand.Rand, typ storage.FieldType, n int) storage.Values {
	v := storage.Values{Type: typ}
	switch typ.Class() {
	case storage.ClassFloat:
		specials := []float64{math.NaN(), math.Float64frombits(0x7ff8000000000abc), math.Float64frombits(0xfff0000000000001),
			math.Copysign(0, -1), 0, math.Inf(1), math.Inf(-1), math.MaxFloat64, math.SmallestNonzeroFloat64}
		mode := rng.IntN(3)
		x := rng.Float64() * 100
		for i := 0; i < n; i++ {
			switch {
			case rng.IntN(20) == 0:
				v.Floats = append(v.Floats, specials[rng.IntN(len(specials))])
			case mode == 0:
				v.Floats = append(v.Floats, float64(rng.IntN(100)))
			case mode == 1:
				x += rng.NormFloat64()
				v.Floats = append(v.Floats, x)
			default:
				v.Floats = append(v.Floats, math.Float64frombits(rng.Uint64()))
			}
		}
	case storage.ClassInt:
		mode := rng.IntN(4)
		x := rng.Int64N(1000)
		if typ == storage.TypeDateTime {
			x = 1_700_000_000_000
		}
		for i := 0; i < n; i++ {
			switch mode {
			case 0:
				x += rng.Int64N(11) - 5
			case 1:
				x = int64(rng.Uint64())
			case 2:
				x = []int64{math.MaxInt64, math.MinInt64, math.MaxInt64 - 1, -1}[rng.IntN(4)] // sums overflow
			default:
				x = 42
			}
			if typ == storage.TypeInt32 {
				x = int64(int32(x))
			}
			v.Ints = append(v.Ints, x)
		}
	case storage.ClassBool:
		p := rng.Float64()
		for i := 0; i < n; i++ {
			v.Bools = append(v.Bools, rng.Float64() < p)
		}
	case storage.ClassBytes:
		for i := 0; i < n; i++ {
			var b []byte
			switch typ {
			case storage.TypeNull:
				b = []byte{}
			case storage.TypeObjectID:
				b = make([]byte, 12)
				for j := range b {
					b[j] = byte(rng.Uint32())
				}
			default:
				b = make([]byte, rng.IntN(40))
				for j := range b {
					b[j] = 'a' + byte(rng.IntN(26))
				}
			}
			v.Bytes = append(v.Bytes, b)
		}
	}
	return v
}

// genColumn makes a column of n points: regular or irregular times, constant or varying versions/seqs.
func genColumn(rng *rand.Rand, k Key, n int) column {
	c := column{key: k, vals: genValues(rng, k.Type, n)}
	t := int64(1_451_606_400_000_000_000) + rng.Int64N(1000)*1e9
	step := int64(10e9)
	regular := rng.IntN(2) == 0
	for i := 0; i < n; i++ {
		c.times = append(c.times, t)
		if regular {
			t += step
		} else {
			t += 1 + rng.Int64N(2*step)
		}
	}
	ver, seq := rng.Uint64(), uint64(rng.IntN(1000))
	vmode, smode := rng.IntN(2), rng.IntN(2)
	for i := 0; i < n; i++ {
		if vmode == 1 && rng.IntN(50) == 0 {
			ver += uint64(rng.IntN(1000))
		}
		if smode == 1 {
			seq = uint64(rng.IntN(1 << 20))
		}
		c.versions = append(c.versions, ver)
		c.seqs = append(c.seqs, seq)
	}
	return c
}

func subColumn(c *column, i, j int) (times []int64, vals *storage.Values, versions, seqs []uint64) {
	return c.times[i:j], subValues(&c.vals, i, j), c.versions[i:j], c.seqs[i:j]
}

// writeColumns writes the columns (sorted by key) in random chunks and returns the path.
func writeColumns(t testing.TB, rng *rand.Rand, dir string, cols []column) (string, Info) {
	t.Helper()
	path := filepath.Join(dir, "000001.tsm")
	w, err := NewWriter(path, WriterOptions{})
	require.NoError(t, err)
	for ci := range cols {
		c := &cols[ci]
		for i := 0; i < c.n(); {
			j := min(c.n(), i+1+rng.IntN(1500))
			if rng.IntN(3) == 0 {
				j = c.n()
			}
			tm, v, vs, ss := subColumn(c, i, j)
			require.NoError(t, w.WriteColumn(c.key, tm, v, vs, ss))
			i = j
		}
	}
	info, err := w.Finish()
	require.NoError(t, err)
	return path, info
}

// modelAgg computes a block's aggregates independently of agg.go.
func modelAgg(v *storage.Values, i, j int) Agg {
	a := Agg{Count: uint32(j - i)}
	switch v.Type.Class() {
	case storage.ClassInt:
		sum := new(big.Int)
		a.Min, a.Max = math.MaxInt64, math.MinInt64
		for _, x := range v.Ints[i:j] {
			sum.Add(sum, big.NewInt(x))
			a.Min = min(a.Min, x)
			a.Max = max(a.Max, x)
		}
		a.SumOverflow = !sum.IsInt64()
		// Wrapping sum: the low 64 bits of the two's complement exact sum.
		mod := new(big.Int).Lsh(big.NewInt(1), 64)
		low := new(big.Int).Mod(sum, mod)
		a.Sum = int64(low.Uint64())
		a.First, a.Last = v.Ints[i], v.Ints[j-1]
	case storage.ClassFloat:
		lo, hi, sum := math.NaN(), math.NaN(), 0.0
		have := false
		for _, f := range v.Floats[i:j] {
			sum += f
			if math.IsNaN(f) {
				continue
			}
			if !have {
				lo, hi, have = f, f, true
				continue
			}
			if f < lo {
				lo = f
			}
			if f > hi {
				hi = f
			}
		}
		a.SetFloats(sum, lo, hi, v.Floats[i], v.Floats[j-1])
	case storage.ClassBool:
		trues := 0
		for _, b := range v.Bools[i:j] {
			if b {
				trues++
			}
		}
		a.Sum = int64(trues)
		a.Min, a.Max = 0, 0
		if trues == j-i {
			a.Min = 1
		}
		if trues > 0 {
			a.Max = 1
		}
		if v.Bools[i] {
			a.First = 1
		}
		if v.Bools[j-1] {
			a.Last = 1
		}
	}
	return a
}

func sortColumns(cols []column) {
	slices.SortFunc(cols, func(a, b column) int { return CompareKeys(a.key, b.key) })
}

// requireValuesEqual compares value i of a with value j of b bit-exactly.
func requireValueEqual(t testing.TB, a *storage.Values, i int, b *storage.Values, j int, msg string) {
	t.Helper()
	if !storage.EqualAt(a, i, b, j) {
		t.Fatalf("%s: value mismatch: %s vs %s", msg, formatValue(a, i), formatValue(b, j))
	}
}

// openEveryType writes a file with one generated key of every type (1 to maxPoints points each,
// series ids 1, 2, …) and opens it; cols are the keys written, sorted.
func openEveryType(t *testing.T, rng *rand.Rand, maxPoints int) (r *Reader, path string, cols []column) {
	t.Helper()
	for i, typ := range allTypes {
		cols = append(cols, genColumn(rng, Key{Series: storage.SeriesID(i + 1), Field: "v", Type: typ}, 1+rng.IntN(maxPoints)))
	}
	sortColumns(cols)
	path, _ = writeColumns(t, rng, t.TempDir(), cols)
	r, err := Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = r.Close() })
	return r, path, cols
}
