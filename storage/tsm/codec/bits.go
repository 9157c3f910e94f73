package codec

import "fmt"

// bitWriter appends bits MSB-first.
type bitWriter struct {
	buf []byte
	acc uint64 // pending bits, left-aligned
	n   uint   // number of pending bits (< 8 between calls)
}

func (w *bitWriter) write(v uint64, k uint) {
	if k > 32 {
		w.write(v>>32, k-32)
		k = 32
	}
	if k == 0 {
		return
	}
	v &= 1<<k - 1
	w.acc |= v << (64 - w.n - k)
	w.n += k
	for w.n >= 8 {
		w.buf = append(w.buf, byte(w.acc>>56))
		w.acc <<= 8
		w.n -= 8
	}
}

// flush writes the pending bits, zero-padded to a byte, and returns the buffer.
func (w *bitWriter) flush() []byte {
	if w.n > 0 {
		w.buf = append(w.buf, byte(w.acc>>56))
		w.acc, w.n = 0, 0
	}
	return w.buf
}

// bitReader reads bits MSB-first.
type bitReader struct {
	src []byte
	pos int
	acc uint64 // valid bits, left-aligned
	n   uint
	err error
}

func (r *bitReader) refill() {
	for r.n <= 56 && r.pos < len(r.src) {
		r.acc |= uint64(r.src[r.pos]) << (56 - r.n)
		r.pos++
		r.n += 8
	}
}

// read returns the next k (<= 64) bits; after running out it sets r.err and returns 0.
func (r *bitReader) read(k uint) uint64 {
	if k > 32 {
		hi := r.read(k - 32)
		return hi<<32 | r.read(32)
	}
	if k == 0 {
		return 0
	}
	if r.n < k {
		r.refill()
		if r.n < k {
			if r.err == nil {
				r.err = fmt.Errorf("codec: bit stream: got %d bytes; want more: %w", len(r.src), errShort)
			}
			return 0
		}
	}
	v := r.acc >> (64 - k)
	r.acc <<= k
	r.n -= k
	return v
}

func (r *bitReader) bit() bool { return r.read(1) == 1 }

// done checks that only zero padding (< 8 bits) remains.
func (r *bitReader) done() error {
	if r.err != nil {
		return r.err
	}
	if r.pos != len(r.src) || r.n >= 8 || r.acc != 0 {
		return fmt.Errorf("codec: bit stream: got %d unread bits; want < 8 zero bits: %w", uint(len(r.src)-r.pos)*8+r.n, errTrailing)
	}
	return nil
}
