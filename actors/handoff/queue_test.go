package handoff

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/chronogo/chronogo/actors/actorstest"
	"github.com/chronogo/chronogo/messages"
	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/recordfile"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func openQueue(t *testing.T, dir string, opts QueueOptions) *Queue {
	t.Helper()
	opts.Logger = actorstest.QuietLogger()
	q, err := OpenQueue(dir, opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = q.Close() })
	return q
}

// appendN appends hints from..to-1 enqueued at t0 and syncs.
func appendN(t *testing.T, q *Queue, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		require.NoError(t, q.Append(testBatch(i), t0))
	}
	require.NoError(t, q.Sync())
}

// vnodes returns the vnode ids of entries (testBatch(i) has vnode 100+i).
func vnodes(entries []Entry) []uint64 {
	var out []uint64
	for _, e := range entries {
		out = append(out, e.Batch.GetVnodeId())
	}
	return out
}

func ids(from, to int) []uint64 {
	var out []uint64
	for i := from; i < to; i++ {
		out = append(out, uint64(100+i))
	}
	return out
}

func bytesOf(from, to int) int64 {
	var n int64
	for i := from; i < to; i++ {
		n += recordSize(testBatch(i))
	}
	return n
}

func segmentFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, e := range entries {
		if filepath.Ext(e.Name()) == SegmentSuffix {
			out = append(out, e.Name())
		}
	}
	return out
}

func TestQueueAppendPeekAckReopen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "2")
	q := openQueue(t, dir, QueueOptions{})
	require.Zero(t, q.Len())
	appendN(t, q, 0, 10)
	require.Equal(t, QueueStats{Hints: 10, Bytes: bytesOf(0, 10)}, q.Stats())

	got, err := q.Peek(4, 1<<20, t0)
	require.NoError(t, err)
	require.Equal(t, ids(0, 4), vnodes(got))
	for i, e := range got {
		require.True(t, proto.Equal(testBatch(i), e.Batch), "hint %d", i)
		require.True(t, t0.Equal(e.EnqueuedAt))
	}
	again, err := q.Peek(4, 1<<20, t0)
	require.NoError(t, err)
	require.Equal(t, ids(0, 4), vnodes(again), "Peek does not consume")

	require.NoError(t, q.Ack(got[:3]))
	require.Equal(t, QueueStats{Hints: 7, Bytes: bytesOf(3, 10)}, q.Stats())
	require.Error(t, q.Ack(got[:1]), "ack must start at the head")
	require.Error(t, q.Ack([]Entry{got[3], got[3]}), "acked entries must follow each other")
	require.NoError(t, q.Close())

	// the ack position survives a reopen: hints 3..9 remain
	q = openQueue(t, dir, QueueOptions{})
	require.Equal(t, QueueStats{Hints: 7, Bytes: bytesOf(3, 10)}, q.Stats())
	got, err = q.Peek(100, 1<<20, t0)
	require.NoError(t, err)
	require.Equal(t, ids(3, 10), vnodes(got))

	// maxBytes bounds a round: it stops once the bytes reach the bound
	small, err := q.Peek(100, recordSize(testBatch(3))+1, t0)
	require.NoError(t, err)
	require.Equal(t, ids(3, 5), vnodes(small))

	// appends after a reopen go on after the old hints
	appendN(t, q, 10, 12)
	require.NoError(t, q.Ack(got))
	got, err = q.Peek(100, 1<<20, t0)
	require.NoError(t, err)
	require.Equal(t, ids(10, 12), vnodes(got))
	require.NoError(t, q.Ack(got))
	require.Equal(t, QueueStats{}, q.Stats())
	require.Empty(t, segmentFiles(t, dir), "an empty queue keeps no segment")
	require.NoError(t, q.Close())

	q = openQueue(t, dir, QueueOptions{})
	require.Zero(t, q.Len())
	appendN(t, q, 20, 21)
	require.Equal(t, []string{SegmentName(2)}, segmentFiles(t, dir), "segment ids only grow")
	got, err = q.Peek(100, 1<<20, t0)
	require.NoError(t, err)
	require.Equal(t, ids(20, 21), vnodes(got))
}

func TestQueueUnsyncedInvisible(t *testing.T) {
	q := openQueue(t, t.TempDir(), QueueOptions{})
	appendN(t, q, 0, 2)
	require.NoError(t, q.Append(testBatch(2), t0))
	got, err := q.Peek(100, 1<<20, t0)
	require.NoError(t, err)
	require.Equal(t, ids(0, 2), vnodes(got), "a hint is replayed only once it is durable")
	require.Equal(t, 3, q.Len())
	require.NoError(t, q.Sync())
	got, err = q.Peek(100, 1<<20, t0)
	require.NoError(t, err)
	require.Equal(t, ids(0, 3), vnodes(got))
}

func TestQueueSegments(t *testing.T) {
	dir := t.TempDir()
	// every segment takes two hints: the roll happens once the size reaches SegmentSize
	segSize := recordfile.HeaderSize + recordSize(testBatch(6)) + 1
	q := openQueue(t, dir, QueueOptions{SegmentSize: segSize})
	appendN(t, q, 0, 7)
	require.Equal(t, []string{SegmentName(1), SegmentName(2), SegmentName(3), SegmentName(4)}, segmentFiles(t, dir))

	// one Peek reads across segments
	got, err := q.Peek(5, 1<<20, t0)
	require.NoError(t, err)
	require.Equal(t, ids(0, 5), vnodes(got))
	require.NoError(t, q.Ack(got[:4]))
	require.Equal(t, []string{SegmentName(3), SegmentName(4)}, segmentFiles(t, dir), "replayed segments are removed")
	require.NoError(t, q.Close())

	q = openQueue(t, dir, QueueOptions{SegmentSize: segSize})
	require.Equal(t, QueueStats{Hints: 3, Bytes: bytesOf(4, 7)}, q.Stats())
	got, err = q.Peek(100, 1<<20, t0)
	require.NoError(t, err)
	require.Equal(t, ids(4, 7), vnodes(got))
	require.NoError(t, q.Ack(got[:2]))
	require.NoError(t, q.Close())

	// the ack position at the end of a segment: the segment is gone after the next open
	q = openQueue(t, dir, QueueOptions{SegmentSize: segSize})
	require.Equal(t, 1, q.Len())
	got, err = q.Peek(100, 1<<20, t0)
	require.NoError(t, err)
	require.Equal(t, ids(6, 7), vnodes(got))
	require.Equal(t, []string{SegmentName(4)}, segmentFiles(t, dir))
}

func TestQueueTornTail(t *testing.T) {
	for _, tc := range []struct {
		name string
		tear func(raw []byte, lastOff int64) []byte
	}{
		{"cut in the last record", func(raw []byte, last int64) []byte { return raw[:last+5] }},
		{"zeros after", func(raw []byte, last int64) []byte { return append(raw[:last], make([]byte, 300)...) }},
		{"last record's crc", func(raw []byte, last int64) []byte { raw[last+4] ^= 1; return raw }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			q := openQueue(t, dir, QueueOptions{})
			appendN(t, q, 0, 3)
			require.NoError(t, q.Close())
			path := filepath.Join(dir, SegmentName(1))
			raw, err := os.ReadFile(path)
			require.NoError(t, err)
			lastOff := recordfile.HeaderSize + bytesOf(0, 2)
			require.Equal(t, lastOff+recordSize(testBatch(2)), int64(len(raw)))
			require.NoError(t, os.WriteFile(path, tc.tear(raw, lastOff), 0o644))

			q = openQueue(t, dir, QueueOptions{})
			require.Equal(t, QueueStats{Hints: 2, Bytes: bytesOf(0, 2)}, q.Stats())
			st, err := os.Stat(path)
			require.NoError(t, err)
			require.Equal(t, lastOff, st.Size(), "the torn tail is truncated")
			appendN(t, q, 3, 4)
			got, err := q.Peek(100, 1<<20, t0)
			require.NoError(t, err)
			require.Equal(t, []uint64{100, 101, 103}, vnodes(got))
		})
	}
}

func TestQueueCorruptionInMiddle(t *testing.T) {
	dir := t.TempDir()
	q := openQueue(t, dir, QueueOptions{})
	appendN(t, q, 0, 4)
	require.NoError(t, q.Close())
	path := filepath.Join(dir, SegmentName(1))
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	badOff := recordfile.HeaderSize + bytesOf(0, 1) // the second record
	raw[badOff+recordfile.FrameSize+3] ^= 0xff      // a payload byte
	require.NoError(t, os.WriteFile(path, raw, 0o644))

	_, err = OpenQueue(dir, QueueOptions{Logger: actorstest.QuietLogger()})
	var ce *storage.CorruptionError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, path, ce.Path)
	require.Equal(t, badOff, ce.Offset)
	require.ErrorIs(t, err, recordfile.ErrChecksum)
}

func TestQueueSizeBound(t *testing.T) {
	dir := t.TempDir()
	limit := bytesOf(0, 2) + recordSize(testBatch(2)) - 1 // two hints fit, not three
	q := openQueue(t, dir, QueueOptions{MaxBytes: limit})
	appendN(t, q, 0, 2)
	err := q.Append(testBatch(2), t0)
	require.ErrorIs(t, err, ErrFull)
	require.Equal(t, QueueStats{Hints: 2, Bytes: bytesOf(0, 2)}, q.Stats(), "a refused hint leaves no trace")
	got, err := q.Peek(1, 1<<20, t0)
	require.NoError(t, err)
	require.NoError(t, q.Ack(got))
	require.NoError(t, q.Append(testBatch(2), t0), "room again after a replay")
	require.NoError(t, q.Sync())
	require.NoError(t, q.Close())
	q = openQueue(t, dir, QueueOptions{MaxBytes: limit})
	require.ErrorIs(t, q.Append(testBatch(3), t0), ErrFull, "the bound counts hints found on disk")
}

func TestQueueExpiry(t *testing.T) {
	dir := t.TempDir()
	window := 3 * time.Hour
	q := openQueue(t, dir, QueueOptions{MaxHintWindow: window})
	enq := []time.Duration{0, time.Hour, 20 * time.Minute, 2 * time.Hour}
	for i, d := range enq {
		require.NoError(t, q.Append(testBatch(i), t0.Add(d)))
	}
	require.NoError(t, q.Sync())

	// at t0+3h30m hints 0 (3h30m old) and 2 (3h10m old) are expired: 0 is at the head and dropped,
	// 1 (2h30m old) is live, 2 is behind a live hint, so the round stops before it
	now := t0.Add(3*time.Hour + 30*time.Minute)
	got, err := q.Peek(100, 1<<20, now)
	require.NoError(t, err)
	require.Equal(t, ids(1, 2), vnodes(got))
	require.Equal(t, uint64(1), q.Stats().Expired)
	require.NoError(t, q.Ack(got))
	got, err = q.Peek(100, 1<<20, now)
	require.NoError(t, err)
	require.Equal(t, ids(3, 4), vnodes(got), "hint 2 is dropped once it reaches the head")
	require.Equal(t, QueueStats{Hints: 1, Bytes: bytesOf(3, 4), Expired: 2}, q.Stats())
	require.NoError(t, q.Close())

	// drops are persisted: a reopen does not bring them back
	q = openQueue(t, dir, QueueOptions{MaxHintWindow: window})
	got, err = q.Peek(100, 1<<20, t0)
	require.NoError(t, err)
	require.Equal(t, ids(3, 4), vnodes(got))

	// a queue where every hint expired ends empty
	got, err = q.Peek(100, 1<<20, t0.Add(10*time.Hour))
	require.NoError(t, err)
	require.Empty(t, got)
	require.Zero(t, q.Len())
}

func TestQueueBadAckFile(t *testing.T) {
	dir := t.TempDir()
	q := openQueue(t, dir, QueueOptions{})
	appendN(t, q, 0, 3)
	got, err := q.Peek(1, 1<<20, t0)
	require.NoError(t, err)
	require.NoError(t, q.Ack(got))
	require.NoError(t, q.Close())
	require.NoError(t, os.WriteFile(filepath.Join(dir, AckFileName), []byte("garbage!"), 0o644))

	q = openQueue(t, dir, QueueOptions{})
	got, err = q.Peek(100, 1<<20, t0)
	require.NoError(t, err)
	require.Equal(t, ids(0, 3), vnodes(got), "an unreadable ack file replays everything")
}

func TestQueueUndecodableHint(t *testing.T) {
	dir := t.TempDir()
	q := openQueue(t, dir, QueueOptions{})
	appendN(t, q, 0, 1)
	require.NoError(t, q.Close())
	// a record with a valid frame and a payload of the wrong version
	w, err := recordfile.OpenAppend(filepath.Join(dir, SegmentName(1)), segmentMagic, recordfile.HeaderSize+bytesOf(0, 1))
	require.NoError(t, err)
	_, err = w.Append([]byte{9, 0, 0, 0, 0, 0, 0, 0, 0})
	require.NoError(t, err)
	require.NoError(t, w.Sync())
	require.NoError(t, w.Close())

	q = openQueue(t, dir, QueueOptions{})
	appendN(t, q, 1, 2)
	require.Equal(t, 3, q.Len())
	got, err := q.Peek(100, 1<<20, t0)
	require.NoError(t, err)
	require.Equal(t, ids(0, 1), vnodes(got), "the round stops before the bad hint")
	require.NoError(t, q.Ack(got))
	got, err = q.Peek(100, 1<<20, t0)
	require.NoError(t, err)
	require.Equal(t, ids(1, 2), vnodes(got))
	require.Equal(t, uint64(1), q.Stats().Corrupt)
	require.Equal(t, 1, q.Len())
}

func TestHintCodec(t *testing.T) {
	cases := []*messages.WriteBatch{{}, testBatch(0), testBatch(40), {VnodeId: 1, Compressed: true, Batch: []byte{1, 2, 3}}}
	for i, wb := range cases {
		p, err := appendHint([]byte("prefix"), int64(i)*1e9-5, wb)
		require.NoError(t, err)
		require.Equal(t, "prefix", string(p[:6]))
		require.Equal(t, int64(1+8+proto.Size(wb)), int64(len(p)-6))
		enq, got, err := decodeHint(p[6:])
		require.NoError(t, err)
		require.Equal(t, int64(i)*1e9-5, enq)
		require.True(t, proto.Equal(wb, got))
	}
	// a hinted delete: version 2, the DeleteRequest as is
	dr := &messages.DeleteRequest{Vnode: &messages.VnodeRef{VnodeId: 7, BucketId: 3}, Table: "cpu", Filter: []byte{1, 2}, MinTime: -5, MaxTime: 99, Version: 1 << 40}
	p, err := appendHint(nil, 123, dr)
	require.NoError(t, err)
	require.Equal(t, byte(HintVersionDelete), p[0])
	enq, got, err := decodeHint(p)
	require.NoError(t, err)
	require.Equal(t, int64(123), enq)
	require.True(t, proto.Equal(dr, got))
	_, err = appendHint(nil, 1, &messages.ErrorReply{})
	require.Error(t, err, "only writes and deletes are hinted")
	rr := &messages.RenameRequest{Vnode: &messages.VnodeRef{VnodeId: 7}, Table: "cpu", Filter: []byte{1}, Update: []byte{2}, Version: 9}
	p, err = appendHint(nil, 5, rr)
	require.NoError(t, err)
	require.Equal(t, byte(HintVersionRename), p[0])
	_, got, err = decodeHint(p)
	require.NoError(t, err)
	require.True(t, proto.Equal(rr, got))
	for _, bad := range [][]byte{nil, {1, 2, 3}, {4, 0, 0, 0, 0, 0, 0, 0, 0}, append([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0}, 0xff),
		append([]byte{2, 0, 0, 0, 0, 0, 0, 0, 0}, 0xff)} {
		_, _, err := decodeHint(bad)
		require.ErrorIs(t, err, errBadHint, "%x", bad)
	}
	p = appendAck(nil, position{seg: 3, off: 77})
	pos, err := decodeAck(p)
	require.NoError(t, err)
	require.Equal(t, position{seg: 3, off: 77}, pos)
	_, err = decodeAck(p[:15])
	require.Error(t, err)
	_, err = decodeAck(append(appendAck(nil, position{seg: 1})[:8], 0, 0, 0, 0, 0, 0, 0, 0x80))
	require.Error(t, err, "negative offset")
}

func TestNames(t *testing.T) {
	require.Equal(t, "00000000000000000042.hints", SegmentName(42))
	for _, tc := range []struct {
		name string
		id   uint64
		ok   bool
	}{
		{SegmentName(42), 42, true}, {"42.hints", 0, false}, {SegmentName(0), 0, false}, {SegmentName(7) + BadSuffix, 0, false},
	} {
		id, ok := parseSegmentName(tc.name)
		require.Equal(t, tc.ok, ok, tc.name)
		require.Equal(t, tc.id, id, tc.name)
	}
	for _, tc := range []struct {
		name string
		ok   bool
	}{{"2", true}, {"02", false}, {"0", false}, {"x", false}, {"", false}} {
		_, ok := parseQueueDirName(tc.name)
		require.Equal(t, tc.ok, ok, tc.name)
	}
	require.True(t, slices.IsSorted([]string{SegmentName(9), SegmentName(10)}), "names sort like ids")
	require.False(t, errors.Is(ErrFull, os.ErrExist))
}
