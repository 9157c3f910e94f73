package handoff

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/chronogo/chronogo/storage/recordfile"
)

// FuzzDecodeHint: any payload decodes or fails with errBadHint, never panics; what decodes
// encodes back to a payload that decodes to the same hint.
func FuzzDecodeHint(f *testing.F) {
	for i, wb := range goldenHints() {
		p, err := appendHint(nil, int64(i), wb)
		require.NoError(f, err)
		f.Add(p)
	}
	f.Add([]byte{})
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0xff})
	f.Fuzz(func(t *testing.T, payload []byte) {
		enq, wb, err := decodeHint(payload)
		if err != nil {
			require.ErrorIs(t, err, errBadHint)
			return
		}
		again, err := appendHint(nil, enq, wb)
		require.NoError(t, err)
		enq2, wb2, err := decodeHint(again)
		require.NoError(t, err)
		require.Equal(t, enq, enq2)
		require.True(t, proto.Equal(wb, wb2))
	})
}

// FuzzReadSegment: any bytes read as a segment yield hints or errors, never a panic; each
// record's payload decodes or fails with errBadHint.
func FuzzReadSegment(f *testing.F) {
	raw, err := os.ReadFile(filepath.Join("testdata", "v1", SegmentName(1)))
	require.NoError(f, err)
	f.Add(raw)
	f.Add(raw[:len(raw)-3])
	f.Add(raw[:recordfile.HeaderSize])
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = recordfile.ScanReaderAt(bytes.NewReader(data), int64(len(data)), "fuzz", segmentMagic, func(_ int64, p []byte) error {
			if _, _, err := decodeHint(p); err != nil {
				require.ErrorIs(t, err, errBadHint)
			}
			return nil
		})
	})
}
