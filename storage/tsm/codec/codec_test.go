package codec

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"testing/quick"

	"github.com/stretchr/testify/require"
)

// ---- generators (the model: plain Go slices; every check compares a decode with its input) ----

func walk(r *rand.Rand, n int) []int64 {
	v := make([]int64, n)
	x := r.Float64() * 100
	for i := range v {
		x = math.Max(0, math.Min(100, x+r.NormFloat64()))
		v[i] = int64(x)
	}
	return v
}

func regularTS(n int, start, step int64) []int64 {
	v := make([]int64, n)
	for i := range v {
		v[i] = start + int64(i)*step
	}
	return v
}

func jitterTS(r *rand.Rand, n int) []int64 {
	v := make([]int64, n)
	t := int64(1451606400e9)
	for i := range v {
		t += 10e9 + r.Int64N(2e6) - 1e6
		v[i] = t
	}
	return v
}

func constInts(n int, x int64) []int64 {
	v := make([]int64, n)
	for i := range v {
		v[i] = x
	}
	return v
}

func intCases() map[string][]int64 {
	r := rand.New(rand.NewPCG(7, 8))
	rnd := make([]int64, 1000)
	for i := range rnd {
		rnd[i] = int64(r.Uint64())
	}
	outliers := walk(r, 1000)
	for i := 0; i < len(outliers); i += 97 {
		outliers[i] += 1e6
	}
	big := walk(r, MaxValues)
	return map[string][]int64{
		"empty":        {},
		"single":       {42},
		"single-min":   {math.MinInt64},
		"single-max":   {math.MaxInt64},
		"two":          {-5, 7},
		"extremes":     {math.MinInt64, math.MaxInt64, math.MinInt64, 0, math.MaxInt64, -1, 1},
		"overflow-run": {math.MaxInt64 - 1, math.MaxInt64, math.MinInt64, math.MinInt64 + 1},
		"const":        constInts(1000, 7),
		"zeros":        constInts(1000, 0),
		"regular":      regularTS(1000, 1451606400e9, 10e9),
		"jitter":       jitterTS(r, 1000),
		"walk":         walk(r, 1000),
		"walk-short":   walk(r, 5),
		"outliers":     outliers,
		"random":       rnd,
		"decimal":      regularTS(1000, 1000, 1000),
		"max-values":   big,
		"batch-ids":    batchIDs(1000, 5),
		"step-seqs":    stepSeqs(r, 1000),
	}
}

func roundTripInts(t *testing.T, v []int64, enc []byte) {
	t.Helper()
	prefix := []int64{-9, 9}
	got, err := DecodeInts(append([]int64(nil), prefix...), enc)
	require.NoError(t, err)
	require.Equal(t, prefix, got[:2], "decode must append")
	require.Equal(t, len(v), len(got)-2)
	require.Equal(t, fmt.Sprint(v), fmt.Sprint(got[2:]))
	n, err := Count(enc)
	require.NoError(t, err)
	require.Equal(t, len(v), n)
}

// ---- int64 family ----

func TestIntFormsRoundTripAndChooser(t *testing.T) {
	forms := map[byte]string{encRaw: "raw", encRLE: "rle", encDelta8b: "delta8b", encDoD8b: "dod8b", encEntropy: "entropy", encEntropy2: "entropy2", encRuns: "runs"}
	for name, v := range intCases() {
		t.Run(name, func(t *testing.T) {
			size := map[byte]int{}
			for enc, fname := range forms {
				b, ok := encodeIntForm(nil, v, enc)
				if !ok {
					continue
				}
				require.Equal(t, enc, b[0]>>4, fname)
				size[enc] = len(b)
				roundTripInts(t, v, b)
				u, err := DecodeUints(nil, b)
				require.NoError(t, err)
				require.Len(t, u, len(v))
			}
			smallest := func(encs ...byte) int {
				m := math.MaxInt
				for _, e := range encs {
					if s, ok := size[e]; ok {
						m = min(m, s)
					}
				}
				return m
			}
			ints := EncodeInts(nil, v)
			roundTripInts(t, v, ints)
			ts := EncodeTimestamps(nil, v)
			roundTripInts(t, v, ts)
			if len(v) > 0 {
				require.Equal(t, smallest(encRaw, encRLE, encDelta8b, encEntropy2), len(ints), "EncodeInts picks the smallest form")
				if e1, ok := size[encEntropy]; ok {
					// the interleaved form stores one more state: 3 bytes, give or take a renormalization byte
					require.InDelta(t, e1+3, size[encEntropy2], 2, "entropy2 vs entropy")
				}
				require.Equal(t, smallest(encRaw, encRLE, encDelta8b, encDoD8b), len(ts), "EncodeTimestamps picks the smallest form")
				require.Equal(t, smallest(encRaw, encRLE, encDelta8b, encEntropy2, encRuns), len(EncodeUints(nil, i2u(v))), "EncodeUints picks the smallest form")
			}
		})
	}
}

func TestIntKnownSizes(t *testing.T) {
	// 1000 points every 10 s from 2016-01-01: header 1 + count 2 + first 145160640 (zigzag 5 bytes) +
	// delta 1 (zigzag 1 byte), exponent 10 in the header's low nibble.
	ts := EncodeTimestamps(nil, regularTS(1000, 1451606400e9, 10e9))
	require.Equal(t, []byte{encRLE<<4 | 10, 0xe8, 0x07}, ts[:3])
	require.Len(t, ts, 9)
	// A constant version column: header, count, first, delta 0.
	u := EncodeUints(nil, []uint64{7, 7, 7, 7, 7, 7, 7, 7, 7, 7})
	require.Equal(t, []byte{encRLE << 4, 10, 14, 0}, u)
	uv, err := DecodeUints(nil, u)
	require.NoError(t, err)
	require.Equal(t, []uint64{7, 7, 7, 7, 7, 7, 7, 7, 7, 7}, uv)
	// Raw: little-endian 8-byte values.
	raw, ok := encodeIntForm(nil, []int64{1, -1}, encRaw)
	require.True(t, ok)
	require.Equal(t, []byte{0, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, raw)
}

func TestUintsQuick(t *testing.T) {
	f := func(v []uint64, runs uint8) bool {
		// also a non-decreasing column with runs, like versions
		w := make([]uint64, 0, len(v))
		x := uint64(runs)
		for i := range v {
			if i%int(runs|1) == 0 {
				x += v[i] % 3
			}
			w = append(w, x)
		}
		for _, c := range [][]uint64{v, w} {
			got, err := DecodeUints(nil, EncodeUints(nil, c))
			if err != nil || len(got) != len(c) {
				return false
			}
			for i := range c {
				if got[i] != c[i] {
					return false
				}
			}
		}
		return true
	}
	require.NoError(t, quick.Check(f, nil))
	require.Equal(t, []uint64{0, math.MaxUint64, 0}, must(DecodeUints(nil, EncodeUints(nil, []uint64{0, math.MaxUint64, 0}))))
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestIntsQuick(t *testing.T) {
	eq := func(a, b []int64) bool { return fmt.Sprint(a) == fmt.Sprint(b) }
	// arbitrary int64s
	require.NoError(t, quick.Check(func(v []int64) bool {
		a, err1 := DecodeInts(nil, EncodeInts(nil, v))
		b, err2 := DecodeTimestamps(nil, EncodeTimestamps(nil, v))
		return err1 == nil && err2 == nil && eq(a, v) && eq(b, v)
	}, nil))
	// structured: walks with scale, sorted timestamps with jitter, escapes
	require.NoError(t, quick.Check(func(seed uint64, n uint16, scale uint8, big int64) bool {
		r := rand.New(rand.NewPCG(seed, 1))
		v := walk(r, int(n%2000))
		for i := range v {
			v[i] *= pow10[scale%19]
			if r.IntN(50) == 0 {
				v[i] += big
			}
		}
		ts := jitterTS(r, int(n%2000))
		a, err1 := DecodeInts(nil, EncodeInts(nil, v))
		b, err2 := DecodeTimestamps(nil, EncodeTimestamps(nil, ts))
		return err1 == nil && err2 == nil && eq(a, v) && eq(b, ts)
	}, nil))
}

func TestSimple8bKnownWord(t *testing.T) {
	// 1, 2, 3 fit 2 bits: selector 3, values from the low bits.
	b, ok := s8bEncode(nil, []uint64{1, 2, 3})
	require.True(t, ok)
	require.Equal(t, binary.LittleEndian.AppendUint64(nil, 3<<60|1|2<<2|3<<4), b)
	// 300 zeros: one 240-zero word (selector 0), then 60 zeros under selector 0 again (partial word).
	b, ok = s8bEncode(nil, make([]uint64, 300))
	require.True(t, ok)
	require.Equal(t, make([]byte, 16), b)
	// 1<<60 does not fit.
	_, ok = s8bEncode(nil, []uint64{1 << 60})
	require.False(t, ok)
	b, ok = s8bEncode(nil, []uint64{1<<60 - 1})
	require.True(t, ok)
	require.Equal(t, binary.LittleEndian.AppendUint64(nil, 15<<60|(1<<60-1)), b)
	out := make([]uint64, 1)
	k, err := s8bDecode(out, b)
	require.NoError(t, err)
	require.Equal(t, 8, k)
	require.Equal(t, uint64(1<<60-1), out[0])
	for sel := range 16 {
		require.LessOrEqual(t, s8bCount[sel]*int(s8bBits[sel]), 60, "selector %d fits 60 bits", sel)
	}
}

func TestRansRejectsCorruption(t *testing.T) {
	for _, enc := range []byte{encEntropy, encEntropy2} {
		r := rand.New(rand.NewPCG(3, 4))
		v := walk(r, 1000)
		b, ok := encodeIntForm(nil, v, enc)
		require.True(t, ok)
		bad := 0
		for i := 5; i < len(b); i++ {
			c := bytes.Clone(b)
			c[i] ^= 0x5a
			got, err := DecodeInts(nil, c)
			if err != nil || fmt.Sprint(got) != fmt.Sprint(v) {
				bad++
			}
		}
		// The final-state checks catch almost every flipped byte.
		require.Greater(t, bad, (len(b)-5)*9/10, "encoding %#x", enc)
	}
}

// TestRans2OddAndTiny: the interleaved form with odd counts, one symbol, and escapes.
func TestRans2OddAndTiny(t *testing.T) {
	for _, v := range [][]int64{{5, 6}, {5, 6, 8}, {1, 2, 3, 4, 1000, 1, -5000, 7}, {0, 0, 0, 0, 0, 1}} {
		for _, enc := range []byte{encEntropy, encEntropy2} {
			b, ok := encodeIntForm(nil, v, enc)
			require.True(t, ok)
			roundTripInts(t, v, b)
		}
	}
}

// ---- floats ----

func floatCases() map[string][]float64 {
	r := rand.New(rand.NewPCG(5, 6))
	rnd := make([]float64, 1000)
	gauge := make([]float64, 1000)
	dec := make([]float64, 1000)
	ints := make([]float64, 1000)
	x := 50.0
	for i := range rnd {
		rnd[i] = math.Float64frombits(r.Uint64())
		x += r.NormFloat64()
		gauge[i] = x
		dec[i] = float64(int64(x*100)) / 100
		ints[i] = math.Trunc(x)
	}
	return map[string][]float64{
		"empty":    {},
		"single":   {1.5},
		"specials": {math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1), 0, math.SmallestNonzeroFloat64, math.MaxFloat64, math.Float64frombits(0x7ff8dead00000001)},
		"negzero":  {math.Copysign(0, -1), 0, 1, 2},
		"random":   rnd,
		"gauge":    gauge,
		"decimal2": dec,
		"integers": ints,
		"const":    {3.25, 3.25, 3.25, 3.25},
		"big":      {1e300, -1e300, 1e-300, 9007199254740993},
	}
}

func requireSameFloats(t *testing.T, want, got []float64) {
	t.Helper()
	require.Equal(t, len(want), len(got))
	for i := range want {
		require.Equal(t, math.Float64bits(want[i]), math.Float64bits(got[i]), "value %d", i)
	}
}

func TestFloatFormsRoundTripAndChooser(t *testing.T) {
	for name, v := range floatCases() {
		t.Run(name, func(t *testing.T) {
			forms := map[string][]byte{"raw": encodeFloatsRaw(nil, v)}
			if len(v) > 0 {
				forms["gorilla"] = encodeGorilla(nil, v)
			}
			var tmp []int64
			if b, ok := encodeFloatDec(nil, v, &tmp); ok {
				forms["dec"] = b
			}
			best := math.MaxInt
			for fname, b := range forms {
				got, err := DecodeFloats([]float64{}, b)
				require.NoError(t, err, fname)
				requireSameFloats(t, v, got)
				best = min(best, len(b))
			}
			enc := EncodeFloats(nil, v)
			got, err := DecodeFloats(nil, enc)
			require.NoError(t, err)
			requireSameFloats(t, v, got)
			if len(v) > 0 {
				require.Equal(t, best, len(enc), "EncodeFloats picks the smallest form")
			}
		})
	}
	// Decimal data must take the decimal path and be far below 8 bytes/value.
	enc := EncodeFloats(nil, floatCases()["decimal2"])
	require.Equal(t, byte(encFloatDec<<4|2), enc[0])
	require.Less(t, len(enc), 2000)
}

func TestFloatsQuick(t *testing.T) {
	require.NoError(t, quick.Check(func(bits []uint64, dec []int32) bool {
		v := make([]float64, len(bits))
		for i, b := range bits {
			v[i] = math.Float64frombits(b)
		}
		w := make([]float64, len(dec))
		for i, d := range dec {
			w[i] = float64(d) / 1000
		}
		for _, c := range [][]float64{v, w} {
			got, err := DecodeFloats(nil, EncodeFloats(nil, c))
			if err != nil || len(got) != len(c) {
				return false
			}
			for i := range c {
				if math.Float64bits(got[i]) != math.Float64bits(c[i]) {
					return false
				}
			}
		}
		return true
	}, nil))
}

// ---- bools ----

func TestBools(t *testing.T) {
	cases := map[string][]bool{
		"empty": {}, "one-true": {true}, "one-false": {false}, "all-true": make([]bool, 1000),
		"mixed9": {true, false, true, true, false, false, false, false, true},
	}
	for i := range cases["all-true"] {
		cases["all-true"][i] = true
	}
	for name, v := range cases {
		t.Run(name, func(t *testing.T) {
			for _, b := range [][]byte{encodeBoolsBitpack(nil, v), EncodeBools(nil, v)} {
				got, err := DecodeBools(nil, b)
				require.NoError(t, err)
				require.Equal(t, len(v), len(got))
				for i := range v {
					require.Equal(t, v[i], got[i])
				}
			}
		})
	}
	require.Equal(t, []byte{encConst << 4, 0xe8, 0x07, 1}, EncodeBools(nil, cases["all-true"]))
	require.Equal(t, []byte{encBitpack << 4, 9, 0b00001101, 1}, EncodeBools(nil, cases["mixed9"]))
	require.NoError(t, quick.Check(func(v []bool) bool {
		got, err := DecodeBools(nil, EncodeBools(nil, v))
		return err == nil && fmt.Sprint(got) == fmt.Sprint(v)
	}, nil))
}

// ---- bytes ----

func bytesCases() map[string][][]byte {
	r := rand.New(rand.NewPCG(9, 10))
	repetitive := make([][]byte, 1000)
	random := make([][]byte, 100)
	for i := range repetitive {
		repetitive[i] = fmt.Appendf(nil, "host_%d.us-west-2.example.com", i%7)
	}
	for i := range random {
		random[i] = make([]byte, r.IntN(40))
		for j := range random[i] {
			random[i][j] = byte(r.Uint32())
		}
	}
	return map[string][][]byte{
		"empty": {}, "one-empty": {{}}, "empties": {{}, {}, {}}, "single": {[]byte("x")},
		"mixed": {[]byte("a"), {}, []byte("hello"), {}}, "repetitive": repetitive, "random": random,
		"big": {bytes.Repeat([]byte("abc"), 100000)},
	}
}

func TestBytesFormsRoundTripAndChooser(t *testing.T) {
	for name, v := range bytesCases() {
		t.Run(name, func(t *testing.T) {
			raw := encodeBytesRaw(nil, v)
			forms := [][]byte{raw}
			if b, ok := encodeBytesLZ4(nil, v, raw); ok {
				forms = append(forms, b)
			}
			best := math.MaxInt
			for _, b := range append(forms, EncodeBytes(nil, v)) {
				src := bytes.Clone(b)
				got, err := DecodeBytes([][]byte{[]byte("p")}, src)
				require.NoError(t, err)
				require.Len(t, got, len(v)+1)
				for i := range v {
					require.Equal(t, string(v[i]), string(got[i+1]))
				}
				for i := range src {
					src[i] = 0xee // values must not alias src
				}
				for i := range v {
					require.Equal(t, string(v[i]), string(got[i+1]))
				}
				best = min(best, len(b))
			}
			require.Equal(t, best, len(EncodeBytes(nil, v)))
		})
	}
	require.Equal(t, byte(encLZ4<<4), EncodeBytes(nil, bytesCases()["repetitive"])[0])
	require.NoError(t, quick.Check(func(v [][]byte) bool {
		got, err := DecodeBytes(nil, EncodeBytes(nil, v))
		if err != nil || len(got) != len(v) {
			return false
		}
		for i := range v {
			if !bytes.Equal(got[i], v[i]) {
				return false
			}
		}
		return true
	}, nil))
}

func TestBytesBoundsDecodedSize(t *testing.T) {
	// A claimed decoded length above the maximum is rejected before allocating.
	b := appendHeader(nil, encLZ4, 0, 1)
	b = binary.AppendUvarint(b, MaxBytesColumn+1)
	b = append(b, make([]byte, 1<<20)...)
	_, err := DecodeBytes(nil, b)
	require.Error(t, err)
	b = appendHeader(nil, encLZ4, 0, 1)
	b = binary.AppendUvarint(b, 1<<20)
	b = append(b, 0x10, 'a')
	_, err = DecodeBytes(nil, b)
	require.Error(t, err)
}

// ---- malformed input ----

type encodedCase struct {
	kind string // ints, floats, bytes, bools
	b    []byte
}

func decodeKind(kind string, b []byte) error {
	var err error
	switch kind {
	case "ints":
		_, err = DecodeInts(nil, b)
	case "floats":
		_, err = DecodeFloats(nil, b)
	case "bytes":
		_, err = DecodeBytes(nil, b)
	case "bools":
		_, err = DecodeBools(nil, b)
	}
	return err
}

func allEncoded() []encodedCase {
	var out []encodedCase
	add := func(kind string, bs ...[]byte) {
		for _, b := range bs {
			out = append(out, encodedCase{kind, b})
		}
	}
	for _, v := range intCases() {
		if len(v) > 5000 {
			continue
		}
		add("ints", EncodeInts(nil, v), EncodeTimestamps(nil, v))
		for _, enc := range []byte{encRLE, encDelta8b, encDoD8b, encEntropy, encEntropy2} {
			if b, ok := encodeIntForm(nil, v, enc); ok {
				add("ints", b)
			}
		}
	}
	for _, v := range floatCases() {
		add("floats", EncodeFloats(nil, v), encodeFloatsRaw(nil, v))
		if len(v) > 0 {
			add("floats", encodeGorilla(nil, v))
		}
	}
	for _, v := range bytesCases() {
		add("bytes", EncodeBytes(nil, v), encodeBytesRaw(nil, v))
	}
	add("bools", EncodeBools(nil, []bool{true, false, true}), EncodeBools(nil, []bool{true, true}), EncodeBools(nil, nil))
	return out
}

func TestTruncatedInputFails(t *testing.T) {
	for _, c := range allEncoded() {
		b := c.b
		if len(b) > 3000 {
			continue
		}
		require.NoError(t, decodeKind(c.kind, b))
		for cut := 0; cut < len(b); cut++ {
			require.Error(t, decodeKind(c.kind, b[:cut]), "%s decoder accepted a %d-byte prefix of a %d-byte column (header %#x)", c.kind, cut, len(b), b[0])
		}
		require.Error(t, decodeKind(c.kind, append(bytes.Clone(b), 0)), "%s decoder accepted a trailing byte (header %#x)", c.kind, b[0])
	}
}

func TestCountRejectsHugeHeader(t *testing.T) {
	b := appendHeader(nil, encRaw, 0, MaxValues+1)
	_, err := Count(b)
	require.Error(t, err)
	_, err = DecodeInts(nil, b)
	require.Error(t, err)
	b = appendHeader(nil, encRLE, 0, MaxValues)
	b = append(b, 2, 2)
	got, err := DecodeInts(nil, b)
	require.NoError(t, err)
	require.Len(t, got, MaxValues)
	require.Equal(t, int64(MaxValues), got[MaxValues-1])
}

// batchIDs is a block's column of per-point version ids: n points, run points per write batch, ids
// numbered by first appearance.
func batchIDs(n, run int) []int64 {
	v := make([]int64, n)
	for i := range v {
		v[i] = int64(i / run)
	}
	return v
}

// stepSeqs is a seq column of batches that arrived out of order: runs of 5, values jumping around.
func stepSeqs(r *rand.Rand, n int) []int64 {
	v := make([]int64, n)
	x := int64(1700)
	for i := range v {
		if i%5 == 0 {
			x += int64(r.IntN(7)) - 2
		}
		v[i] = x
	}
	return v
}

func TestRunsForm(t *testing.T) {
	// 1000 ids in runs of 5: both nested columns are RLE (values step by 1, lengths constant).
	ids := batchIDs(1000, 5)
	b, ok := encodeIntForm(nil, ids, encRuns)
	require.True(t, ok)
	require.LessOrEqual(t, len(b), 16, "runs of a block written from 200 batches")
	roundTripInts(t, ids, b)
	require.Equal(t, len(b), len(EncodeUints(nil, i2u(ids))), "EncodeUints picks runs")
	// Short runs do not try the form.
	_, ok = encodeIntForm(nil, batchIDs(1000, 3), encRuns)
	require.False(t, ok)

	// Hostile payloads fail without panicking: the run lengths must cover the count exactly, a
	// nested column must not be runs again, the exponent must be 0.
	bad := map[string][]byte{}
	hdr := func(n int) []byte { return appendHeader(nil, encRuns, 0, n) }
	col := func(v ...int64) []byte { return EncodeInts(nil, v) }
	runs := func(n int, vals, lens []byte) []byte {
		c := append(hdr(n), 2)
		c = binary.AppendUvarint(c, uint64(len(vals)))
		return append(append(c, vals...), lens...)
	}
	require.Equal(t, []int64{7, 7, 7, 9}, must(DecodeInts(nil, runs(4, col(7, 9), col(2, 0)))))
	bad["lengths short"] = runs(5, col(7, 9), col(2, 0))
	bad["lengths long"] = runs(3, col(7, 9), col(2, 0))
	bad["negative length"] = runs(4, col(7, 9), col(-1, 3))
	bad["values count"] = runs(4, col(7, 9, 9), col(2, 0))
	bad["nested runs"] = runs(8, must2(encodeIntForm(nil, []int64{1, 1, 1, 1, 1, 1, 1, 1}, encRuns)), col(3, 3))
	bad["values past payload"] = append(append(hdr(4), 2, 100), col(7, 9)...)
	bad["zero runs"] = append(hdr(4), 0, 0)
	exp := runs(4, col(7, 9), col(2, 0))
	exp[0] |= 1
	bad["exponent"] = exp
	for name, src := range bad {
		_, err := DecodeInts(nil, src)
		require.Error(t, err, name)
	}
}

func must2(b []byte, ok bool) []byte {
	if !ok {
		panic("form does not apply")
	}
	return b
}
