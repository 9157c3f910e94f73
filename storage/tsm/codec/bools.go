package codec

import "fmt"

// EncodeBools appends an encoded bool column to dst: encConst (one byte, 0 or 1) when every value is the
// same, else encBitpack (one bit per value, LSB first, last byte zero-padded).
func EncodeBools(dst []byte, v []bool) []byte {
	if len(v) > 0 {
		same := true
		for _, x := range v[1:] {
			if x != v[0] {
				same = false
				break
			}
		}
		if same {
			return encodeBoolsConst(dst, v)
		}
	}
	return encodeBoolsBitpack(dst, v)
}

func encodeBoolsConst(dst []byte, v []bool) []byte {
	dst = appendHeader(dst, encConst, 0, len(v))
	if v[0] {
		return append(dst, 1)
	}
	return append(dst, 0)
}

func encodeBoolsBitpack(dst []byte, v []bool) []byte {
	dst = appendHeader(dst, encBitpack, 0, len(v))
	var b byte
	for i, x := range v {
		if x {
			b |= 1 << (i & 7)
		}
		if i&7 == 7 {
			dst = append(dst, b)
			b = 0
		}
	}
	if len(v)&7 != 0 {
		dst = append(dst, b)
	}
	return dst
}

// DecodeBools appends the bools encoded in src to dst.
func DecodeBools(dst []bool, src []byte) ([]bool, error) {
	enc, n, p, err := readHeaderNoParam(src)
	if err != nil {
		return dst, err
	}
	switch enc {
	case encBitpack:
		if want := (n + 7) / 8; len(p) != want {
			return dst, fmt.Errorf("codec: bitpacked bools: got %d bytes; want %d: %w", len(p), want, errShort)
		}
		if n&7 != 0 && p[len(p)-1]>>(n&7) != 0 {
			return dst, fmt.Errorf("codec: bitpacked bools: padding bits set: %w", errBadHeader)
		}
		dst, l := grow(dst, n)
		out := dst[l:]
		for i := range out {
			out[i] = p[i>>3]>>(i&7)&1 != 0
		}
		return dst, nil
	case encConst:
		if len(p) != 1 || p[0] > 1 {
			return dst, fmt.Errorf("codec: constant bools: got %d bytes %x; want one byte 0 or 1: %w", len(p), p, errBadHeader)
		}
		dst, l := grow(dst, n)
		out := dst[l:]
		for i := range out {
			out[i] = p[0] == 1
		}
		return dst, nil
	}
	return dst, fmt.Errorf("codec: bools: unknown encoding %d: %w", enc, errBadHeader)
}
