package codec

import (
	"encoding/binary"
	"fmt"
)

// Simple8b packs unsigned integers below 2^60 into 64-bit words. The selector is the high 4 bits of a
// word; the low 60 bits hold s8bCount[sel] values of s8bBits[sel] bits each, the first value in the
// least significant bits. Selectors 0 and 1 hold runs of zeros. A column's last word may hold fewer
// values than its selector allows: the decoder stops at the column count. Words are little-endian.
//
//	selector  0   1   2  3  4  5  6  7  8  9 10 11 12 13 14 15
//	values  240 120  60 30 20 15 12 10  8  7  6  5  4  3  2  1
//	bits      0   0   1  2  3  4  5  6  7  8 10 12 15 20 30 60
var (
	s8bCount = [16]int{240, 120, 60, 30, 20, 15, 12, 10, 8, 7, 6, 5, 4, 3, 2, 1}
	s8bBits  = [16]uint{0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 15, 20, 30, 60}
)

const s8bMax = 1<<60 - 1

// s8bEncode appends the simple8b words for vals to dst. It returns false if a value is >= 2^60.
func s8bEncode(dst []byte, vals []uint64) ([]byte, bool) {
	for len(vals) > 0 {
		sel := 0
	selLoop:
		for ; sel < 16; sel++ {
			c := min(s8bCount[sel], len(vals))
			lim := uint64(1)<<s8bBits[sel] - 1
			for _, x := range vals[:c] {
				if x > lim {
					continue selLoop
				}
			}
			break
		}
		if sel == 16 {
			return dst, false
		}
		c := min(s8bCount[sel], len(vals))
		w := uint64(sel) << 60
		b := s8bBits[sel]
		for j, x := range vals[:c] {
			w |= x << (uint(j) * b)
		}
		dst = binary.LittleEndian.AppendUint64(dst, w)
		vals = vals[c:]
	}
	return dst, true
}

// s8bDecode fills out with values from the words in src and returns the bytes consumed.
func s8bDecode(out []uint64, src []byte) (int, error) {
	pos := 0
	i := 0
	for i < len(out) {
		if len(src)-pos < 8 {
			return pos, fmt.Errorf("codec: simple8b: got %d bytes; want 8 for word at %d: %w", len(src)-pos, pos, errShort)
		}
		w := binary.LittleEndian.Uint64(src[pos:])
		pos += 8
		sel := w >> 60
		c := min(s8bCount[sel], len(out)-i)
		o := out[i : i+c]
		switch sel {
		case 0, 1:
			clear(o)
		case 2:
			unpack(o, w, 1)
		case 3:
			unpack(o, w, 2)
		case 4:
			unpack(o, w, 3)
		case 5:
			unpack(o, w, 4)
		case 6:
			unpack(o, w, 5)
		case 7:
			unpack(o, w, 6)
		case 8:
			unpack(o, w, 7)
		case 9:
			unpack(o, w, 8)
		default:
			unpack(o, w, s8bBits[sel])
		}
		i += c
	}
	return pos, nil
}

func unpack(o []uint64, w uint64, b uint) {
	m := uint64(1)<<b - 1
	for j := range o {
		o[j] = w & m
		w >>= b
	}
}
