package codec

import (
	"encoding/binary"
	"fmt"

	"github.com/pierrec/lz4/v4"
)

// MaxBytesColumn bounds the decoded payload of a bytes column (lengths and data).
const MaxBytesColumn = 64 << 20

// EncodeBytes appends an encoded column of byte strings to dst. Values may be empty. The raw form is
// count uvarint lengths followed by the concatenated data; the lz4 form stores the raw payload's length
// as a uvarint and then one lz4 block of it, and is used when it is smaller.
func EncodeBytes(dst []byte, v [][]byte) []byte {
	start := len(dst)
	dst = encodeBytesRaw(dst, v)
	s := scratchPool.Get().(*encScratch)
	defer scratchPool.Put(s)
	c, ok := encodeBytesLZ4(s.cand[:0], v, dst[start:])
	s.cand = c
	if ok && len(c) < len(dst)-start {
		dst = append(dst[:start], c...)
	}
	return dst
}

// encodeBytesLZ4 appends the lz4 form given the raw-form encoding raw of v; false if lz4 fails.
func encodeBytesLZ4(dst []byte, v [][]byte, raw []byte) ([]byte, bool) {
	_, _, payload, err := readHeaderNoParam(raw)
	if err != nil || len(payload) == 0 {
		return dst, false
	}
	dst = appendHeader(dst, encLZ4, 0, len(v))
	dst = binary.AppendUvarint(dst, uint64(len(payload)))
	bound := lz4.CompressBlockBound(len(payload))
	start := len(dst)
	dst = append(dst, make([]byte, bound)...)
	var c lz4.Compressor
	k, err := c.CompressBlock(payload, dst[start:])
	if err != nil || k == 0 { // k == 0: incompressible
		return dst[:start], false
	}
	return dst[:start+k], true
}

// encodeBytesRaw appends the raw form.
func encodeBytesRaw(dst []byte, v [][]byte) []byte {
	dst = appendHeader(dst, encRaw, 0, len(v))
	for _, x := range v {
		dst = binary.AppendUvarint(dst, uint64(len(x)))
	}
	for _, x := range v {
		dst = append(dst, x...)
	}
	return dst
}

// DecodeBytes appends the byte strings encoded in src to dst. The decoded values share one new backing
// buffer per call; they never alias src.
func DecodeBytes(dst [][]byte, src []byte) ([][]byte, error) {
	enc, n, p, err := readHeaderNoParam(src)
	if err != nil {
		return dst, err
	}
	switch enc {
	case encRaw:
		return decodeRawBytes(dst, n, p, false)
	case encLZ4:
		rawLen, k := binary.Uvarint(p)
		if k <= 0 {
			return dst, fmt.Errorf("codec: lz4 bytes: bad length uvarint: %w", errShort)
		}
		p = p[k:]
		// lz4 cannot expand more than 255x; bound before allocating.
		if rawLen > MaxBytesColumn || rawLen > 255*uint64(len(p))+16 {
			return dst, fmt.Errorf("codec: lz4 bytes: decoded length got %d; want <= min(%d, 255*%d): %w", rawLen, MaxBytesColumn, len(p), errBadHeader)
		}
		buf := make([]byte, rawLen)
		m, err := lz4.UncompressBlock(p, buf)
		if err != nil {
			return dst, fmt.Errorf("codec: lz4 bytes: %w", err)
		}
		if m != len(buf) {
			return dst, fmt.Errorf("codec: lz4 bytes: decoded got %d bytes; want %d: %w", m, len(buf), errShort)
		}
		return decodeRawBytes(dst, n, buf, true)
	}
	return dst, fmt.Errorf("codec: bytes: unknown encoding %d: %w", enc, errBadHeader)
}

// decodeRawBytes parses the raw payload p. If owned, the values alias p; otherwise they alias a copy.
func decodeRawBytes(dst [][]byte, n int, p []byte, owned bool) ([][]byte, error) {
	total := 0
	q := p
	for i := 0; i < n; i++ {
		l, k := binary.Uvarint(q)
		if k <= 0 {
			return dst, fmt.Errorf("codec: bytes length %d: bad uvarint: %w", i, errShort)
		}
		q = q[k:]
		if l > uint64(len(q)) {
			return dst, fmt.Errorf("codec: bytes length %d: got %d; want <= %d: %w", i, l, len(q), errShort)
		}
		total += int(l)
		if total > len(q) {
			return dst, fmt.Errorf("codec: bytes data: got %d bytes; want >= %d: %w", len(q), total, errShort)
		}
	}
	if total != len(q) {
		return dst, fmt.Errorf("codec: bytes data: got %d bytes; want %d: %w", len(q), total, errTrailing)
	}
	buf := q
	if !owned {
		buf = make([]byte, total)
		copy(buf, q)
	}
	dst, l := grow(dst, n)
	out := dst[l:]
	off := 0
	for i := range out {
		ln, k := binary.Uvarint(p)
		p = p[k:]
		out[i] = buf[off : off+int(ln) : off+int(ln)]
		off += int(ln)
	}
	return dst, nil
}
