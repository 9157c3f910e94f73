package handoff

// Queue is the durable hint queue of one target node: a directory of segment files (record files
// of hints, FORMAT.md) and an "acked up to" file. It is plain code, not an actor: the target actor
// (target.go) owns one and is its only user.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/sirupsen/logrus"
	"google.golang.org/protobuf/proto"

	"github.com/chronogo/chronogo/messages"
	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/recordfile"
)

// ErrFull is returned by Append when a hint does not fit in the queue's byte bound.
var ErrFull = errors.New("hint queue full")

// QueueOptions configures a Queue.
type QueueOptions struct {
	// MaxBytes bounds the bytes of unacknowledged hints (records with their frames); default 1 GiB.
	MaxBytes int64
	// SegmentSize is the size after which appends go to a new segment; default 64 MiB.
	SegmentSize int64
	// MaxHintWindow is the age after which a hint is dropped instead of replayed; default 3 h.
	MaxHintWindow time.Duration
	Logger        logrus.FieldLogger
}

// Defaults of QueueOptions.
const (
	DefaultMaxBytes      = 1 << 30
	DefaultSegmentSize   = 64 << 20
	DefaultMaxHintWindow = 3 * time.Hour
)

func (o QueueOptions) withDefaults() QueueOptions {
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.SegmentSize <= 0 {
		o.SegmentSize = DefaultSegmentSize
	}
	if o.MaxHintWindow <= 0 {
		o.MaxHintWindow = DefaultMaxHintWindow
	}
	if o.Logger == nil {
		o.Logger = logrus.StandardLogger()
	}
	return o
}

// segment is one segment file.
type segment struct {
	id   uint64
	path string
	// size is the readable end: for the active segment the end of the last Sync, otherwise the
	// end of the last valid record.
	size int64
}

// Message is the entry's hinted request.
func (e *Entry) Message() proto.Message {
	if e.Request != nil {
		return e.Request
	}
	return e.Batch
}

// Entry is one hint read by Peek. Acknowledge it (and every entry before it) with Ack.
type Entry struct {
	Batch      *messages.WriteBatch // a hinted write, or
	Request    proto.Message        // a hinted *messages.DeleteRequest or *messages.RenameRequest
	EnqueuedAt time.Time
	pos, next  position
	size       int64 // record bytes, frame included
}

// QueueStats are a queue's figures.
type QueueStats struct {
	Hints   int    // unacknowledged hints
	Bytes   int64  // their record bytes (frames included)
	Expired uint64 // hints dropped because they were older than MaxHintWindow, since Open
	Corrupt uint64 // hints dropped because their payload did not decode, since Open
}

// Queue is described at the top of this file. It is not safe for concurrent use.
type Queue struct {
	dir    string
	opts   QueueOptions
	log    logrus.FieldLogger
	segs   []*segment // oldest first; the last one is the active segment when w != nil
	w      *recordfile.Writer
	dirty  bool     // w holds records not yet synced
	head   position // first unacknowledged record
	acked  position // head as last written to the ack file
	nextID uint64
	stats  QueueStats
	buf    []byte
	rf     *os.File // reader of segs[0] during Peek, cached
	rfID   uint64
}

// OpenQueue opens (creating it if needed) the queue in dir. Segments before the acknowledged
// position are removed; a torn tail of the last segment is truncated and logged. Corruption in
// the middle of a segment is a *storage.CorruptionError naming the segment and offset.
func OpenQueue(dir string, opts QueueOptions) (*Queue, error) {
	opts = opts.withDefaults()
	q := &Queue{dir: dir, opts: opts, log: opts.Logger.WithField("queue_dir", dir)}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("opening hint queue: %w", err)
	}
	q.acked = q.readAck()
	ids, err := listSegments(dir)
	if err != nil {
		return nil, err
	}
	q.nextID = q.acked.seg + 1
	if len(ids) > 0 {
		q.nextID = max(q.nextID, ids[len(ids)-1]+1)
	}
	for i, id := range ids {
		path := filepath.Join(dir, SegmentName(id))
		if id < q.acked.seg {
			if err := os.Remove(path); err != nil {
				return nil, fmt.Errorf("removing replayed segment: %w", err)
			}
			continue
		}
		start := int64(recordfile.HeaderSize)
		if id == q.acked.seg {
			start = max(start, q.acked.off)
		}
		seg, hints, bytes, err := q.scanSegment(id, path, start, i == len(ids)-1)
		if err != nil {
			_ = q.Close()
			return nil, err
		}
		if len(q.segs) == 0 {
			q.head = position{seg: id, off: min(start, seg.size)}
		}
		q.segs = append(q.segs, seg)
		q.stats.Hints += hints
		q.stats.Bytes += bytes
	}
	if len(q.segs) == 0 {
		q.head = q.acked
	}
	if err := q.syncRemovals(); err != nil {
		_ = q.Close()
		return nil, err
	}
	return q, nil
}

// readAck returns the acknowledged position, or the zero position when the ack file is missing or
// unreadable (hints are then replayed again, which last-write-wins makes harmless).
func (q *Queue) readAck() position {
	path := filepath.Join(q.dir, AckFileName)
	var p position
	var found bool
	_, err := recordfile.Scan(path, ackMagic, func(_ int64, payload []byte) error {
		var derr error
		p, derr = decodeAck(payload)
		found = derr == nil
		return derr
	})
	switch {
	case errors.Is(err, os.ErrNotExist):
		return position{}
	case err != nil || !found:
		q.log.WithError(err).Warn("hint queue ack file unreadable, replaying from the first segment")
		return position{}
	}
	return p
}

// listSegments returns the ids of dir's segment files in order.
func listSegments(dir string) ([]uint64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("listing hint queue: %w", err)
	}
	var ids []uint64
	for _, e := range entries {
		if id, ok := parseSegmentName(e.Name()); ok && e.Type().IsRegular() {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// scanSegment checks a segment and counts its hints at or after start. The last segment becomes
// the active one (its torn tail truncated).
func (q *Queue) scanSegment(id uint64, path string, start int64, last bool) (*segment, int, int64, error) {
	var hints int
	var bytes int64
	end, err := recordfile.Scan(path, segmentMagic, func(off int64, payload []byte) error {
		if off >= start {
			hints++
			bytes += recordfile.FrameSize + int64(len(payload))
		}
		return nil
	})
	var torn *recordfile.TornTailError
	switch {
	case errors.As(err, &torn):
		q.log.WithFields(logrus.Fields{"segment": path, "offset": torn.Offset, "file_size": torn.Size}).WithError(torn.Err).
			Warn("hint segment has a torn tail, ignoring it")
	case err != nil:
		return nil, 0, 0, fmt.Errorf("opening hint queue: %w", err)
	}
	seg := &segment{id: id, path: path, size: end}
	if last {
		w, err := recordfile.OpenAppend(path, segmentMagic, end)
		if err != nil {
			return nil, 0, 0, fmt.Errorf("opening hint queue: %w", err)
		}
		q.w = w
		seg.size = w.Size()
	}
	return seg, hints, bytes, nil
}

// Dir is the queue's directory.
func (q *Queue) Dir() string { return q.dir }

// Stats returns the queue's figures.
func (q *Queue) Stats() QueueStats { return q.stats }

// Len is the number of unacknowledged hints.
func (q *Queue) Len() int { return q.stats.Hints }

// Append buffers one hint enqueued at now. It is durable after Sync. A hint that would take the
// queue above MaxBytes is refused with ErrFull.
func (q *Queue) Append(wb *messages.WriteBatch, now time.Time) error { return q.append(wb, now) }

// AppendRequest is Append for a delete or a rename (*messages.DeleteRequest,
// *messages.RenameRequest): it is replayed in order with the writes around it.
func (q *Queue) AppendRequest(m proto.Message, now time.Time) error { return q.append(m, now) }

func (q *Queue) append(m proto.Message, now time.Time) error {
	var err error
	q.buf, err = appendHint(q.buf[:0], now.UnixNano(), m)
	if err != nil {
		return err
	}
	size := recordfile.FrameSize + int64(len(q.buf))
	if q.stats.Bytes+size > q.opts.MaxBytes {
		return fmt.Errorf("appending hint of %d bytes to %s: queue holds %d bytes; want <= %d: %w", size, q.dir, q.stats.Bytes, q.opts.MaxBytes, ErrFull)
	}
	if len(q.buf) > recordfile.MaxRecordSize {
		return fmt.Errorf("appending hint to %s: %w", q.dir, recordfile.ErrTooLarge)
	}
	if q.w == nil || q.w.Size() >= q.opts.SegmentSize {
		if err := q.roll(); err != nil {
			return err
		}
	}
	if _, err := q.w.Append(q.buf); err != nil {
		return fmt.Errorf("appending hint: %w", err)
	}
	q.dirty = true
	q.stats.Hints++
	q.stats.Bytes += size
	return nil
}

// roll makes a new segment the active one, after syncing and closing the current one.
func (q *Queue) roll() error {
	if q.w != nil {
		if err := q.Sync(); err != nil {
			return err
		}
		if err := q.w.Close(); err != nil {
			return fmt.Errorf("closing hint segment: %w", err)
		}
		q.w = nil
	}
	id := q.nextID
	path := filepath.Join(q.dir, SegmentName(id))
	w, err := recordfile.Create(path, segmentMagic)
	if err != nil {
		return fmt.Errorf("creating hint segment: %w", err)
	}
	q.nextID++
	q.w = w
	if len(q.segs) == 0 {
		q.head = position{seg: id, off: recordfile.HeaderSize}
	}
	q.segs = append(q.segs, &segment{id: id, path: path, size: w.Size()})
	return nil
}

// Sync makes every appended hint durable (one fsync for all of them) and readable by Peek.
func (q *Queue) Sync() error {
	if q.w == nil || !q.dirty {
		return nil
	}
	if err := q.w.Sync(); err != nil {
		return fmt.Errorf("syncing hint queue: %w", err)
	}
	q.dirty = false
	q.segs[len(q.segs)-1].size = q.w.Size()
	return nil
}

// Peek returns up to maxHints synced hints (and about maxBytes) from the head of the queue, oldest
// first, without removing them. Hints older than MaxHintWindow at now are dropped on the way
// (logged and counted), as are hints whose payload does not decode; Peek persists the position
// past them.
func (q *Queue) Peek(maxHints int, maxBytes int64, now time.Time) ([]Entry, error) {
	var out []Entry
	var bytes int64
	q.normalize()
	pos := q.head
	for i := 0; len(out) < maxHints && bytes < maxBytes && i < len(q.segs); {
		seg := q.segs[i]
		if pos.seg != seg.id {
			return out, fmt.Errorf("BUG: hint queue %s reads segment %d at %+v", q.dir, seg.id, pos)
		}
		if pos.off >= seg.size {
			if i++; i < len(q.segs) {
				pos = position{seg: q.segs[i].id, off: recordfile.HeaderSize}
				if len(out) > 0 {
					out[len(out)-1].next = pos // so that entries chain across segments
				}
			}
			continue
		}
		payload, n, err := q.readRecord(seg, pos.off)
		if err != nil {
			return out, err
		}
		next := position{seg: seg.id, off: pos.off + n}
		enq, m, err := decodeHint(payload)
		fields := logrus.Fields{"segment": seg.path, "offset": pos.off}
		switch {
		case err != nil && len(out) == 0:
			q.log.WithFields(fields).WithError(err).Error("dropping an undecodable hint")
			q.stats.Corrupt++
			q.drop(next, n)
		case err == nil && now.Sub(time.Unix(0, enq)) > q.opts.MaxHintWindow && len(out) == 0:
			q.log.WithFields(fields).WithField("enqueued_at", time.Unix(0, enq)).Warn("dropping a hint older than the hint window")
			q.stats.Expired++
			q.drop(next, n)
		case err != nil || now.Sub(time.Unix(0, enq)) > q.opts.MaxHintWindow:
			return out, nil // dropped once it reaches the head
		default:
			e := Entry{EnqueuedAt: time.Unix(0, enq), pos: pos, next: next, size: n}
			if wb, ok := m.(*messages.WriteBatch); ok {
				e.Batch = wb
			} else {
				e.Request = m
			}
			out = append(out, e)
			bytes += n
		}
		pos = next
	}
	if q.head != q.acked { // hints were dropped
		if err := q.commit(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// normalize moves a head that sits at the end of a segment with later segments to the start of
// the next one, so that it equals the position of the next record.
func (q *Queue) normalize() {
	for i := 0; i+1 < len(q.segs) && q.head.seg == q.segs[i].id && q.head.off >= q.segs[i].size; i++ {
		q.head = position{seg: q.segs[i+1].id, off: recordfile.HeaderSize}
	}
}

// drop advances the head past a record of n bytes that will not be replayed.
func (q *Queue) drop(next position, n int64) {
	q.head = next
	q.stats.Hints--
	q.stats.Bytes -= n
}

// readRecord reads the record at off in seg.
func (q *Queue) readRecord(seg *segment, off int64) ([]byte, int64, error) {
	if q.rf == nil || q.rfID != seg.id {
		q.closeReader()
		f, err := os.Open(seg.path)
		if err != nil {
			return nil, 0, fmt.Errorf("reading hint segment: %w", err)
		}
		q.rf, q.rfID = f, seg.id
	}
	var frame [recordfile.FrameSize]byte
	if _, err := q.rf.ReadAt(frame[:], off); err != nil {
		return nil, 0, fmt.Errorf("reading hint segment %s at %d: %w", seg.path, off, err)
	}
	l := int64(binary.LittleEndian.Uint32(frame[0:4]))
	if l > recordfile.MaxRecordSize || off+recordfile.FrameSize+l > seg.size {
		return nil, 0, &storage.CorruptionError{Path: seg.path, Offset: off,
			Err: fmt.Errorf("record length got %d; want <= %d", l, min(recordfile.MaxRecordSize, seg.size-off-recordfile.FrameSize))}
	}
	buf := make([]byte, recordfile.FrameSize+l)
	if _, err := q.rf.ReadAt(buf, off); err != nil && !(errors.Is(err, io.EOF) && off+int64(len(buf)) <= seg.size) {
		return nil, 0, fmt.Errorf("reading hint segment %s at %d: %w", seg.path, off, err)
	}
	payload, n, err := recordfile.DecodeRecord(buf)
	if err != nil {
		return nil, 0, &storage.CorruptionError{Path: seg.path, Offset: off, Err: err}
	}
	return payload, int64(n), nil
}

func (q *Queue) closeReader() {
	if q.rf != nil {
		_ = q.rf.Close()
		q.rf = nil
	}
}

// Ack acknowledges entries, which must be the entries at the head of the queue in order (a prefix
// of what Peek returned): the ack position is persisted, and fully replayed segments are removed.
func (q *Queue) Ack(entries []Entry) error {
	if len(entries) == 0 {
		return nil
	}
	q.normalize()
	for i, e := range entries {
		if i == 0 && e.pos != q.head || i > 0 && e.pos != entries[i-1].next {
			return fmt.Errorf("BUG: acknowledging hint at %+v; want the head at %+v", e.pos, q.head)
		}
	}
	for _, e := range entries {
		q.stats.Hints--
		q.stats.Bytes -= e.size
	}
	q.head = entries[len(entries)-1].next
	return q.commit()
}

// commit persists the head as the ack position and removes segments before it. An empty queue
// also loses its active segment; the next Append starts a new one.
func (q *Queue) commit() error {
	q.normalize()
	for len(q.segs) > 0 && q.segs[0].id < q.head.seg {
		if err := q.removeSegment(); err != nil {
			return err
		}
	}
	if q.head != q.acked {
		if err := recordfile.WriteFileAtomic(filepath.Join(q.dir, AckFileName), ackMagic, [][]byte{appendAck(nil, q.head)}); err != nil {
			return fmt.Errorf("saving hint queue position: %w", err)
		}
		q.acked = q.head
	}
	if q.stats.Hints == 0 && len(q.segs) == 1 && !q.dirty && q.head.off >= q.segs[0].size {
		if q.w != nil {
			if err := q.w.Close(); err != nil {
				return fmt.Errorf("closing hint segment: %w", err)
			}
			q.w = nil
		}
		if err := q.removeSegment(); err != nil {
			return err
		}
	}
	return q.syncRemovals()
}

// removeSegment removes the oldest segment's file.
func (q *Queue) removeSegment() error {
	seg := q.segs[0]
	if q.rfID == seg.id {
		q.closeReader()
	}
	if err := os.Remove(seg.path); err != nil {
		return fmt.Errorf("removing replayed hint segment: %w", err)
	}
	q.segs = q.segs[1:]
	return nil
}

// syncRemovals makes removals durable (a lost removal only replays hints again, but keep the
// directory tidy across crashes).
func (q *Queue) syncRemovals() error {
	return recordfile.SyncDir(q.dir)
}

// Close syncs appended hints and closes the files.
func (q *Queue) Close() error {
	q.closeReader()
	if q.w == nil {
		return nil
	}
	err := q.Sync()
	if cerr := q.w.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("closing hint segment: %w", cerr)
	}
	q.w = nil
	return err
}
