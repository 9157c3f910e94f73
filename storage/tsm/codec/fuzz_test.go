package codec

import (
	"bytes"
	"math"
	"testing"
)

// Each fuzz target: decoding must not panic; if it succeeds, encoding the values and decoding again must
// give the same values. Seeds are the encoded table cases.

func seed(f *testing.F, kind string) {
	for _, c := range allEncoded() {
		if c.kind == kind && len(c.b) < 20000 {
			f.Add(c.b)
		}
	}
}

func fuzzInt64(t *testing.T, src []byte, dec func([]int64, []byte) ([]int64, error), enc func([]byte, []int64) []byte) {
	v, err := dec(nil, src)
	if err != nil {
		return
	}
	w, err := dec(nil, enc(nil, v))
	if err != nil {
		t.Fatalf("re-decode: %v", err)
	}
	if len(v) != len(w) {
		t.Fatalf("re-decode: got %d values; want %d", len(w), len(v))
	}
	for i := range v {
		if v[i] != w[i] {
			t.Fatalf("value %d: got %d; want %d", i, w[i], v[i])
		}
	}
}

func FuzzDecodeInts(f *testing.F) {
	seed(f, "ints")
	f.Fuzz(func(t *testing.T, src []byte) { fuzzInt64(t, src, DecodeInts, EncodeInts) })
}

func FuzzDecodeTimestamps(f *testing.F) {
	seed(f, "ints")
	f.Fuzz(func(t *testing.T, src []byte) { fuzzInt64(t, src, DecodeTimestamps, EncodeTimestamps) })
}

func FuzzDecodeUints(f *testing.F) {
	seed(f, "ints")
	f.Fuzz(func(t *testing.T, src []byte) {
		v, err := DecodeUints(nil, src)
		if err != nil {
			return
		}
		w, err := DecodeUints(nil, EncodeUints(nil, v))
		if err != nil || len(w) != len(v) {
			t.Fatalf("re-decode: %v, %d values; want %d", err, len(w), len(v))
		}
		for i := range v {
			if v[i] != w[i] {
				t.Fatalf("value %d: got %d; want %d", i, w[i], v[i])
			}
		}
	})
}

func FuzzDecodeFloats(f *testing.F) {
	seed(f, "floats")
	f.Fuzz(func(t *testing.T, src []byte) {
		v, err := DecodeFloats(nil, src)
		if err != nil {
			return
		}
		w, err := DecodeFloats(nil, EncodeFloats(nil, v))
		if err != nil || len(w) != len(v) {
			t.Fatalf("re-decode: %v, %d values; want %d", err, len(w), len(v))
		}
		for i := range v {
			if math.Float64bits(v[i]) != math.Float64bits(w[i]) {
				t.Fatalf("value %d: got %x; want %x", i, math.Float64bits(w[i]), math.Float64bits(v[i]))
			}
		}
	})
}

func FuzzDecodeBools(f *testing.F) {
	seed(f, "bools")
	f.Fuzz(func(t *testing.T, src []byte) {
		v, err := DecodeBools(nil, src)
		if err != nil {
			return
		}
		w, err := DecodeBools(nil, EncodeBools(nil, v))
		if err != nil || len(w) != len(v) {
			t.Fatalf("re-decode: %v, %d values; want %d", err, len(w), len(v))
		}
		for i := range v {
			if v[i] != w[i] {
				t.Fatalf("value %d: got %v; want %v", i, w[i], v[i])
			}
		}
	})
}

func FuzzDecodeBytes(f *testing.F) {
	seed(f, "bytes")
	f.Fuzz(func(t *testing.T, src []byte) {
		v, err := DecodeBytes(nil, src)
		if err != nil {
			return
		}
		w, err := DecodeBytes(nil, EncodeBytes(nil, v))
		if err != nil || len(w) != len(v) {
			t.Fatalf("re-decode: %v, %d values; want %d", err, len(w), len(v))
		}
		for i := range v {
			if !bytes.Equal(v[i], w[i]) {
				t.Fatalf("value %d: got %q; want %q", i, w[i], v[i])
			}
		}
	})
}
