package wal

import (
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata/v1 golden files")

const goldenDir = "testdata/v1"

// goldenEntries are the records of testdata/v1/00000001.wal. Never change them: the file is frozen.
var goldenEntries = []entry{
	{1, []byte("hello wal")},
	{2, []byte{}},
	{7, []byte{0x00, 0x01, 0xfe, 0xff}},
	{1 << 40, []byte("seq 2^40")},
}

func TestGoldenV1(t *testing.T) {
	segPath := filepath.Join(goldenDir, "00000001.wal")
	hexPath := segPath + ".hex"
	if *update {
		dir := t.TempDir()
		w, _ := mustOpenReplay(t, dir, Options{}, 0)
		appendAll(t, w, goldenEntries)
		require.NoError(t, w.Close())
		raw, err := os.ReadFile(filepath.Join(dir, "00000001.wal"))
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(goldenDir, 0o755))
		require.NoError(t, os.WriteFile(segPath, raw, 0o644))
		require.NoError(t, os.WriteFile(hexPath, []byte(hex.Dump(raw)), 0o644))
	}

	raw, err := os.ReadFile(segPath)
	require.NoError(t, err)
	dump, err := os.ReadFile(hexPath)
	require.NoError(t, err)
	require.Equal(t, hex.Dump(raw), string(dump), ".hex dump is out of date")

	// Read with the pure segment reader.
	var got []entry
	var offs []int64
	end, err := ReadSegment(segPath, func(off int64, seq uint64, data []byte) error {
		got = append(got, entry{seq, append([]byte{}, data...)})
		offs = append(offs, off)
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, goldenEntries, got)
	require.Equal(t, int64(len(raw)), end)
	require.Equal(t, []int64{8, 8 + 25, 8 + 25 + 16, 8 + 25 + 16 + 20}, offs)
	require.Equal(t, []byte("CGWL\x01\x00\x00\x00"), raw[:8])

	// Today's writer still produces the frozen bytes.
	dir := t.TempDir()
	w, _ := mustOpenReplay(t, dir, Options{}, 0)
	appendAll(t, w, goldenEntries)
	require.NoError(t, w.Close())
	now, err := os.ReadFile(filepath.Join(dir, "00000001.wal"))
	require.NoError(t, err)
	require.Equal(t, raw, now)

	// And a WAL opened on a copy replays it.
	_, replayed := mustOpenReplay(t, copyDir(t, goldenDir), Options{}, 0)
	require.Equal(t, goldenEntries, replayed)
}
