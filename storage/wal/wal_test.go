package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/recordfile"
)

type entry struct {
	seq  uint64
	data []byte
}

func quietLogger() *logrus.Logger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return l
}

// openReplay opens dir and replays records after afterSeq.
func openReplay(t *testing.T, dir string, opts Options, afterSeq uint64) (*WAL, []entry, error) {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quietLogger()
	}
	w, err := Open(dir, opts)
	require.NoError(t, err)
	var got []entry
	err = w.Replay(afterSeq, func(seq uint64, data []byte) error {
		got = append(got, entry{seq, append([]byte{}, data...)})
		return nil
	})
	return w, got, err
}

func mustOpenReplay(t *testing.T, dir string, opts Options, afterSeq uint64) (*WAL, []entry) {
	t.Helper()
	w, got, err := openReplay(t, dir, opts, afterSeq)
	require.NoError(t, err)
	t.Cleanup(func() { _ = w.Close() })
	return w, got
}

func makeEntry(seq uint64) entry {
	return entry{seq, []byte(fmt.Sprintf("batch-%d-%s", seq, make([]byte, seq%17)))}
}

func appendAll(t *testing.T, w *WAL, es []entry) {
	t.Helper()
	for _, e := range es {
		require.NoError(t, w.Append(e.seq, e.data))
	}
	if len(es) > 0 {
		require.NoError(t, w.Commit(es[len(es)-1].seq))
	}
}

func entries(from, to uint64) []entry {
	var es []entry
	for s := from; s <= to; s++ {
		es = append(es, makeEntry(s))
	}
	return es
}

// recordSize is the on-disk size of a WAL record per docs/format/wal.md.
func recordSize(e entry) int64 { return 4 + 4 + 8 + int64(len(e.data)) }

func TestRoundTripSegments(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "wal")
	opts := Options{SegmentSize: 300}
	w, got := mustOpenReplay(t, dir, opts, 0)
	require.Empty(t, got)
	require.Equal(t, []string{filepath.Join(dir, "00000001.wal")}, w.Segments())

	first := entries(1, 40)
	appendAll(t, w, first)
	require.Equal(t, uint64(40), w.LastSeq())
	segs := w.Segments()
	require.Greater(t, len(segs), 3)
	require.NoError(t, w.Close())
	require.NoError(t, w.Close(), "Close is idempotent")

	// Each segment is <= SegmentSize or holds a single record, names are consecutive, and the
	// records concatenated over the segments are exactly what was appended.
	var onDisk []entry
	for i, p := range segs {
		require.Equal(t, filepath.Join(dir, fmt.Sprintf("%08d.wal", i+1)), p)
		n := 0
		end, err := ReadSegment(p, func(off int64, seq uint64, data []byte) error {
			onDisk = append(onDisk, entry{seq, append([]byte{}, data...)})
			n++
			return nil
		})
		require.NoError(t, err)
		require.True(t, end <= opts.SegmentSize || n == 1, "segment %s: size %d with %d records", p, end, n)
		require.Positive(t, n)
	}
	require.Equal(t, first, onDisk)

	w2, got := mustOpenReplay(t, dir, opts, 0)
	require.Equal(t, first, got)
	require.Equal(t, uint64(40), w2.LastSeq())
	second := entries(41, 60)
	appendAll(t, w2, second)
	require.NoError(t, w2.Close())

	_, got = mustOpenReplay(t, dir, opts, 0)
	require.Equal(t, append(append([]entry{}, first...), second...), got)
}

func TestBigRecordGetsOwnSegment(t *testing.T) {
	dir := t.TempDir()
	w, _ := mustOpenReplay(t, dir, Options{SegmentSize: 100}, 0)
	big := entry{1, make([]byte, 1000)}
	appendAll(t, w, []entry{big, {2, []byte("x")}})
	require.Len(t, w.Segments(), 2)
	require.NoError(t, w.Close())
	_, got := mustOpenReplay(t, dir, Options{SegmentSize: 100}, 0)
	require.Equal(t, []entry{big, {2, []byte("x")}}, got)
}

func TestReplayAfterSeq(t *testing.T) {
	dir := t.TempDir()
	w, _ := mustOpenReplay(t, dir, Options{SegmentSize: 200}, 0)
	all := entries(1, 30)
	appendAll(t, w, all)
	require.NoError(t, w.Close())

	for _, after := range []uint64{0, 1, 7, 29, 30, 100} {
		t.Run(fmt.Sprint(after), func(t *testing.T) {
			w, got := mustOpenReplay(t, dir, Options{SegmentSize: 200}, after)
			var want []entry
			for _, e := range all {
				if e.seq > after {
					want = append(want, e)
				}
			}
			require.Equal(t, want, got)
			require.Equal(t, max(after, 30), w.LastSeq())
			err := w.Append(max(after, 30), []byte("stale"))
			require.ErrorIs(t, err, ErrSeqOrder)
			require.NoError(t, w.Close())
		})
	}
}

func TestSeqOrderAndStateErrors(t *testing.T) {
	dir := t.TempDir()
	w, err := Open(dir, Options{Logger: quietLogger()})
	require.NoError(t, err)
	require.ErrorIs(t, w.Append(1, nil), ErrNotReplayed)
	require.ErrorIs(t, w.RemoveThrough(1), ErrNotReplayed)
	require.NoError(t, w.Replay(0, nil))
	require.Error(t, w.Replay(0, nil), "replay twice")

	require.NoError(t, w.Append(5, []byte("a")))
	require.ErrorIs(t, w.Append(5, []byte("b")), ErrSeqOrder)
	require.ErrorIs(t, w.Append(4, []byte("b")), ErrSeqOrder)
	require.ErrorIs(t, w.Append(0, []byte("b")), ErrSeqOrder)
	require.NoError(t, w.Append(9, nil))
	require.ErrorIs(t, w.Commit(10), ErrSeqOrder)
	require.NoError(t, w.Commit(9))
	require.Error(t, w.Append(10, make([]byte, MaxDataSize+1)))
	require.NoError(t, w.Close())
	require.ErrorIs(t, w.Append(10, nil), ErrClosed)
	require.ErrorIs(t, w.Sync(), ErrClosed)
	require.NoError(t, w.Commit(9), "already durable")
	require.ErrorIs(t, w.Commit(10), ErrClosed)

	_, got := mustOpenReplay(t, dir, Options{}, 0)
	require.Equal(t, []entry{{5, []byte("a")}, {9, []byte{}}}, got)
}

func TestReplayCallbackError(t *testing.T) {
	dir := t.TempDir()
	w, _ := mustOpenReplay(t, dir, Options{}, 0)
	appendAll(t, w, entries(1, 5))
	require.NoError(t, w.Close())
	stop := errors.New("stop")
	w2, err := Open(dir, Options{Logger: quietLogger()})
	require.NoError(t, err)
	require.ErrorIs(t, w2.Replay(0, func(seq uint64, _ []byte) error {
		if seq == 3 {
			return stop
		}
		return nil
	}), stop)
	require.ErrorIs(t, w2.Append(6, nil), ErrNotReplayed)
	require.NoError(t, w2.Close())
}

// writeSegment writes a segment file directly with recordfile, bypassing the WAL's checks.
func writeSegment(t *testing.T, path string, es []entry) {
	t.Helper()
	var payloads [][]byte
	for _, e := range es {
		payloads = append(payloads, append(binary.LittleEndian.AppendUint64(nil, e.seq), e.data...))
	}
	require.NoError(t, recordfile.WriteFileAtomic(path, Magic, payloads))
}

func TestReplayRejectsBadSeqOrderAndGaps(t *testing.T) {
	t.Run("decreasing across segments", func(t *testing.T) {
		dir := t.TempDir()
		writeSegment(t, filepath.Join(dir, "00000001.wal"), []entry{{5, nil}})
		writeSegment(t, filepath.Join(dir, "00000002.wal"), []entry{{3, nil}})
		_, _, err := openReplay(t, dir, Options{}, 0)
		var ce *storage.CorruptionError
		require.ErrorAs(t, err, &ce)
		require.Equal(t, filepath.Join(dir, "00000002.wal"), ce.Path)
		require.Equal(t, int64(8), ce.Offset)
	})
	t.Run("repeated within a segment", func(t *testing.T) {
		dir := t.TempDir()
		writeSegment(t, filepath.Join(dir, "00000001.wal"), []entry{{5, nil}, {5, nil}})
		_, _, err := openReplay(t, dir, Options{}, 0)
		var ce *storage.CorruptionError
		require.ErrorAs(t, err, &ce)
		require.Equal(t, int64(8+16), ce.Offset)
	})
	t.Run("short payload", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "00000001.wal")
		require.NoError(t, recordfile.WriteFileAtomic(path, Magic, [][]byte{{1, 2, 3}}))
		_, _, err := openReplay(t, dir, Options{}, 0)
		var ce *storage.CorruptionError
		require.ErrorAs(t, err, &ce)
		require.Equal(t, path, ce.Path)
		require.Equal(t, int64(8), ce.Offset)
	})
	t.Run("missing segment", func(t *testing.T) {
		dir := t.TempDir()
		writeSegment(t, filepath.Join(dir, "00000001.wal"), []entry{{1, nil}})
		writeSegment(t, filepath.Join(dir, "00000003.wal"), []entry{{3, nil}})
		_, err := Open(dir, Options{Logger: quietLogger()})
		var ce *storage.CorruptionError
		require.ErrorAs(t, err, &ce)
		require.Equal(t, filepath.Join(dir, "00000002.wal"), ce.Path)
	})
	t.Run("other files ignored", func(t *testing.T) {
		dir := t.TempDir()
		writeSegment(t, filepath.Join(dir, "00000002.wal"), []entry{{1, []byte("x")}})
		for _, name := range []string{"1.wal", "000000002.wal", "0000000a.wal", "00000003.wal.tmp", "notes"} {
			require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte("junk"), 0o644))
		}
		w, got := mustOpenReplay(t, dir, Options{}, 0)
		require.Equal(t, []entry{{1, []byte("x")}}, got)
		require.Equal(t, []string{filepath.Join(dir, "00000002.wal")}, w.Segments())
	})
}

func TestSegmentNames(t *testing.T) {
	require.Equal(t, "00000001.wal", SegmentName(1))
	require.Equal(t, "123456789.wal", SegmentName(123456789))
	for name, want := range map[string]uint64{"00000001.wal": 1, "00000042.wal": 42, "123456789.wal": 123456789} {
		got, ok := ParseSegmentName(name)
		require.True(t, ok, name)
		require.Equal(t, want, got)
	}
	for _, name := range []string{"00000000.wal", "0000001.wal", "000000001.wal", "0000001a.wal", "00000001.wa", "00000001.wal.tmp", "-0000001.wal"} {
		_, ok := ParseSegmentName(name)
		require.False(t, ok, name)
	}
}

const fixtureSegSize = 130

// buildFixture writes the standard fixture: entries 1..12 in segments of 3-4 records, closed.
func buildFixture(t *testing.T, dir string) (segs []string, es []entry) {
	t.Helper()
	es = entries(1, 12)
	// Fixture records are 25..37 bytes, so segments hold 3 or 4 of them.
	w, _ := mustOpenReplay(t, dir, Options{SegmentSize: fixtureSegSize}, 0)
	appendAll(t, w, es)
	segs = w.Segments()
	require.NoError(t, w.Close())
	require.GreaterOrEqual(t, len(segs), 3)
	return segs, es
}

// recordOffsets lists the offset of each record of a segment, computed from the documented sizes.
func recordOffsets(t *testing.T, path string, es []entry) (offs []int64, segEntries []entry) {
	t.Helper()
	var seqs []uint64
	_, err := ReadSegment(path, func(_ int64, seq uint64, _ []byte) error { seqs = append(seqs, seq); return nil })
	require.NoError(t, err)
	off := int64(8)
	for _, e := range es {
		for _, s := range seqs {
			if s == e.seq {
				offs = append(offs, off)
				segEntries = append(segEntries, e)
				off += recordSize(e)
			}
		}
	}
	return offs, segEntries
}

func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	ents, err := os.ReadDir(src)
	require.NoError(t, err)
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644))
	}
	return dst
}

func TestTornTailRepaired(t *testing.T) {
	src := t.TempDir()
	segs, es := buildFixture(t, src)
	lastSeg := filepath.Base(segs[len(segs)-1])
	raw, err := os.ReadFile(segs[len(segs)-1])
	require.NoError(t, err)
	offs, segEntries := recordOffsets(t, segs[len(segs)-1], es)
	lastOff := offs[len(offs)-1]
	good := es[:len(es)-1] // every record but the last one of the last segment

	type tc struct {
		name string
		data []byte
	}
	var cases []tc
	for cut := lastOff + 1; cut < int64(len(raw)); cut++ {
		cases = append(cases, tc{fmt.Sprintf("cut at %d", cut), raw[:cut]})
	}
	for i := lastOff; i < int64(len(raw)); i++ {
		c := append([]byte{}, raw...)
		c[i] ^= 0x20
		cases = append(cases, tc{fmt.Sprintf("flip at %d", i), c})
	}
	cases = append(cases, tc{"zero-filled tail", append(append([]byte{}, raw[:lastOff]...), make([]byte, 8192)...)})
	require.Equal(t, segEntries[len(segEntries)-1], es[len(es)-1])

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := copyDir(t, src)
			require.NoError(t, os.WriteFile(filepath.Join(dir, lastSeg), c.data, 0o644))
			logger, hook := logtest.NewNullLogger()
			opts := Options{SegmentSize: fixtureSegSize, Logger: logger}
			w, got := mustOpenReplay(t, dir, opts, 0)
			require.Equal(t, good, got)
			require.Equal(t, good[len(good)-1].seq, w.LastSeq())

			require.Len(t, hook.AllEntries(), 1)
			le := hook.LastEntry()
			require.Equal(t, logrus.WarnLevel, le.Level)
			require.Equal(t, filepath.Join(dir, lastSeg), le.Data["file"])
			require.Equal(t, lastOff, le.Data["offset"])

			st, err := os.Stat(filepath.Join(dir, lastSeg))
			require.NoError(t, err)
			require.Equal(t, lastOff, st.Size(), "truncated at the last good record")

			more := []entry{{100, []byte("new-1")}, {101, []byte("new-2")}}
			appendAll(t, w, more)
			require.NoError(t, w.Close())
			_, got = mustOpenReplay(t, dir, opts, 0)
			require.Equal(t, append(append([]entry{}, good...), more...), got)
		})
	}
}

// TestDamagedRecordsAreSkipped: a damaged record followed by valid ones (any byte of record 2 of
// 5 in the last segment, any byte of the last record of a segment that is not the last) costs that
// record only: replay goes on past it, logs it, counts it, and returns every other record. A
// damaged header of a segment that is not the last is still corruption (nothing to go on from).
func TestDamagedRecordsAreSkipped(t *testing.T) {
	src := t.TempDir()
	segs, es := buildFixture(t, src)
	lastPath := segs[len(segs)-1]

	without := func(all []entry, seq uint64) []entry {
		var out []entry
		for _, e := range all {
			if e.seq != seq {
				out = append(out, e)
			}
		}
		return out
	}
	check := func(t *testing.T, dir, name string, data []byte, want []entry) {
		t.Helper()
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), data, 0o644))
		w, got, err := openReplay(t, dir, Options{}, 0)
		require.NoError(t, err)
		require.Equal(t, want, got)
		require.Equal(t, 1, w.Skipped())
		require.NoError(t, w.Close())
	}

	t.Run("record 2 of 5 in the last segment", func(t *testing.T) {
		// Rewrite the last segment with 5 records so that record 2 is in the middle.
		five := entries(es[len(es)-1].seq+1, es[len(es)-1].seq+5)
		raw := append([]byte{}, "CGWL\x01\x00\x00\x00"...)
		offs := []int64{}
		for _, e := range five {
			offs = append(offs, int64(len(raw)))
			raw = recordfile.AppendRecord(raw, append(binary.LittleEndian.AppendUint64(nil, e.seq), e.data...))
		}
		name := SegmentName(uint64(len(segs) + 1))
		for i := offs[1]; i < offs[2]; i++ {
			dir := copyDir(t, src)
			c := append([]byte{}, raw...)
			c[i] ^= 0x04
			check(t, dir, name, c, without(append(append([]entry{}, es...), five...), five[1].seq))
		}
	})
	t.Run("last record of a non-last segment", func(t *testing.T) {
		raw, err := os.ReadFile(segs[0])
		require.NoError(t, err)
		offs, seqs := recordOffsets(t, segs[0], es)
		last := offs[len(offs)-1]
		lost := seqs[len(seqs)-1].seq
		for i := last; i < int64(len(raw)); i++ {
			dir := copyDir(t, src)
			c := append([]byte{}, raw...)
			c[i] ^= 0x10
			check(t, dir, filepath.Base(segs[0]), c, without(es, lost))
		}
		dir := copyDir(t, src)
		check(t, dir, filepath.Base(segs[0]), raw[:len(raw)-1], without(es, lost)) // cut short
	})
	t.Run("header of a non-last segment", func(t *testing.T) {
		dir := copyDir(t, src)
		raw, err := os.ReadFile(segs[1])
		require.NoError(t, err)
		c := append([]byte{}, raw...)
		c[1] = 'X'
		require.NoError(t, os.WriteFile(filepath.Join(dir, filepath.Base(segs[1])), c, 0o644))
		_, _, err = openReplay(t, dir, Options{}, 0)
		var ce *storage.CorruptionError
		require.ErrorAs(t, err, &ce)
		require.Equal(t, filepath.Join(dir, filepath.Base(segs[1])), ce.Path)
		require.Equal(t, int64(0), ce.Offset)
	})
	t.Run("unrelated error is not a torn tail", func(t *testing.T) {
		_, err := ReadSegment(lastPath, func(int64, uint64, []byte) error { return io.ErrClosedPipe })
		require.ErrorIs(t, err, io.ErrClosedPipe)
	})
}

func TestRemoveThroughModel(t *testing.T) {
	dir := t.TempDir()
	w, _ := mustOpenReplay(t, dir, Options{SegmentSize: 150}, 0)
	// Seqs with gaps, random-ish sizes.
	var es []entry
	seq := uint64(0)
	for i := range 40 {
		seq += uint64(1 + i%3)
		es = append(es, entry{seq, make([]byte, (i*37)%90)})
	}
	appendAll(t, w, es)

	// Model: the max seq of each segment, read back from disk.
	type segInfo struct {
		path   string
		maxSeq uint64
	}
	var model []segInfo
	for _, p := range w.Segments() {
		var m uint64
		_, err := ReadSegment(p, func(_ int64, s uint64, _ []byte) error { m = max(m, s); return nil })
		require.NoError(t, err)
		model = append(model, segInfo{p, m})
	}
	require.Greater(t, len(model), 5)

	for _, through := range []uint64{0, es[0].seq, es[5].seq, es[5].seq + 1, es[20].seq, es[39].seq - 1, es[39].seq, 1 << 40} {
		// Expected: drop the oldest segments whose max seq <= through, never the last one.
		for len(model) > 1 && model[0].maxSeq <= through {
			model = model[1:]
		}
		require.NoError(t, w.RemoveThrough(through))
		var want []string
		for _, s := range model {
			want = append(want, s.path)
		}
		require.Equal(t, want, w.Segments(), "through %d", through)
		files, err := filepath.Glob(filepath.Join(dir, "*.wal"))
		require.NoError(t, err)
		require.Equal(t, want, files)

		// Everything after `through` is still replayable.
		require.NoError(t, w.Sync())
		var got []entry
		for _, p := range files {
			_, err := ReadSegment(p, func(_ int64, s uint64, d []byte) error {
				if s > through {
					got = append(got, entry{s, append([]byte{}, d...)})
				}
				return nil
			})
			require.NoError(t, err)
		}
		var wantEs []entry
		for _, e := range es {
			if e.seq > through {
				wantEs = append(wantEs, e)
			}
		}
		require.Equal(t, wantEs, got)
	}
	require.Len(t, w.Segments(), 1, "the active segment stays")

	// Appending continues in the remaining segment; a reopen sees it.
	appendAll(t, w, []entry{{es[39].seq + 1, []byte("after")}})
	require.NoError(t, w.Close())
	_, got := mustOpenReplay(t, dir, Options{SegmentSize: 150}, es[39].seq)
	require.Equal(t, []entry{{es[39].seq + 1, []byte("after")}}, got)
}

func TestCommitSkipsCoveredSeqs(t *testing.T) {
	w, _ := mustOpenReplay(t, t.TempDir(), Options{}, 0)
	base := w.fsyncs.Load()
	for s := uint64(1); s <= 3; s++ {
		require.NoError(t, w.Append(s, []byte("x")))
	}
	require.NoError(t, w.Commit(3))
	require.Equal(t, base+1, w.fsyncs.Load())
	require.NoError(t, w.Commit(1))
	require.NoError(t, w.Commit(2))
	require.NoError(t, w.Commit(3))
	require.NoError(t, w.Sync())
	require.Equal(t, base+1, w.fsyncs.Load(), "seqs covered by an earlier fsync need none")
	require.NoError(t, w.Append(4, nil))
	require.NoError(t, w.Commit(4))
	require.Equal(t, base+2, w.fsyncs.Load())
}

func TestCommitLeaderFollower(t *testing.T) {
	w, _ := mustOpenReplay(t, t.TempDir(), Options{}, 0)
	base := w.fsyncs.Load()
	inSync := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	w.afterLeaderSync = func() {
		once.Do(func() {
			close(inSync)
			<-release
		})
	}
	require.NoError(t, w.Append(1, []byte("a")))
	leaderDone := make(chan error)
	go func() { leaderDone <- w.Commit(1) }()
	<-inSync // the leader is fsyncing seq 1 without the lock

	// Appends proceed while the leader syncs; a commit of the new record waits for the leader,
	// then becomes the next leader.
	require.NoError(t, w.Append(2, []byte("b")))
	require.NoError(t, w.Append(3, []byte("c")))
	followerDone := make(chan error)
	go func() { followerDone <- w.Commit(3) }()
	select {
	case err := <-followerDone:
		t.Fatalf("follower returned before the leader finished: %v", err)
	default:
	}
	close(release)
	require.NoError(t, <-leaderDone)
	require.NoError(t, <-followerDone)
	require.Equal(t, base+2, w.fsyncs.Load())
	require.NoError(t, w.Commit(2))
	require.Equal(t, base+2, w.fsyncs.Load())
}

func TestGroupCommitConcurrent(t *testing.T) {
	dir := t.TempDir()
	w, _ := mustOpenReplay(t, dir, Options{SegmentSize: 2 << 10}, 0) // rolls while committing
	// A slow disk: each leader fsync takes a little longer, so followers pile up behind it.
	w.afterLeaderSync = func() { time.Sleep(time.Millisecond) }
	base := w.fsyncs.Load()

	const goroutines, perG = 8, 40
	var (
		seqMu sync.Mutex
		next  uint64
		wg    sync.WaitGroup
		errs  = make(chan error, goroutines*perG)
	)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perG {
				seqMu.Lock() // the engine assigns seq_nos in append order
				next++
				seq := next
				err := w.Append(seq, []byte(fmt.Sprintf("g%d-i%d-seq%d", g, i, seq)))
				seqMu.Unlock()
				if err == nil {
					err = w.Commit(seq)
				}
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	commits := int64(goroutines * perG)
	fsyncs := w.fsyncs.Load() - base
	t.Logf("%d commits, %d fsyncs, %d segments", commits, fsyncs, len(w.Segments()))
	require.Less(t, fsyncs, commits/2, "group commit shares fsyncs")
	require.Greater(t, len(w.Segments()), 2)
	require.NoError(t, w.Close())

	_, got := mustOpenReplay(t, dir, Options{}, 0)
	require.Len(t, got, int(commits))
	for i, e := range got {
		require.Equal(t, uint64(i+1), e.seq)
		require.Regexp(t, fmt.Sprintf(`^g\d-i\d+-seq%d$`, e.seq), string(e.data))
	}
}

func TestSyncIntervalPolicy(t *testing.T) {
	dir := t.TempDir()
	w, _ := mustOpenReplay(t, dir, Options{Sync: SyncInterval}, 0)
	base := w.fsyncs.Load()
	require.NoError(t, w.Append(1, []byte("a")))
	require.NoError(t, w.Commit(1))
	require.Equal(t, base, w.fsyncs.Load(), "no fsync on commit")
	// But the record was handed to the OS: a reader sees it before any Sync or Close.
	var seen []uint64
	_, err := ReadSegment(w.Segments()[0], func(_ int64, s uint64, _ []byte) error { seen = append(seen, s); return nil })
	require.NoError(t, err)
	require.Equal(t, []uint64{1}, seen)
	require.NoError(t, w.Sync())
	require.Equal(t, base+1, w.fsyncs.Load())
	require.NoError(t, w.Sync())
	require.Equal(t, base+1, w.fsyncs.Load(), "nothing new to sync")

	_, err = Open(dir, Options{Sync: SyncPolicy(7)})
	require.Error(t, err)
	require.Equal(t, "interval", SyncInterval.String())
}

func TestWriteErrorIsSticky(t *testing.T) {
	w, _ := mustOpenReplay(t, t.TempDir(), Options{}, 0)
	require.NoError(t, w.Append(1, []byte("a")))
	require.NoError(t, w.Commit(1))
	require.NoError(t, w.w.Close()) // pull the file from under the WAL: the next write fails
	require.NoError(t, w.Append(2, []byte("b")))
	err := w.Commit(2)
	require.Error(t, err)
	require.ErrorIs(t, w.Append(3, nil), err)
	require.ErrorIs(t, w.Sync(), err)
	require.NoError(t, w.Commit(1), "seq 1 was durable before the failure")
	require.Error(t, w.Close())
}
