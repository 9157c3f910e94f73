package mongo

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// trickle delivers data a chunk per Read, then err, recording what readGrowing offered.
type trickle struct {
	data     []byte
	chunk    int
	err      error
	got      int
	maxAhead int              // the most bytes reserved beyond those received, over all reads
	bases    map[uintptr]bool // distinct buffers read into
}

func (t *trickle) Read(p []byte) (int, error) {
	t.maxAhead = max(t.maxAhead, len(p))
	if len(p) > 0 {
		t.bases[uintptr(unsafe.Pointer(&p[0]))-uintptr(t.got)] = true
	}
	if t.got == len(t.data) {
		return 0, t.err
	}
	n := copy(p[:min(len(p), t.chunk)], t.data[t.got:])
	t.got += n
	return n, nil
}

// TestReadGrowingReserves: readGrowing reserves at most firstBodyChunk, the connection's previous
// message size (capped at maxBodyReserve) or twice what arrived; with a previous size as large as
// the body it reads into one buffer.
func TestReadGrowingReserves(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	cases := []struct {
		name      string
		announce  int
		send      int
		reserve   int
		maxAhead  int
		oneBuffer bool
	}{
		{"hostile 48 MB, nothing before", 48_000_000, 10, 0, firstBodyChunk, false},
		{"hostile 48 MB after a 1 MiB message", 48_000_000, 10, 1 << 20, 1 << 20, false},
		{"reserve capped", 48_000_000, 10, 1 << 30, maxBodyReserve, false},
		{"whole body, nothing before: grows by about what arrived", len(body), len(body), 0, len(body) / 2 * 5 / 4, false}, // size-class rounding
		{"whole body, same size before", len(body), len(body), len(body), len(body), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr := &trickle{data: body[:min(tc.send, len(body))], chunk: 10_000, err: io.EOF, bases: map[uintptr]bool{}}
			got, err := readGrowing(tr, tc.announce, tc.reserve)
			require.LessOrEqual(t, tr.maxAhead, tc.maxAhead)
			if tc.send < tc.announce {
				require.True(t, errors.Is(err, io.ErrUnexpectedEOF), "%v", err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, body, got)
			require.Equal(t, tc.oneBuffer, len(tr.bases) == 1, "buffers: %d", len(tr.bases))
		})
	}
}
