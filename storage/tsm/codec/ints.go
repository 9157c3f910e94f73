package codec

import (
	"encoding/binary"
	"fmt"
	"sync"
	"unsafe"
)

// Timestamps, ints and uints share one column format (the "int64 family"): the encoders try the forms
// below and keep the smallest; one decoder reads them all. The low nibble of the header byte is a decimal
// exponent e (0..15) for every form but raw: the stored values are v / 10^e (all v divisible by 10^e).
//
//	encRaw       count × int64 little-endian (e must be 0)
//	encRLE       zigzag uvarint first, zigzag uvarint delta: v[i] = first + i*delta
//	encDelta8b   zigzag uvarint first, then simple8b of the count-1 zigzag deltas
//	encDoD8b     zigzag uvarint first, zigzag uvarint first delta, then simple8b of the count-2 zigzag
//	             deltas of deltas
//	encEntropy   zigzag uvarint first, then the count-1 zigzag deltas coded by static rANS (entropy.go)
//	encEntropy2  the same with two interleaved rANS states (what the encoder writes since it exists)
//	encRuns      runs of equal values: a column of run values and one of run lengths (runs.go)
//
// All arithmetic wraps modulo 2^64, so any int64 sequence (MinInt64/MaxInt64 neighbours too) round-trips.

var pow10 = func() (p [19]int64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

const maxExp = 15

func zig(x int64) uint64   { return uint64(x<<1) ^ uint64(x>>63) }
func unzig(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }

// EncodeTimestamps appends an encoded timestamp column (ts sorted ascending) to dst. It picks the smallest
// of raw, RLE, simple8b of deltas-of-deltas and simple8b of deltas.
func EncodeTimestamps(dst []byte, ts []int64) []byte {
	return encodeFamily(dst, ts, formRLE|formDelta8b|formDoD8b)
}

// DecodeTimestamps appends the timestamps encoded in src to dst.
func DecodeTimestamps(dst []int64, src []byte) ([]int64, error) {
	return decodeFamily(dst, src)
}

// EncodeInts appends an encoded int64 column to dst. It picks the smallest of raw, RLE, simple8b of
// deltas and rANS-coded deltas.
func EncodeInts(dst []byte, v []int64) []byte {
	return encodeFamily(dst, v, formRLE|formDelta8b|formEntropy)
}

// DecodeInts appends the int64 values encoded in src to dst.
func DecodeInts(dst []int64, src []byte) ([]int64, error) {
	return decodeFamily(dst, src)
}

// EncodeUints appends an encoded uint64 column to dst: the int64 encoding of the same bits (a constant
// column is an RLE of a few bytes). It also tries the runs form (runs.go), which makes a column of
// per-point version ids or seqs, in runs of one write batch each, cost a few bytes.
func EncodeUints(dst []byte, v []uint64) []byte {
	return encodeFamily(dst, u2i(v), formRLE|formDelta8b|formEntropy|formRuns)
}

// DecodeUints appends the uint64 values encoded in src to dst.
func DecodeUints(dst []uint64, src []byte) ([]uint64, error) {
	out, err := decodeFamily(u2i(dst), src)
	return i2u(out), err
}

func u2i(v []uint64) []int64 {
	return unsafe.Slice((*int64)(unsafe.Pointer(unsafe.SliceData(v))), cap(v))[:len(v)]
}

func i2u(v []int64) []uint64 {
	return unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(v))), cap(v))[:len(v)]
}

// Forms an encoder may try (bit set), besides raw which is always a candidate.
const (
	formRLE = 1 << iota
	formDelta8b
	formDoD8b
	formEntropy
	formRuns
)

type encScratch struct {
	scaled []int64
	syms   []uint64
	dod    []uint64
	cand   []byte
	best   []byte
}

var scratchPool = sync.Pool{New: func() any { return new(encScratch) }}

// decimalExp returns the largest e <= maxExp such that every value is divisible by 10^e.
func decimalExp(v []int64) int {
	e := maxExp
	for _, x := range v {
		for e > 0 && x%pow10[e] != 0 {
			e--
		}
		if e == 0 {
			return 0
		}
	}
	return e
}

// intForms lists the int64-family encodings in the order the chooser tries them; ties keep the earlier.
var intForms = [...]struct {
	enc  byte
	form int
}{{encRLE, formRLE}, {encDelta8b, formDelta8b}, {encEntropy2, formEntropy}, {encDoD8b, formDoD8b}}

// prepare fills s.scaled (if e > 0) and s.syms (zigzag deltas of the scaled values) and returns the
// scaled values and e.
func (s *encScratch) prepare(v []int64) ([]int64, int) {
	w := v
	e := decimalExp(v)
	if e > 0 {
		s.scaled = s.scaled[:0]
		for _, x := range v {
			s.scaled = append(s.scaled, x/pow10[e])
		}
		w = s.scaled
	}
	s.syms = s.syms[:0]
	for i := 1; i < len(w); i++ {
		s.syms = append(s.syms, zig(int64(uint64(w[i])-uint64(w[i-1]))))
	}
	return w, e
}

func encodeFamily(dst []byte, v []int64, forms int) []byte {
	if len(v) == 0 {
		return appendHeader(dst, encRaw, 0, 0)
	}
	s := scratchPool.Get().(*encScratch)
	defer scratchPool.Put(s)
	w, e := s.prepare(v)
	s.best = encodeRaw(s.best[:0], v)
	if forms&formRuns != 0 {
		if c, ok := s.appendRuns(s.cand[:0], v); ok && len(c) < len(s.best) {
			s.best, c = c, s.best
			s.cand = c
		} else {
			s.cand = c
		}
	}
	for _, f := range intForms {
		if forms&f.form == 0 {
			continue
		}
		c, ok := s.appendIntForm(s.cand[:0], f.enc, w, e)
		if ok && len(c) < len(s.best) {
			s.best, c = c, s.best
		}
		s.cand = c
	}
	return append(dst, s.best...)
}

// encodeIntForm encodes v in the given form (tests), reporting false if the form does not apply.
func encodeIntForm(dst []byte, v []int64, enc byte) ([]byte, bool) {
	if enc == encRaw || len(v) == 0 {
		return encodeRaw(dst, v), enc == encRaw
	}
	s := new(encScratch)
	if enc == encRuns {
		c, ok := s.appendRuns(nil, v)
		return append(dst, c...), ok
	}
	w, e := s.prepare(v)
	c, ok := s.appendIntForm(nil, enc, w, e)
	return append(dst, c...), ok
}

// appendIntForm appends the column w (values divided by 10^e; s.syms its zigzag deltas) in form enc.
// It leaves s.syms unchanged.
func (s *encScratch) appendIntForm(c []byte, enc byte, w []int64, e int) ([]byte, bool) {
	c = appendHeader(c, enc, byte(e), len(w))
	c = binary.AppendUvarint(c, zig(w[0]))
	syms := s.syms
	switch enc {
	case encRLE:
		if len(syms) == 0 {
			return append(c, 0), true
		}
		for _, z := range syms[1:] {
			if z != syms[0] {
				return c, false
			}
		}
		return binary.AppendUvarint(c, syms[0]), true
	case encDelta8b:
		return s8bEncode(c, syms)
	case encEntropy:
		if len(syms) == 0 {
			return c, false
		}
		return ransEncode(c, syms), true
	case encEntropy2:
		if len(syms) == 0 {
			return c, false
		}
		return ransEncode2(c, syms), true
	case encDoD8b:
		if len(syms) == 0 {
			return c, false
		}
		c = binary.AppendUvarint(c, syms[0])
		prev := unzig(syms[0])
		s.dod = s.dod[:0]
		for _, z := range syms[1:] {
			d := unzig(z)
			s.dod = append(s.dod, zig(int64(uint64(d)-uint64(prev))))
			prev = d
		}
		return s8bEncode(c, s.dod)
	}
	return c, false
}

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

func encodeRaw(dst []byte, v []int64) []byte {
	dst = appendHeader(dst, encRaw, 0, len(v))
	for _, x := range v {
		dst = binary.LittleEndian.AppendUint64(dst, uint64(x))
	}
	return dst
}

// readUvarint reads a uvarint from p at *pos.
func readUvarint(p []byte, pos *int, what string) (uint64, error) {
	x, k := binary.Uvarint(p[*pos:])
	if k <= 0 {
		return 0, fmt.Errorf("codec: %s: bad uvarint at %d: %w", what, *pos, errShort)
	}
	*pos += k
	return x, nil
}

func decodeFamily(dst []int64, src []byte) ([]int64, error) {
	enc, param, n, p, err := readHeader(src)
	if err != nil {
		return dst, err
	}
	e := int(param)
	if e > maxExp || (enc == encRaw && e != 0) {
		return dst, fmt.Errorf("codec: int column: header byte %#x: bad exponent: %w", src[0], errBadHeader)
	}
	dst, l := grow(dst, n)
	out := dst[l:]
	if n == 0 {
		if len(p) != 0 {
			return dst[:l], fmt.Errorf("codec: empty int column: got %d payload bytes; want 0: %w", len(p), errTrailing)
		}
		return dst, nil
	}
	pos := 0
	switch enc {
	case encRaw:
		if len(p) != 8*n {
			return dst[:l], fmt.Errorf("codec: raw ints: got %d bytes; want %d: %w", len(p), 8*n, errShort)
		}
		for i := range out {
			out[i] = int64(binary.LittleEndian.Uint64(p[8*i:]))
		}
		return dst, nil
	case encRLE:
		first, err := readUvarint(p, &pos, "rle first")
		if err != nil {
			return dst[:l], err
		}
		d, err := readUvarint(p, &pos, "rle delta")
		if err != nil {
			return dst[:l], err
		}
		x, dd := uint64(unzig(first)), uint64(unzig(d))
		for i := range out {
			out[i] = int64(x)
			x += dd
		}
	case encDelta8b, encDoD8b:
		first, err := readUvarint(p, &pos, "first value")
		if err != nil {
			return dst[:l], err
		}
		out[0] = unzig(first)
		rest := out[1:]
		if enc == encDoD8b && n > 1 {
			d0, err := readUvarint(p, &pos, "first delta")
			if err != nil {
				return dst[:l], err
			}
			out[1] = unzig(d0)
			rest = out[2:]
		}
		k, err := s8bDecode(i2u(rest), p[pos:])
		if err != nil {
			return dst[:l], err
		}
		pos += k
		if enc == encDoD8b && n > 1 {
			d := uint64(out[1])
			x := uint64(out[0]) + d
			out[1] = int64(x)
			for i := 2; i < n; i++ {
				d += uint64(unzig(uint64(out[i])))
				x += d
				out[i] = int64(x)
			}
		} else {
			prefixSum(out)
		}
	case encRuns:
		if e != 0 {
			return dst[:l], fmt.Errorf("codec: runs column: header byte %#x: got exponent %d; want 0: %w", src[0], e, errBadHeader)
		}
		if err := decodeRuns(out, p); err != nil {
			return dst[:l], err
		}
		return dst, nil
	case encEntropy, encEntropy2:
		first, err := readUvarint(p, &pos, "first value")
		if err != nil {
			return dst[:l], err
		}
		out[0] = unzig(first)
		dec := ransDecode
		if enc == encEntropy2 {
			dec = ransDecode2
		}
		k, err := dec(i2u(out[1:]), p[pos:])
		if err != nil {
			return dst[:l], err
		}
		pos += k
		prefixSum(out)
	default:
		return dst[:l], fmt.Errorf("codec: int column: unknown encoding %d: %w", enc, errBadHeader)
	}
	if pos != len(p) {
		return dst[:l], fmt.Errorf("codec: int column: got %d payload bytes; want %d: %w", len(p), pos, errTrailing)
	}
	if e > 0 {
		m := pow10[e]
		for i := range out {
			out[i] *= m
		}
	}
	return dst, nil
}

// prefixSum turns out[1:] from zigzag deltas into values, out[0] being the first value.
func prefixSum(out []int64) {
	x := uint64(out[0])
	for i := 1; i < len(out); i++ {
		x += uint64(unzig(uint64(out[i])))
		out[i] = int64(x)
	}
}
