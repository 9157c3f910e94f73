package codec

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// MaxValues is the largest value count a decoder accepts in a column header.
const MaxValues = 1 << 16

// Encoding ids, stored in the high 4 bits of a column's header byte; the low 4 bits are a per-encoding
// parameter (zero where unused). See storage/docs/format/codec.md.
const (
	encRaw      = 0x0 // fixed-width little-endian values (bytes: uvarint lengths, then data)
	encRLE      = 0x1 // int64 family: first value, delta
	encDelta8b  = 0x2 // int64 family: first value, simple8b of zigzag deltas
	encDoD8b    = 0x3 // int64 family: first value, first delta, simple8b of zigzag deltas of deltas
	encEntropy  = 0x4 // int64 family: first value, static rANS of zigzag deltas
	encGorilla  = 0x5 // floats: Gorilla XOR bit stream
	encFloatDec = 0x6 // floats: all v*10^k are integers; an int column of them follows (param k)
	encBitpack  = 0x7 // bools: one bit per value, LSB first
	encConst    = 0x8 // bools: one byte, the value of every element
	encLZ4      = 0x9 // bytes: uvarint raw length, then an lz4 block of the raw form's payload
	encEntropy2 = 0xA // int64 family: first value, static rANS of zigzag deltas, two interleaved states
	encRuns     = 0xB // int64 family: runs of equal values, as a column of values and one of lengths
)

var (
	errShort     = errors.New("codec: short buffer")
	errTrailing  = errors.New("codec: trailing bytes")
	errBadHeader = errors.New("codec: bad header")
)

// appendHeader appends the header byte (enc<<4 | param) and the uvarint count.
func appendHeader(dst []byte, enc, param byte, n int) []byte {
	dst = append(dst, enc<<4|param)
	return binary.AppendUvarint(dst, uint64(n))
}

// readHeader parses a column header and returns the encoding id, the low-nibble parameter, the count
// and the payload.
func readHeader(src []byte) (enc, param byte, n int, rest []byte, err error) {
	if len(src) < 2 {
		return 0, 0, 0, nil, fmt.Errorf("codec: header: got %d bytes; want >= 2: %w", len(src), errShort)
	}
	c, k := binary.Uvarint(src[1:])
	if k <= 0 {
		return 0, 0, 0, nil, fmt.Errorf("codec: header count: bad uvarint: %w", errBadHeader)
	}
	if c > MaxValues {
		return 0, 0, 0, nil, fmt.Errorf("codec: header count: got %d; want <= %d: %w", c, MaxValues, errBadHeader)
	}
	return src[0] >> 4, src[0] & 0x0f, int(c), src[1+k:], nil
}

// readHeaderNoParam is readHeader for encodings whose parameter nibble must be zero.
func readHeaderNoParam(src []byte) (enc byte, n int, rest []byte, err error) {
	enc, param, n, rest, err := readHeader(src)
	if err == nil && param != 0 {
		err = fmt.Errorf("codec: header byte %#x: got parameter %d; want 0: %w", src[0], param, errBadHeader)
	}
	return enc, n, rest, err
}

// Count returns the number of values in an encoded column, from its header only.
func Count(src []byte) (int, error) {
	_, _, n, _, err := readHeader(src)
	return n, err
}

// grow returns dst extended by n elements (contents of the new elements unspecified), and the old length.
func grow[T any](dst []T, n int) ([]T, int) {
	l := len(dst)
	if cap(dst)-l < n {
		nd := make([]T, l, l+n)
		copy(nd, dst)
		dst = nd
	}
	return dst[:l+n], l
}
