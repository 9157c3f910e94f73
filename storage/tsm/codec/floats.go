package codec

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"unsafe"
)

// maxFloatDec is the largest number of decimal places the encFloatDec form tries.
const maxFloatDec = 9

var pow10f = func() (p [16]float64) {
	for i := range p {
		p[i] = math.Pow(10, float64(i))
	}
	return p
}()

// EncodeFloats appends an encoded float64 column to dst. Bit patterns (NaN payloads, -0) are preserved.
// It picks the smallest of raw, Gorilla XOR and, when every value is m/10^k for an integer |m| < 2^53
// (bit-exact), encFloatDec: the int column of the m.
func EncodeFloats(dst []byte, v []float64) []byte {
	if len(v) == 0 {
		return appendHeader(dst, encRaw, 0, 0)
	}
	s := scratchPool.Get().(*encScratch)
	defer scratchPool.Put(s)
	s.best = encodeFloatsRaw(s.best[:0], v)
	if c, ok := encodeFloatDec(s.cand[:0], v, &s.scaled); ok && len(c) < len(s.best) {
		s.best, s.cand = c, s.best
	} else {
		s.cand = c
	}
	c := encodeGorilla(s.cand[:0], v)
	if len(c) < len(s.best) {
		s.best, c = c, s.best
	}
	s.cand = c
	return append(dst, s.best...)
}

// encodeFloatDec appends the encFloatDec form if it applies, using *tmp as scratch.
func encodeFloatDec(dst []byte, v []float64, tmp *[]int64) ([]byte, bool) {
	k, ok := floatDecimals(v)
	if !ok {
		return dst, false
	}
	m := (*tmp)[:0]
	for _, x := range v {
		m = append(m, int64(math.Round(x*pow10f[k])))
	}
	*tmp = m
	dst = appendHeader(dst, encFloatDec, byte(k), len(v))
	return EncodeInts(dst, m), true
}

// floatDecimals returns the smallest k <= maxFloatDec such that every x is float64(m)/10^k bit-exactly for
// an integer m with |m| < 2^53.
func floatDecimals(v []float64) (int, bool) {
	k := 0
	for _, x := range v {
		for !floatIsDec(x, k) {
			k++
			if k > maxFloatDec {
				return 0, false
			}
		}
	}
	// A value exact at a smaller k is almost always exact at k too; check.
	for _, x := range v {
		if !floatIsDec(x, k) {
			return 0, false
		}
	}
	return k, true
}

func floatIsDec(x float64, k int) bool {
	m := math.Round(x * pow10f[k])
	if !(m > -(1<<53) && m < 1<<53) {
		return false
	}
	return math.Float64bits(float64(int64(m))/pow10f[k]) == math.Float64bits(x)
}

func encodeFloatsRaw(dst []byte, v []float64) []byte {
	dst = appendHeader(dst, encRaw, 0, len(v))
	for _, x := range v {
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(x))
	}
	return dst
}

// encodeGorilla writes the Gorilla XOR form: the first value's 64 bits, then per value a control code:
// '0' same as previous; '10' XOR's meaningful bits fit the previous window (leading, length), which are
// written; '11' then 6 bits leading zeros, 6 bits length-1, then length meaningful bits. The window starts
// as (0, 64). Bits are MSB-first, the last byte zero-padded.
func encodeGorilla(dst []byte, v []float64) []byte {
	dst = appendHeader(dst, encGorilla, 0, len(v))
	w := bitWriter{buf: dst}
	prev := math.Float64bits(v[0])
	w.write(prev, 64)
	lead, length := uint(0), uint(64)
	for _, x := range v[1:] {
		b := math.Float64bits(x)
		xr := b ^ prev
		prev = b
		if xr == 0 {
			w.write(0, 1)
			continue
		}
		l := uint(bits.LeadingZeros64(xr))
		t := uint(bits.TrailingZeros64(xr))
		if l >= lead && t >= 64-lead-length && length <= 12+64-l-t {
			w.write(0b10, 2)
			w.write(xr>>(64-lead-length), length)
			continue
		}
		lead, length = l, 64-l-t
		w.write(0b11, 2)
		w.write(uint64(lead), 6)
		w.write(uint64(length-1), 6)
		w.write(xr>>t, length)
	}
	return w.flush()
}

// DecodeFloats appends the float64 values encoded in src to dst.
func DecodeFloats(dst []float64, src []byte) ([]float64, error) {
	enc, param, n, p, err := readHeader(src)
	if err != nil {
		return dst, err
	}
	if param != 0 && enc != encFloatDec {
		return dst, fmt.Errorf("codec: floats: header byte %#x: got parameter %d; want 0: %w", src[0], param, errBadHeader)
	}
	dst, l := grow(dst, n)
	out := dst[l:]
	switch enc {
	case encRaw:
		if len(p) != 8*n {
			return dst[:l], fmt.Errorf("codec: raw floats: got %d bytes; want %d: %w", len(p), 8*n, errShort)
		}
		for i := range out {
			out[i] = math.Float64frombits(binary.LittleEndian.Uint64(p[8*i:]))
		}
		return dst, nil
	case encFloatDec:
		if param > maxFloatDec {
			return dst[:l], fmt.Errorf("codec: decimal floats: got %d places; want <= %d: %w", param, maxFloatDec, errBadHeader)
		}
		m, err := Count(p)
		if err != nil {
			return dst[:l], err
		}
		if m != n {
			return dst[:l], fmt.Errorf("codec: decimal floats: inner count got %d; want %d: %w", m, n, errBadHeader)
		}
		ints := unsafe.Slice((*int64)(unsafe.Pointer(unsafe.SliceData(out))), n)[:0]
		ints, err = DecodeInts(ints, p)
		if err != nil {
			return dst[:l], err
		}
		pk := pow10f[param]
		for i, x := range ints {
			out[i] = float64(x) / pk
		}
		return dst, nil
	case encGorilla:
		if n == 0 {
			return dst[:l], fmt.Errorf("codec: gorilla floats: empty: %w", errBadHeader)
		}
		r := bitReader{src: p}
		prev := r.read(64)
		out[0] = math.Float64frombits(prev)
		lead, length := uint(0), uint(64)
		for i := 1; i < n && r.err == nil; i++ {
			if r.bit() {
				if r.bit() {
					lead = uint(r.read(6))
					length = uint(r.read(6)) + 1
					if lead+length > 64 {
						return dst[:l], fmt.Errorf("codec: gorilla floats: window lead %d length %d: got %d bits; want <= 64: %w", lead, length, lead+length, errBadHeader)
					}
				}
				prev ^= r.read(length) << (64 - lead - length)
			}
			out[i] = math.Float64frombits(prev)
		}
		if err := r.done(); err != nil {
			return dst[:l], err
		}
		return dst, nil
	}
	return dst[:l], fmt.Errorf("codec: floats: unknown encoding %d: %w", enc, errBadHeader)
}
