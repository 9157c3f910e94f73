package codec

import (
	"fmt"
	"math"
	"math/bits"
)

// Static rANS coding of small unsigned symbols (zigzag deltas), byte-wise renormalisation.
//
// Symbols are 0..nsym-1 (nsym <= 16). When nsym == 16, symbol 15 is an escape: the value is 15 + a
// uvarint read from the escape stream that follows the rANS bytes, in order of occurrence.
//
// Layout after the first value:
//
//	byte  (nsym-1)<<4 | S        S = log2 of the frequency total M (0..ransMaxScale)
//	byte  W                      bit width of each stored frequency (0..ransMaxScale+1)
//	(nsym-1)×W bits              frequencies of symbols 0..nsym-2, LSB-first bit packing, zero-padded
//	                             to a byte; symbol nsym-1 gets M - sum, which must be >= 1
//	3 bytes                      the encoder's final state, big-endian, in [ransL, 256*ransL)
//	rANS bytes                   read forward by the decoder while its state is below ransL
//	escape uvarints
//
// The decoder checks that its state ends at ransL, the encoder's initial state.
const (
	ransL        = 1 << 16
	ransMaxScale = 10
	ransEscape   = 15
)

// ransEncode appends the table, state and rANS bytes for syms to dst (one rANS state).
func ransEncode(dst []byte, syms []uint64) []byte { return ransEncodeWays(dst, syms, 1) }

// ransEncode2 is ransEncode with two interleaved states: symbol i is coded by state i%2, both
// states share one byte stream, and both final states are stored (x0 first). The decoder's two
// dependency chains run in parallel on the CPU, which makes it about twice as fast for 3 bytes.
func ransEncode2(dst []byte, syms []uint64) []byte { return ransEncodeWays(dst, syms, 2) }

func ransEncodeWays(dst []byte, syms []uint64, ways int) []byte {
	var cnt [16]int
	nsym := 0
	nesc := 0
	for _, z := range syms {
		if z >= ransEscape {
			cnt[ransEscape]++
			nesc++
		} else {
			cnt[z]++
		}
	}
	for s := 15; s >= 0; s-- {
		if cnt[s] > 0 {
			nsym = s + 1
			break
		}
	}
	if nesc > 0 {
		nsym = 16
	}
	var freq, best [16]uint32
	bestS, bestCost := -1, math.Inf(1)
	for S := 0; S <= ransMaxScale; S++ {
		cost, ok := ransNormalize(&freq, &cnt, nsym, len(syms), S)
		if !ok {
			continue
		}
		w := 0
		for s := 0; s < nsym-1; s++ {
			w = max(w, bits.Len32(freq[s]))
		}
		cost += float64(8 * (((nsym-1)*w + 7) / 8))
		if cost < bestCost {
			bestCost, bestS, best = cost, S, freq
		}
	}
	S := bestS
	freq = best
	var cum [17]uint32
	for s := 0; s < 16; s++ {
		cum[s+1] = cum[s] + freq[s]
	}
	w := 0
	for s := 0; s < nsym-1; s++ {
		w = max(w, bits.Len32(freq[s]))
	}
	dst = append(dst, byte(nsym-1)<<4|byte(S), byte(w))
	var acc uint64
	nb := 0
	for s := 0; s < nsym-1; s++ {
		acc |= uint64(freq[s]) << nb
		nb += w
		for nb >= 8 {
			dst = append(dst, byte(acc))
			acc >>= 8
			nb -= 8
		}
	}
	if nb > 0 {
		dst = append(dst, byte(acc))
	}
	// Encode backwards; the bytes come out reversed and are flipped at the end, so the decoder
	// reads them forward in the mirrored order (interleaved states included).
	start := len(dst)
	xs := [2]uint32{ransL, ransL}
	for i := len(syms) - 1; i >= 0; i-- {
		s := syms[i]
		if s > ransEscape {
			s = ransEscape
		}
		x := xs[i%ways]
		f := freq[s]
		xmax := ((ransL >> S) << 8) * f
		for x >= xmax {
			dst = append(dst, byte(x))
			x >>= 8
		}
		xs[i%ways] = (x/f)<<S + x%f + cum[s]
	}
	for w := ways - 1; w >= 0; w-- { // reversed below: state 0 comes first, big-endian
		x := xs[w]
		dst = append(dst, byte(x), byte(x>>8), byte(x>>16))
	}
	for i, j := start, len(dst)-1; i < j; i, j = i+1, j-1 {
		dst[i], dst[j] = dst[j], dst[i]
	}
	if nesc > 0 {
		for _, z := range syms {
			if z >= ransEscape {
				dst = appendUvarint(dst, z-ransEscape)
			}
		}
	}
	return dst
}

func appendUvarint(dst []byte, x uint64) []byte {
	for x >= 0x80 {
		dst = append(dst, byte(x)|0x80)
		x >>= 7
	}
	return append(dst, byte(x))
}

// ransNormalize sets freq[0:nsym] to counts scaled to total 2^S (every present symbol >= 1) and returns
// the coded size in bits of the symbols (excluding the table), or false if 2^S is too small.
func ransNormalize(freq *[16]uint32, cnt *[16]int, nsym, n, S int) (float64, bool) {
	M := 1 << S
	present := 0
	for s := 0; s < nsym; s++ {
		if cnt[s] > 0 {
			present++
		}
	}
	if present > M {
		return 0, false
	}
	sum := 0
	big := 0
	*freq = [16]uint32{}
	for s := 0; s < nsym; s++ {
		if cnt[s] == 0 {
			continue
		}
		q := max(1, int((int64(cnt[s])*int64(M)+int64(n)/2)/int64(n)))
		freq[s] = uint32(q)
		sum += q
		if cnt[s] > cnt[big] {
			big = s
		}
	}
	for sum > M {
		// take from the symbol that loses least per unit: the largest frequency above 1.
		m := -1
		for s := 0; s < nsym; s++ {
			if freq[s] > 1 && (m < 0 || freq[s] > freq[m]) {
				m = s
			}
		}
		freq[m]--
		sum--
	}
	freq[big] += uint32(M - sum)
	cost := 0.0
	for s := 0; s < nsym; s++ {
		if cnt[s] > 0 {
			cost += float64(cnt[s]) * math.Log2(float64(M)/float64(freq[s]))
		}
	}
	return cost, true
}

// ransRenorm refills a decoder state below ransL from p[i:] and returns it with the new position;
// a state still below ransL means the data ran out.
func ransRenorm(x uint32, p []byte, i int) (uint32, int) {
	for x < ransL && i < len(p) {
		x = x<<8 | uint32(p[i])
		i++
	}
	return x, i
}

func errRansShort(n int) error {
	return fmt.Errorf("codec: rans data: got %d bytes; want more: %w", n, errShort)
}

// ransDecode decodes len(out) symbols from src (table first) into out and returns the bytes consumed,
// including escapes.
func ransDecode(out []uint64, src []byte) (int, error) { return ransDecodeWays(out, src, 1) }

// ransDecode2 decodes what ransEncode2 wrote.
func ransDecode2(out []uint64, src []byte) (int, error) { return ransDecodeWays(out, src, 2) }

func ransDecodeWays(out []uint64, src []byte, ways int) (int, error) {
	if len(out) == 0 {
		return 0, nil
	}
	if len(src) < 2 {
		return 0, fmt.Errorf("codec: rans table: got %d bytes; want >= 2: %w", len(src), errShort)
	}
	nsym := int(src[0]>>4) + 1
	S := uint(src[0] & 0x0f)
	w := int(src[1])
	if S > ransMaxScale || w > ransMaxScale+1 {
		return 0, fmt.Errorf("codec: rans table: scale %d width %d: got too large; want <= %d: %w", S, w, ransMaxScale, errBadHeader)
	}
	M := uint32(1) << S
	tb := ((nsym-1)*w + 7) / 8
	pos := 2 + tb
	if len(src) < pos {
		return 0, fmt.Errorf("codec: rans table: got %d bytes; want >= %d: %w", len(src), pos, errShort)
	}
	// Decode table: per slot, sym | freq<<4 | bias<<16 where bias = slot - cum[sym].
	var tab [1 << ransMaxScale]uint32
	var acc uint64
	nb := 0
	tp := 2
	cum := uint32(0)
	for s := 0; s < nsym; s++ {
		var f uint32
		if s < nsym-1 {
			for nb < w {
				acc |= uint64(src[tp]) << nb
				tp++
				nb += 8
			}
			f = uint32(acc & (1<<w - 1))
			acc >>= w
			nb -= w
			if cum+f >= M {
				return 0, fmt.Errorf("codec: rans table: frequencies sum to %d; want < %d before the last: %w", cum+f, M, errBadHeader)
			}
		} else {
			f = M - cum
		}
		for j := uint32(0); j < f; j++ {
			tab[cum+j] = uint32(s) | f<<4 | j<<16
		}
		cum += f
	}
	if len(src) < pos+3*ways {
		return 0, fmt.Errorf("codec: rans states: got %d bytes; want >= %d: %w", len(src), pos+3*ways, errShort)
	}
	var xs [2]uint32
	for w := range ways {
		xs[w] = uint32(src[pos])<<16 | uint32(src[pos+1])<<8 | uint32(src[pos+2])
		pos += 3
		if xs[w] < ransL {
			return 0, fmt.Errorf("codec: rans state: got %d; want >= %d: %w", xs[w], ransL, errBadHeader)
		}
	}
	mask := M - 1
	p := src[pos:]
	i := 0
	k := 0
	if ways == 2 {
		// two independent chains per iteration; state 0 renormalizes first, as symbol k did
		x0, x1 := xs[0], xs[1]
		for ; k+1 < len(out); k += 2 {
			e0, e1 := tab[x0&mask], tab[x1&mask]
			out[k], out[k+1] = uint64(e0&0xf), uint64(e1&0xf)
			x0 = (e0>>4&0xfff)*(x0>>S) + e0>>16
			x1 = (e1>>4&0xfff)*(x1>>S) + e1>>16
			if x0, i = ransRenorm(x0, p, i); x0 < ransL {
				return 0, errRansShort(len(p))
			}
			if x1, i = ransRenorm(x1, p, i); x1 < ransL {
				return 0, errRansShort(len(p))
			}
		}
		xs[0], xs[1] = x0, x1
	}
	for ; k < len(out); k++ {
		x := xs[k%ways]
		e := tab[x&mask]
		out[k] = uint64(e & 0xf)
		x = (e>>4&0xfff)*(x>>S) + e>>16
		if x, i = ransRenorm(x, p, i); x < ransL {
			return 0, errRansShort(len(p))
		}
		xs[k%ways] = x
	}
	for w := range ways {
		if xs[w] != ransL {
			return 0, fmt.Errorf("codec: rans final state %d: got %d; want %d: %w", w, xs[w], ransL, errBadHeader)
		}
	}
	pos += i
	if nsym == 16 {
		for k, z := range out {
			if z == ransEscape {
				v, err := readUvarint(src, &pos, "rans escape")
				if err != nil {
					return 0, err
				}
				out[k] = ransEscape + v
			}
		}
	}
	return pos, nil
}
