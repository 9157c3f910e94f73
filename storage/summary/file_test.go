package summary_test

import (
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/recordfile"
	"github.com/chronogo/chronogo/storage/summary"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func quietLog() logrus.FieldLogger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return l
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	require.NoError(t, err)
	return st.Size()
}

// someEdits is a short history: two flushes, a compaction, a tombstone and an expiry.
func someEdits() []*summary.VersionEdit {
	return []*summary.VersionEdit{
		{AddFiles: []summary.FileMeta{{ID: 1, Level: 0, Size: 1000, MinTime: 100, MaxTime: 200, MinSeq: 1, MaxSeq: 10}}, FlushedSeq: 10, NextFileID: 2},
		{AddFiles: []summary.FileMeta{{ID: 2, Level: 0, Size: 2000, MinTime: 150, MaxTime: 300, MinSeq: 11, MaxSeq: 20}}, FlushedSeq: 20, NextFileID: 3},
		{AddFiles: []summary.FileMeta{{ID: 3, Level: 1, Size: 2500, MinTime: 100, MaxTime: 300, MinSeq: 1, MaxSeq: 20}}, DelFiles: []uint64{1, 2}},
		{AddTombstones: []summary.Tombstone{{ID: 1, Series: []storage.SeriesID{storage.NewSeriesID(0xabcdef, 1), storage.NewSeriesID(0xabcdef, 7)},
			MinTime: 120, MaxTime: 130, Version: 4, Seq: 21}}, MaxSeq: 21},
		{ExpiredBefore: 110},
	}
}

func TestFileOpenAppendReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "summary")
	f, st, err := summary.Open(path, quietLog())
	require.NoError(t, err)
	require.Equal(t, summary.NewState(), st)
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, []byte("CGSM\x01\x00\x00\x00"), raw[:8], "record-file header with the summary magic")

	m := newModel()
	for i, e := range someEdits() {
		require.NoError(t, f.Append(e), "edit %d", i)
		require.True(t, m.apply(e))
		m.requireEqual(t, f.State(), fmt.Sprintf("after edit %d", i))
	}
	// An edit that does not apply writes nothing.
	size := fileSize(t, path)
	require.Error(t, f.Append(&summary.VersionEdit{DelFiles: []uint64{1}}))
	require.Equal(t, size, fileSize(t, path))
	// State returns a copy.
	s := f.State()
	delete(s.Files, 3)
	require.Contains(t, f.State().Files, uint64(3))
	require.NoError(t, f.Close())
	require.NoError(t, f.Close(), "second close is a no-op")
	require.ErrorContains(t, f.Append(&summary.VersionEdit{}), "closed", "append after close is an error, not a panic")

	f2, st2, err := summary.Open(path, quietLog())
	require.NoError(t, err)
	m.requireEqual(t, st2, "reopened")
	m.requireEqual(t, f2.State(), "reopened")
	require.NoError(t, f2.Append(&summary.VersionEdit{FlushedSeq: 30}))
	require.NoError(t, f2.Close())
	_, st3, err := summary.Open(path, quietLog())
	require.NoError(t, err)
	require.Equal(t, uint64(30), st3.FlushedSeq)
}

// writeHistory appends edits to a new summary at path and returns the file size after each edit and
// the model state after each edit (index 0: before any edit).
func writeHistory(t *testing.T, path string, edits []*summary.VersionEdit) ([]int64, []*model) {
	f, _, err := summary.Open(path, quietLog())
	require.NoError(t, err)
	sizes := []int64{fileSize(t, path)}
	models := []*model{newModel()}
	for _, e := range edits {
		require.NoError(t, f.Append(e))
		sizes = append(sizes, fileSize(t, path))
		m := models[len(models)-1].clone()
		require.True(t, m.apply(e))
		models = append(models, m)
	}
	require.NoError(t, f.Close())
	return sizes, models
}

func TestFileTornTail(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	edits := someEdits()
	edits[len(edits)-1] = &summary.VersionEdit{ExpiredBefore: 110, AddFiles: []summary.FileMeta{{ID: 4, Level: 2, Size: 1, MinTime: 1, MaxTime: 2}}}
	sizes, models := writeHistory(t, src, edits)
	raw, err := os.ReadFile(src)
	require.NoError(t, err)
	lastStart := sizes[len(sizes)-2]
	require.Equal(t, int64(len(raw)), sizes[len(sizes)-1])
	prev := models[len(models)-2]

	for cut := lastStart + 1; cut < int64(len(raw)); cut++ {
		path := filepath.Join(dir, fmt.Sprintf("cut%d", cut))
		require.NoError(t, os.WriteFile(path, raw[:cut], 0o644))
		f, st, err := summary.Open(path, quietLog())
		require.NoError(t, err, "cut at %d", cut)
		prev.requireEqual(t, st, fmt.Sprintf("cut at %d", cut))
		require.Equal(t, lastStart, fileSize(t, path), "torn tail truncated")
		// The file keeps working after the repair.
		require.NoError(t, f.Append(&summary.VersionEdit{FlushedSeq: 99}))
		require.NoError(t, f.Close())
		_, st, err = summary.Open(path, quietLog())
		require.NoError(t, err)
		require.Equal(t, uint64(99), st.FlushedSeq)
		require.Equal(t, prev.files, st.Files)
	}
}

func TestFileCorruption(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	sizes, _ := writeHistory(t, src, someEdits())
	raw, err := os.ReadFile(src)
	require.NoError(t, err)

	// Flip each byte of the second edit record (offsets sizes[1]..sizes[2]).
	for i := sizes[1]; i < sizes[2]; i++ {
		c := append([]byte{}, raw...)
		c[i] ^= 0x10
		path := filepath.Join(dir, fmt.Sprintf("flip%d", i))
		require.NoError(t, os.WriteFile(path, c, 0o644))
		_, _, err := summary.Open(path, quietLog())
		var ce *storage.CorruptionError
		require.ErrorAs(t, err, &ce, "flip at %d", i)
		require.Equal(t, path, ce.Path)
		require.Equal(t, sizes[1], ce.Offset)
		require.Equal(t, c, mustRead(t, path), "nothing is truncated on corruption")
	}

	// Records with good CRCs whose payloads do not decode, or do not apply, are corruption too.
	good := someEdits()[0].Marshal(nil)
	for name, payloads := range map[string][][]byte{
		"undecodable":     {good, {0xff}, good},
		"does not apply":  {good, good},
		"delete unknown":  {(&summary.VersionEdit{DelFiles: []uint64{77}}).Marshal(nil)},
		"undecodable end": {good, {1, 2}},
	} {
		path := filepath.Join(dir, name)
		require.NoError(t, recordfile.WriteFileAtomic(path, summary.Magic, payloads))
		_, _, err := summary.Open(path, quietLog())
		var ce *storage.CorruptionError
		require.ErrorAs(t, err, &ce, name)
		require.Equal(t, path, ce.Path)
		wantOff := int64(recordfile.HeaderSize)
		if len(payloads) > 1 {
			wantOff += recordfile.FrameSize + int64(len(good))
		}
		require.Equal(t, wantOff, ce.Offset, name)
	}

	// Another file type's magic.
	path := filepath.Join(dir, "wal")
	require.NoError(t, recordfile.WriteFileAtomic(path, [4]byte{'C', 'G', 'W', 'L'}, nil))
	_, _, err = summary.Open(path, quietLog())
	var ce *storage.CorruptionError
	require.ErrorAs(t, err, &ce)
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

func TestFileRewrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "summary")
	f, _, err := summary.Open(path, quietLog())
	require.NoError(t, err)
	f.SetRewriteSize(300)
	m := newModel()
	maxSize, rewrites := int64(0), 0
	prevSize := fileSize(t, path)
	for i := range 100 {
		// Add a file, then delete it with the next edit: the live state stays small.
		var e *summary.VersionEdit
		if i%2 == 0 {
			id := uint64(i + 1)
			e = &summary.VersionEdit{AddFiles: []summary.FileMeta{{ID: id, Level: 1, Size: 1 << 20, MinTime: int64(i), MaxTime: int64(i) + 1000, MinSeq: uint64(i), MaxSeq: uint64(i) + 1}},
				FlushedSeq: uint64(i) + 1}
		} else {
			e = &summary.VersionEdit{DelFiles: []uint64{uint64(i)}}
		}
		require.NoError(t, f.Append(e))
		require.True(t, m.apply(e))
		size := fileSize(t, path)
		if size < prevSize {
			rewrites++
			// After a rewrite the file is exactly the header plus one snapshot record.
			snap := f.State().Snapshot().Marshal(nil)
			require.Equal(t, int64(recordfile.HeaderSize+recordfile.FrameSize+len(snap)), size)
		}
		maxSize, prevSize = max(maxSize, size), size
		require.LessOrEqual(t, size, int64(300+100), "size stays near the threshold")
	}
	require.Greater(t, rewrites, 3)
	m.requireEqual(t, f.State(), "after rewrites")
	require.NoError(t, f.Close())
	_, st, err := summary.Open(path, quietLog())
	require.NoError(t, err)
	m.requireEqual(t, st, "reopened after rewrites")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "no .tmp left behind")
}

func TestFileFailedRewrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "summary")
	f, _, err := summary.Open(path, quietLog())
	require.NoError(t, err)
	edits := someEdits()
	require.NoError(t, f.Append(edits[0]))
	// A non-empty directory where the rewrite's temporary file must go makes the rewrite fail.
	require.NoError(t, os.MkdirAll(filepath.Join(path+".tmp", "block"), 0o755))
	f.SetRewriteSize(0)
	err = f.Append(edits[1])
	require.Error(t, err)
	require.ErrorContains(t, err, "durable")
	m := newModel()
	require.True(t, m.apply(edits[0]))
	require.True(t, m.apply(edits[1]))
	m.requireEqual(t, f.State(), "edit applied despite the failed rewrite")

	// The file keeps appending to the old log (no nil writer); once the obstacle is gone, rewrites work.
	err = f.Append(edits[2])
	require.ErrorContains(t, err, "durable")
	require.True(t, m.apply(edits[2]))
	require.NoError(t, os.RemoveAll(path+".tmp"))
	require.NoError(t, f.Append(edits[3]))
	require.True(t, m.apply(edits[3]))
	require.NoError(t, f.Close())
	_, st, err := summary.Open(path, quietLog())
	require.NoError(t, err)
	m.requireEqual(t, st, "reopened")
}

// goldenState is the state of testdata/v1/summary, written out by hand.
func goldenState() *summary.State {
	return &summary.State{
		Files: map[uint64]summary.FileMeta{
			3: {ID: 3, Level: 1, Size: 2500, MinTime: 100, MaxTime: 300, MinSeq: 1, MaxSeq: 20},
			5: {ID: 5, Level: 4, Size: 1 << 33, MinTime: -1 << 40, MaxTime: 1 << 40, MinSeq: 0, MaxSeq: 1 << 35},
		},
		FlushedSeq:    20,
		NextFileID:    6,
		MaxSeq:        22,
		ExpiredBefore: 110,
		Tombstones: map[uint64]summary.Tombstone{
			2: {ID: 2, Series: []storage.SeriesID{1, 0xabcdef0000000001}, MinTime: math.MinInt64, MaxTime: math.MaxInt64, Version: math.MaxUint64, Seq: 22},
		},
	}
}

func goldenEdits() []*summary.VersionEdit {
	edits := someEdits()
	return append(edits,
		&summary.VersionEdit{AddTombstones: []summary.Tombstone{{ID: 2, Series: []storage.SeriesID{1, 0xabcdef0000000001},
			MinTime: math.MinInt64, MaxTime: math.MaxInt64, Version: math.MaxUint64, Seq: 22}}, DelTombstones: []uint64{1}},
		&summary.VersionEdit{AddFiles: []summary.FileMeta{{ID: 5, Level: 4, Size: 1 << 33, MinTime: -1 << 40, MaxTime: 1 << 40, MinSeq: 0, MaxSeq: 1 << 35}}},
	)
}

func TestGoldenV1(t *testing.T) {
	golden := filepath.Join("testdata", "v1", "summary")
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(golden), 0o755))
		_ = os.Remove(golden)
		f, _, err := summary.Open(golden, quietLog())
		require.NoError(t, err)
		for _, e := range goldenEdits() {
			require.NoError(t, f.Append(e))
		}
		require.NoError(t, f.Close())
		raw, err := os.ReadFile(golden)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(golden+".hex", []byte(hex.Dump(raw)), 0o644))
	}
	raw, err := os.ReadFile(golden)
	require.NoError(t, err)
	hexDump, err := os.ReadFile(golden + ".hex")
	require.NoError(t, err)
	require.Equal(t, hex.Dump(raw), string(hexDump), "the .hex dump matches the golden file")

	// Read a copy (Open may repair a file in place; the golden file stays frozen).
	path := filepath.Join(t.TempDir(), "summary")
	require.NoError(t, os.WriteFile(path, raw, 0o644))
	f, st, err := summary.Open(path, quietLog())
	require.NoError(t, err)
	require.NoError(t, f.Close())
	require.Equal(t, goldenState(), st)
	require.Equal(t, raw, mustRead(t, path), "opening did not change the file")

	// Today's writer still produces the same bytes from the same edits.
	path2 := filepath.Join(t.TempDir(), "summary")
	f, _, err = summary.Open(path2, quietLog())
	require.NoError(t, err)
	for _, e := range goldenEdits() {
		require.NoError(t, f.Append(e))
	}
	require.NoError(t, f.Close())
	require.Equal(t, raw, mustRead(t, path2))
}

func TestOpenMissingDir(t *testing.T) {
	_, _, err := summary.Open(filepath.Join(t.TempDir(), "no", "such", "summary"), quietLog())
	require.Error(t, err)
	require.False(t, errors.As(err, new(*storage.CorruptionError)))
}

// renameEdits is a flush, a plain tombstone, then a rename tombstone that also replaces the plain one
// (tag 9: docs/format/summary.md).
func renameEdits() []*summary.VersionEdit {
	target := storage.SeriesKey{Table: "cpu", Tags: []storage.Tag{{Key: "host", Value: storage.StringTag("b")}}}
	return []*summary.VersionEdit{
		{AddFiles: []summary.FileMeta{{ID: 1, Level: 1, Size: 1000, MinTime: 100, MaxTime: 200, MinSeq: 1, MaxSeq: 10}}, FlushedSeq: 10, NextFileID: 2},
		{AddTombstones: []summary.Tombstone{{ID: 1, Series: []storage.SeriesID{0xabcdef0000000001}, MinTime: 0, MaxTime: 150, Version: 3, Seq: 11}}, MaxSeq: 11},
		{AddTombstones: []summary.Tombstone{{ID: 2, Series: []storage.SeriesID{0xabcdef0000000001}, MinTime: math.MinInt64, MaxTime: math.MaxInt64,
			Version: 1 << 40, Seq: 12, Target: target.Marshal(nil)}}, DelTombstones: []uint64{1}, MaxSeq: 14},
	}
}

// TestGoldenRename pins a summary holding a rename tombstone (testdata/v1/summary-rename).
func TestGoldenRename(t *testing.T) {
	golden := filepath.Join("testdata", "v1", "summary-rename")
	if *update {
		_ = os.Remove(golden)
		f, _, err := summary.Open(golden, quietLog())
		require.NoError(t, err)
		for _, e := range renameEdits() {
			require.NoError(t, f.Append(e))
		}
		require.NoError(t, f.Close())
		raw, err := os.ReadFile(golden)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(golden+".hex", []byte(hex.Dump(raw)), 0o644))
	}
	raw := mustRead(t, golden)
	require.Equal(t, hex.Dump(raw), string(mustRead(t, golden+".hex")))
	// Hand-written expected state: the target key is cpu{host: "b"} spelled out byte by byte.
	want := &summary.State{
		Files:      map[uint64]summary.FileMeta{1: {ID: 1, Level: 1, Size: 1000, MinTime: 100, MaxTime: 200, MinSeq: 1, MaxSeq: 10}},
		FlushedSeq: 10, NextFileID: 2, MaxSeq: 14, ExpiredBefore: math.MinInt64,
		Tombstones: map[uint64]summary.Tombstone{2: {ID: 2, Series: []storage.SeriesID{0xabcdef0000000001}, MinTime: math.MinInt64,
			MaxTime: math.MaxInt64, Version: 1 << 40, Seq: 12, Target: []byte{3, 'c', 'p', 'u', 1, 4, 'h', 'o', 's', 't', 2, 1, 'b'}}},
	}
	path := filepath.Join(t.TempDir(), "summary")
	require.NoError(t, os.WriteFile(path, raw, 0o644))
	f, st, err := summary.Open(path, quietLog())
	require.NoError(t, err)
	require.Equal(t, want, st)
	// A rewrite (snapshot edit) keeps the rename tombstone and its target.
	f.SetRewriteSize(0)
	require.NoError(t, f.Append(&summary.VersionEdit{MaxSeq: 15}))
	require.NoError(t, f.Close())
	require.Less(t, fileSize(t, path), int64(len(raw)), "rewritten")
	_, st, err = summary.Open(path, quietLog())
	require.NoError(t, err)
	want.MaxSeq = 15
	require.Equal(t, want, st)

	path2 := filepath.Join(t.TempDir(), "summary")
	f, _, err = summary.Open(path2, quietLog())
	require.NoError(t, err)
	for _, e := range renameEdits() {
		require.NoError(t, f.Append(e))
	}
	require.NoError(t, f.Close())
	require.Equal(t, raw, mustRead(t, path2), "today's writer produces the golden bytes")
}
