package messages

import (
	"encoding/binary"
	"fmt"

	"github.com/pierrec/lz4/v4"

	"github.com/chronogo/chronogo/storage"
)

// CompressThreshold is the encoded batch size above which WriteBatch payloads are lz4-compressed.
const CompressThreshold = 4 << 10

// MaxBatchBytes bounds a decoded batch (well under gRPC's 4 MiB default receive size times the
// compression ratio), so a corrupt length cannot make a node allocate gigabytes.
const MaxBatchBytes = 64 << 20

// EncodeBatch returns b's storage.AppendBatch encoding, lz4-compressed when it is larger than
// CompressThreshold and compression helps. Compressed payloads start with uvarint(raw length).
func EncodeBatch(b *storage.Batch) (payload []byte, compressed bool) {
	raw := storage.AppendBatch(nil, b)
	if len(raw) <= CompressThreshold {
		return raw, false
	}
	out := binary.AppendUvarint(make([]byte, 0, binary.MaxVarintLen64+lz4.CompressBlockBound(len(raw))), uint64(len(raw)))
	var c lz4.Compressor
	n, err := c.CompressBlock(raw, out[len(out):cap(out)])
	if err != nil || n == 0 || len(out)+n >= len(raw) {
		return raw, false // incompressible
	}
	return out[:len(out)+n], true
}

// DecodeBatch reverses EncodeBatch.
func DecodeBatch(payload []byte, compressed bool) (*storage.Batch, error) {
	raw := payload
	if compressed {
		n, m := binary.Uvarint(payload)
		if m <= 0 || n > MaxBatchBytes {
			return nil, fmt.Errorf("decoding batch: bad raw length %d", n)
		}
		raw = make([]byte, n)
		got, err := lz4.UncompressBlock(payload[m:], raw)
		if err != nil {
			return nil, fmt.Errorf("decoding batch: lz4: %w", err)
		}
		if uint64(got) != n {
			return nil, fmt.Errorf("decoding batch: got %d bytes; want %d", got, n)
		}
	}
	b, err := storage.DecodeBatch(raw)
	if err != nil {
		return nil, fmt.Errorf("decoding batch: %w", err)
	}
	return b, nil
}

// SetBatch stores b (with its Version) in w.
func (w *WriteBatch) SetBatch(b *storage.Batch) {
	w.Version = b.Version
	w.Batch, w.Compressed = EncodeBatch(b)
}

// DecodeBatch returns w's batch with w's version.
func (w *WriteBatch) DecodeBatch() (*storage.Batch, error) {
	b, err := DecodeBatch(w.GetBatch(), w.GetCompressed())
	if err != nil {
		return nil, err
	}
	b.Version = w.GetVersion()
	return b, nil
}
