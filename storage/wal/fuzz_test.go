package wal

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/recordfile"
)

func FuzzReadWALSegment(f *testing.F) {
	if raw, err := os.ReadFile(filepath.Join(goldenDir, "00000001.wal")); err == nil {
		f.Add(raw)
		f.Add(raw[:len(raw)-3])
		f.Add(append(append([]byte{}, raw...), make([]byte, 64)...))
		c := append([]byte{}, raw...)
		c[40] ^= 0xff
		f.Add(c)
	}
	seg := []byte("CGWL\x01\x00\x00\x00")
	for _, e := range entries(1, 5) {
		seg = recordfile.AppendRecord(seg, append(binary.LittleEndian.AppendUint64(nil, e.seq), e.data...))
	}
	f.Add(seg)
	f.Add(seg[:3])
	f.Add([]byte{})
	f.Add([]byte("CGWL\x01\x00\x00\x00\xff\xff\xff\x03\x00\x00\x00\x00"))
	f.Add(recordfile.AppendRecord([]byte("CGWL\x01\x00\x00\x00"), []byte{1, 2}))

	tab := crc32.MakeTable(crc32.Castagnoli)
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(dir, "00000001.wal")
		require.NoError(t, os.WriteFile(path, b, 0o644))
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		before := ms.TotalAlloc
		var lastEnd int64 = recordfile.HeaderSize
		end, err := ReadSegment(path, func(off int64, seq uint64, data []byte) error {
			// Every record handed out passes its CRC, checked here from the raw bytes.
			require.Equal(t, lastEnd, off)
			n := 8 + SeqSize + len(data)
			require.LessOrEqual(t, off+int64(n), int64(len(b)))
			rec := b[off : off+int64(n)]
			require.Equal(t, uint32(SeqSize+len(data)), binary.LittleEndian.Uint32(rec[0:4]))
			want := crc32.Checksum(append(append([]byte{}, rec[0:4]...), rec[8:]...), tab)
			require.Equal(t, want, binary.LittleEndian.Uint32(rec[4:8]))
			require.Equal(t, seq, binary.LittleEndian.Uint64(rec[8:16]))
			require.Equal(t, data, rec[16:])
			lastEnd = off + int64(n)
			return nil
		})
		runtime.ReadMemStats(&ms)
		// Bounded by the input (the read buffer, one payload and one resync copy), never by a length field.
		require.Less(t, ms.TotalAlloc-before, uint64(4*len(b)+1<<20))
		require.LessOrEqual(t, end, int64(len(b)))
		var ce *storage.CorruptionError
		switch {
		case err == nil:
			require.Equal(t, int64(len(b)), end)
		case errors.Is(err, recordfile.ErrTornTail):
			require.Equal(t, lastEnd, max(end, recordfile.HeaderSize))
		case errors.As(err, &ce):
			require.Equal(t, path, ce.Path)
		default:
			t.Fatalf("unexpected error: %v", err)
		}
	})
}
