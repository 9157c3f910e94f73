package recordfile

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage"
)

var testMagic = [4]byte{'T', 'E', 'S', 'T'}

type rec struct {
	off     int64
	payload []byte
}

func scanAll(t *testing.T, path string) ([]rec, int64, error) {
	t.Helper()
	var got []rec
	end, err := Scan(path, testMagic, func(off int64, p []byte) error {
		got = append(got, rec{off, append([]byte{}, p...)})
		return nil
	})
	return got, end, err
}

// writeFile creates a record file with n records "record-<i>" of growing size and returns their
// expected offsets (computed from the documented sizes, not from the Writer).
func writeFile(t *testing.T, path string, n int) []rec {
	t.Helper()
	w, err := Create(path, testMagic)
	require.NoError(t, err)
	var want []rec
	off := int64(HeaderSize)
	for i := range n {
		p := []byte(fmt.Sprintf("record-%d-%s", i, bytes.Repeat([]byte{'x'}, i*3)))
		got, err := w.Append(p)
		require.NoError(t, err)
		require.Equal(t, off, got)
		want = append(want, rec{off, p})
		off += FrameSize + int64(len(p))
		require.Equal(t, off, w.Size())
	}
	require.NoError(t, w.Close())
	return want
}

func TestWriterScanRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	want := writeFile(t, path, 20)

	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, []byte{'T', 'E', 'S', 'T', 1, 0, 0, 0}, raw[:HeaderSize])
	model := []byte{'T', 'E', 'S', 'T', 1, 0, 0, 0}
	for _, r := range want {
		model = append(model, modelRecord(r.payload)...)
	}
	require.Equal(t, model, raw)

	got, end, err := scanAll(t, path)
	require.NoError(t, err)
	require.Equal(t, int64(len(raw)), end)
	require.Equal(t, want, got)

	// Create refuses an existing file.
	_, err = Create(path, testMagic)
	require.ErrorIs(t, err, os.ErrExist)

	// Append more after reopening at the end.
	w, err := OpenAppend(path, testMagic, end)
	require.NoError(t, err)
	off, err := w.Append([]byte("more"))
	require.NoError(t, err)
	require.Equal(t, end, off)
	require.NoError(t, w.Sync())
	require.NoError(t, w.Close())
	got, _, err = scanAll(t, path)
	require.NoError(t, err)
	require.Equal(t, append(want, rec{end, []byte("more")}), got)
}

func TestEmptyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	w, err := Create(path, testMagic)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	got, end, err := scanAll(t, path)
	require.NoError(t, err)
	require.Empty(t, got)
	require.Equal(t, int64(HeaderSize), end)
}

func TestAppendPartsEqualsAppend(t *testing.T) {
	dir := t.TempDir()
	a, err := Create(filepath.Join(dir, "a"), testMagic)
	require.NoError(t, err)
	b, err := Create(filepath.Join(dir, "b"), testMagic)
	require.NoError(t, err)
	for _, parts := range [][2]string{{"", ""}, {"head", ""}, {"", "body"}, {"head", "body"}} {
		_, err := a.AppendParts([]byte(parts[0]), []byte(parts[1]))
		require.NoError(t, err)
		_, err = b.Append([]byte(parts[0] + parts[1]))
		require.NoError(t, err)
	}
	require.NoError(t, a.Close())
	require.NoError(t, b.Close())
	ra, _ := os.ReadFile(filepath.Join(dir, "a"))
	rb, _ := os.ReadFile(filepath.Join(dir, "b"))
	require.Equal(t, rb, ra)
}

func TestAppendTooLarge(t *testing.T) {
	w, err := Create(filepath.Join(t.TempDir(), "f"), testMagic)
	require.NoError(t, err)
	defer w.Close()
	_, err = w.AppendParts(make([]byte, 8), make([]byte, MaxRecordSize-7))
	require.ErrorIs(t, err, ErrTooLarge)
	require.Equal(t, int64(HeaderSize), w.Size())
}

// checkTorn asserts a torn tail at wantEnd with exactly the records before it, then repairs the
// file with OpenAppend, appends one record and checks the clean result.
func checkTorn(t *testing.T, path string, want []rec, wantEnd int64) {
	t.Helper()
	size := fileSize(t, path)
	got, end, err := scanAll(t, path)
	require.ErrorIs(t, err, ErrTornTail)
	var torn *TornTailError
	require.ErrorAs(t, err, &torn)
	require.Equal(t, path, torn.Path)
	require.Equal(t, wantEnd, torn.Offset)
	require.Equal(t, size, torn.Size)
	require.Equal(t, wantEnd, end)
	require.Equal(t, want, got)

	w, err := OpenAppend(path, testMagic, end)
	require.NoError(t, err)
	off, err := w.Append([]byte("after repair"))
	require.NoError(t, err)
	require.NoError(t, w.Close())
	wantEnd = max(wantEnd, HeaderSize)
	require.Equal(t, wantEnd, off)
	got, end, err = scanAll(t, path)
	require.NoError(t, err)
	require.Equal(t, append(append([]rec{}, want...), rec{wantEnd, []byte("after repair")}), got)
	require.Equal(t, fileSize(t, path), end)
}

func fileSize(t *testing.T, path string) int64 {
	st, err := os.Stat(path)
	require.NoError(t, err)
	return st.Size()
}

func TestTornTail(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	recs := writeFile(t, src, 5)
	raw, err := os.ReadFile(src)
	require.NoError(t, err)
	last := recs[len(recs)-1]
	good := recs[:len(recs)-1]

	type tc struct {
		name string
		data []byte
	}
	var cases []tc
	for cut := last.off + 1; cut < int64(len(raw)); cut++ {
		cases = append(cases, tc{fmt.Sprintf("cut at %d", cut), raw[:cut]})
	}
	for i := last.off; i < int64(len(raw)); i++ {
		c := append([]byte{}, raw...)
		c[i] ^= 0x40
		cases = append(cases, tc{fmt.Sprintf("flip at %d", i), c})
	}
	zeroed := append([]byte{}, raw...)
	clear(zeroed[last.off:])
	cases = append(cases,
		tc{"zero-filled tail", append(append([]byte{}, raw[:last.off]...), make([]byte, 4096)...)},
		tc{"last record zeroed", zeroed},
		tc{"last record cut then zeros", append(append([]byte{}, raw[:last.off+5]...), make([]byte, 100)...)},
		tc{"garbage tail", append(append([]byte{}, raw[:last.off]...), bytes.Repeat([]byte{0xde, 0xad, 0xbe, 0xef}, 300)...)},
	)
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, fmt.Sprintf("case%d", i))
			require.NoError(t, os.WriteFile(path, c.data, 0o644))
			checkTorn(t, path, good, last.off)
		})
	}

	// A file cut inside its header (crash during Create) is torn at 0 and gets a fresh header.
	t.Run("cut at header", func(t *testing.T) {
		for n := 0; n < HeaderSize; n++ {
			path := filepath.Join(dir, fmt.Sprintf("hdr%d", n))
			require.NoError(t, os.WriteFile(path, raw[:n], 0o644))
			checkTorn(t, path, nil, 0)
		}
	})
	t.Run("zero header and zero body", func(t *testing.T) {
		path := filepath.Join(dir, "zerohdr")
		require.NoError(t, os.WriteFile(path, make([]byte, 100), 0o644))
		checkTorn(t, path, nil, 0)
	})
}

func TestCorruptionInMiddle(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	recs := writeFile(t, src, 5)
	raw, err := os.ReadFile(src)
	require.NoError(t, err)
	bad := recs[1] // record 2 of 5
	end := recs[2].off
	for i := bad.off; i < end; i++ {
		for _, mask := range []byte{0x01, 0x80, 0xff} {
			c := append([]byte{}, raw...)
			c[i] ^= mask
			path := filepath.Join(dir, fmt.Sprintf("flip%d-%x", i, mask))
			require.NoError(t, os.WriteFile(path, c, 0o644))
			got, validEnd, err := scanAll(t, path)
			var ce *storage.CorruptionError
			require.ErrorAs(t, err, &ce, "flip at %d mask %x", i, mask)
			require.False(t, errors.Is(err, ErrTornTail))
			require.Equal(t, path, ce.Path)
			require.Equal(t, bad.off, ce.Offset)
			require.Equal(t, bad.off, validEnd)
			require.Equal(t, recs[:1], got)
		}
	}
}

func TestBadHeader(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	writeFile(t, src, 3)
	raw, err := os.ReadFile(src)
	require.NoError(t, err)
	for _, tc := range []struct {
		name    string
		mutate  func([]byte) []byte
		wantOff int64
	}{
		{"wrong magic", func(b []byte) []byte { b[0] = 'X'; return b }, 0},
		{"other magic, no records", func(b []byte) []byte { return []byte("OTHR\x01\x00\x00\x00") }, 0},
		{"short non-prefix", func(b []byte) []byte { return []byte("TEXT") }, 0},
		{"wrong version", func(b []byte) []byte { b[4] = 2; return b }, 4},
		{"reserved set", func(b []byte) []byte { b[6] = 1; return b }, 6},
		{"zero header with records", func(b []byte) []byte { clear(b[:HeaderSize]); return b }, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name)
			require.NoError(t, os.WriteFile(path, tc.mutate(append([]byte{}, raw...)), 0o644))
			got, end, err := scanAll(t, path)
			var ce *storage.CorruptionError
			require.ErrorAs(t, err, &ce)
			require.Equal(t, path, ce.Path)
			require.Equal(t, tc.wantOff, ce.Offset)
			require.Zero(t, end)
			require.Empty(t, got)
		})
	}
	// OpenAppend checks the header too.
	_, err = OpenAppend(src, [4]byte{'N', 'O', 'P', 'E'}, HeaderSize)
	var ce *storage.CorruptionError
	require.ErrorAs(t, err, &ce)
	_, err = OpenAppend(src, testMagic, int64(len(raw))+1)
	require.Error(t, err)
}

func TestResyncLimits(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	recs := writeFile(t, path, 3)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	// A tail of frames that all claim 16-byte payloads: plausible lengths everywhere, no valid CRC.
	_, err = f.Write(bytes.Repeat([]byte{0x10, 0, 0, 0}, 256))
	require.NoError(t, err)
	require.NoError(t, f.Close())
	end := fileSize(t, path) - 1024

	// With the default limits it is a torn tail.
	_, validEnd, err := scanAll(t, path)
	require.ErrorIs(t, err, ErrTornTail)
	require.Equal(t, end, validEnd)

	var ce *storage.CorruptionError
	t.Run("budget exhausted", func(t *testing.T) {
		old := resyncBudget
		t.Cleanup(func() { resyncBudget = old })
		resyncBudget = func(int) int { return 100 }
		got, _, err := scanAll(t, path)
		require.ErrorAs(t, err, &ce)
		require.Equal(t, end, ce.Offset)
		require.Len(t, got, len(recs))
	})
	t.Run("tail too long", func(t *testing.T) {
		old := maxResyncTail
		t.Cleanup(func() { maxResyncTail = old })
		maxResyncTail = 1000
		_, _, err := scanAll(t, path)
		require.ErrorAs(t, err, &ce)
		require.Equal(t, end, ce.Offset)
	})
}

func TestScanCallbackError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	recs := writeFile(t, path, 4)
	stop := errors.New("stop")
	n := 0
	end, err := Scan(path, testMagic, func(off int64, p []byte) error {
		n++
		if n == 3 {
			return stop
		}
		return nil
	})
	require.ErrorIs(t, err, stop)
	require.Equal(t, recs[2].off, end)
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "summary")
	payloads := [][]byte{[]byte("a"), {}, []byte("ccc")}
	require.NoError(t, WriteFileAtomic(path, testMagic, payloads))
	got, _, err := scanAll(t, path)
	require.NoError(t, err)
	require.Equal(t, []rec{{8, []byte("a")}, {17, []byte{}}, {25, []byte("ccc")}}, got)

	// Replace it, with a stale tmp file lying around.
	require.NoError(t, os.WriteFile(path+".tmp", []byte("stale"), 0o644))
	require.NoError(t, WriteFileAtomic(path, testMagic, [][]byte{[]byte("new")}))
	got, _, err = scanAll(t, path)
	require.NoError(t, err)
	require.Equal(t, []rec{{8, []byte("new")}}, got)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1)

	require.ErrorIs(t, WriteFileAtomic(path, testMagic, [][]byte{make([]byte, MaxRecordSize+1)}), ErrTooLarge)
	got, _, err = scanAll(t, path)
	require.NoError(t, err)
	require.Equal(t, []rec{{8, []byte("new")}}, got, "failed rewrite keeps the old file")
	_, err = os.Stat(path + ".tmp")
	require.ErrorIs(t, err, os.ErrNotExist)
}
