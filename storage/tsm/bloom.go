package tsm

import (
	"encoding/binary"
	"fmt"

	"github.com/bits-and-blooms/bloom/v3"

	"github.com/chronogo/chronogo/storage"
)

// DefaultBloomFP is the bloom filter's false positive rate when WriterOptions.BloomFP is 0.
const DefaultBloomFP = 0.01

// maxBloomK bounds the number of hash functions a file may ask for.
const maxBloomK = 64

// bloomHeaderSize is m(8) + k(8) + bitset length(8) of the bloom/v3 binary form.
const bloomHeaderSize = 24

func seriesBytes(s storage.SeriesID) [8]byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(s))
	return b
}

// buildBloom returns the bloom/v3 binary form of a filter over the given series.
func buildBloom(series []storage.SeriesID, fp float64) ([]byte, error) {
	f := bloom.NewWithEstimates(uint(max(len(series), 1)), fp)
	for _, s := range series {
		b := seriesBytes(s)
		f.Add(b[:])
	}
	return f.MarshalBinary()
}

// parseBloom validates the bloom/v3 binary form (m, k, bitset length, words, all big-endian) before
// handing it to the library, so garbage cannot make it allocate or divide by zero.
func parseBloom(b []byte) (*bloom.BloomFilter, error) {
	if len(b) < bloomHeaderSize {
		return nil, fmt.Errorf("bloom: got %d bytes; want >= %d", len(b), bloomHeaderSize)
	}
	m := binary.BigEndian.Uint64(b[0:])
	k := binary.BigEndian.Uint64(b[8:])
	l := binary.BigEndian.Uint64(b[16:])
	words := uint64(len(b)-bloomHeaderSize) / 8
	if m == 0 || m > uint64(len(b))*8 || l != m || k == 0 || k > maxBloomK || (m+63)/64 != words || uint64(len(b)-bloomHeaderSize)%8 != 0 {
		return nil, fmt.Errorf("bloom: m=%d k=%d bits=%d with %d bytes of words", m, k, l, len(b)-bloomHeaderSize)
	}
	f := &bloom.BloomFilter{}
	if err := f.UnmarshalBinary(b); err != nil {
		return nil, fmt.Errorf("bloom: %w", err)
	}
	return f, nil
}
