package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/sirupsen/logrus"

	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/recordfile"
)

// SyncPolicy says when records become durable.
type SyncPolicy int

const (
	// SyncAlways (the default): Commit fsyncs (group commit) before it returns.
	SyncAlways SyncPolicy = iota
	// SyncInterval: Commit only hands records to the OS; the caller calls Sync on a timer.
	SyncInterval
	// SyncNever: Commit only hands records to the OS and nothing fsyncs except Sync, segment
	// creation and Close. For tests and benchmarks only.
	SyncNever
)

func (p SyncPolicy) String() string {
	switch p {
	case SyncAlways:
		return "always"
	case SyncInterval:
		return "interval"
	case SyncNever:
		return "never"
	}
	return fmt.Sprintf("SyncPolicy(%d)", int(p))
}

// Options configure a WAL. The zero value is usable.
type Options struct {
	// SegmentSize: Append rolls to a new segment instead of growing one past it. Default 64 MiB.
	SegmentSize int64
	// Sync is the fsync policy. Default SyncAlways.
	Sync SyncPolicy
	// Logger receives torn-tail repairs and segment removals. Default logrus.StandardLogger().
	Logger logrus.FieldLogger
}

// Errors returned by WAL methods (wrapped; test with errors.Is).
var (
	ErrClosed      = errors.New("wal closed")
	ErrNotReplayed = errors.New("wal not replayed: call Replay before appending")
	ErrSeqOrder    = errors.New("wal seq_no out of order")
)

type segment struct {
	index    uint64
	path     string
	firstSeq uint64 // 0 while the segment holds no record
	lastSeq  uint64
}

// WAL is one vnode's write-ahead log. All methods are safe for concurrent use; Commit from many
// goroutines shares fsyncs (group commit). The WAL starts no goroutines.
type WAL struct {
	dir         string
	segmentSize int64
	policy      SyncPolicy
	log         logrus.FieldLogger

	mu        sync.Mutex
	cond      sync.Cond // signalled (with mu) when a group-commit fsync ends or the WAL closes
	segs      []segment // ascending index; the last one is active once replayed
	w         *recordfile.Writer
	replayed  bool
	closed    bool
	syncing   bool   // a group-commit leader is fsyncing without holding mu
	lastSeq   uint64 // last appended or replayed seq_no (or Replay's afterSeq if larger)
	syncedSeq uint64 // every record <= syncedSeq is durable
	err       error  // sticky: a failed fsync (or other I/O error) leaves the WAL unusable
	seqBuf    [SeqSize]byte

	// A full disk is not fatal: the active segment is rewound to goodSize, the end of the records
	// up to goodSeq that the last successful flush handed to the OS, and appending resumes once
	// there is space. Commit of a dropped record (seq in (goodSeq, rewound]) returns diskErr.
	goodSize int64
	goodSeq  uint64
	rewound  uint64
	diskErr  error

	skipped         int          // damaged records or segment ends Replay stepped over
	fsyncs          atomic.Int64 // data fsyncs done, for tests
	afterLeaderSync func()       // test hook: runs in the group-commit leader after its fsync, without mu
}

// Open opens (creating if needed) the WAL in dir and lists its segments. It reads no records:
// call Replay before Append.
func Open(dir string, opts Options) (*WAL, error) {
	if opts.SegmentSize <= 0 {
		opts.SegmentSize = DefaultSegmentSize
	}
	if opts.Logger == nil {
		opts.Logger = logrus.StandardLogger()
	}
	if opts.Sync < SyncAlways || opts.Sync > SyncNever {
		return nil, fmt.Errorf("open wal %s: unknown sync policy %v", dir, opts.Sync)
	}
	if err := mkdir(dir); err != nil {
		return nil, fmt.Errorf("open wal: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("open wal: %w", err)
	}
	w := &WAL{dir: dir, segmentSize: opts.SegmentSize, policy: opts.Sync, log: opts.Logger.WithField("wal_dir", dir)}
	w.cond.L = &w.mu
	for _, e := range entries {
		idx, ok := ParseSegmentName(e.Name())
		if !ok || !e.Type().IsRegular() {
			w.log.WithField("file", e.Name()).Warn("wal: ignoring unexpected file")
			continue
		}
		w.segs = append(w.segs, segment{index: idx, path: filepath.Join(dir, e.Name())})
	}
	slices.SortFunc(w.segs, func(a, b segment) int { return compareUint(a.index, b.index) })
	for i := 1; i < len(w.segs); i++ {
		if w.segs[i].index != w.segs[i-1].index+1 {
			missing := filepath.Join(dir, SegmentName(w.segs[i-1].index+1))
			return nil, &storage.CorruptionError{Path: missing, Offset: 0,
				Err: fmt.Errorf("missing wal segment between %s and %s", w.segs[i-1].path, w.segs[i].path)}
		}
	}
	return w, nil
}

func compareUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// mkdir creates dir if needed and, when it did, fsyncs the parent so the new entry is durable.
func mkdir(dir string) error {
	if st, err := os.Stat(dir); err == nil {
		if !st.IsDir() {
			return fmt.Errorf("%s is not a directory", dir)
		}
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return recordfile.SyncDir(filepath.Dir(filepath.Clean(dir)))
}

// Replay reads every segment in order and calls fn (which may be nil) for each record with
// seq > afterSeq. Data is only valid during the call, and fn must not call the WAL.
//
// A torn tail of the last segment is truncated at the last good record and logged (file, offset);
// a torn or corrupt record anywhere else, or seq_nos that do not increase, give a
// *storage.CorruptionError. An error from fn is returned as is. Afterwards the WAL appends at the
// end of the last segment (creating the first segment if there is none), and LastSeq is the larger
// of the last record's seq_no and afterSeq. Replay runs once.
func (w *WAL) Replay(afterSeq uint64, fn func(seq uint64, data []byte) error) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	if w.replayed {
		return fmt.Errorf("replay wal %s: already replayed", w.dir)
	}
	var prev uint64
	var validEnd int64
	for i := range w.segs {
		w.segs[i].firstSeq, w.segs[i].lastSeq = 0, 0
	}
	for i := range w.segs {
		seg := &w.segs[i]
		isLast := i == len(w.segs)-1
		end, err := ReadSegmentSkipping(seg.path, func(off int64, seq uint64, data []byte) error {
			if seq <= prev {
				return &storage.CorruptionError{Path: seg.path, Offset: off,
					Err: fmt.Errorf("wal seq_no: got %d; want > %d", seq, prev)}
			}
			prev = seq
			if seg.firstSeq == 0 {
				seg.firstSeq = seq
			}
			seg.lastSeq = seq
			if seq > afterSeq && fn != nil {
				return fn(seq, data)
			}
			return nil
		}, func(off, next int64, reason error) error {
			// The format lets replay go on past a damaged record; its write is lost here (a
			// replica elsewhere may still have it), and the log says exactly where.
			w.skipped++
			w.log.WithFields(logrus.Fields{"file": seg.path, "offset": off, "resumed_at": next, "reason": reason}).
				Error("wal: damaged record skipped; its write is lost on this replica")
			return nil
		})
		var torn *recordfile.TornTailError
		switch {
		case err == nil:
		case errors.As(err, &torn) && isLast:
			w.log.WithFields(logrus.Fields{
				"file":          torn.Path,
				"offset":        torn.Offset,
				"file_size":     torn.Size,
				"dropped_bytes": torn.Size - torn.Offset,
				"reason":        torn.Err.Error(),
			}).Warn("wal: truncating torn tail of last segment")
		case errors.As(err, &torn):
			// A segment that is not the last was complete once: its damaged end is lost, and the
			// next segment goes on.
			w.skipped++
			w.log.WithFields(logrus.Fields{"file": torn.Path, "offset": torn.Offset, "dropped_bytes": torn.Size - torn.Offset,
				"reason": torn.Err}).Error("wal: damaged end of a segment that is not the last skipped; its writes are lost on this replica")
		default:
			return err
		}
		validEnd = end
	}

	if len(w.segs) == 0 {
		if err := w.createSegment(1); err != nil {
			return err
		}
	} else {
		last := w.segs[len(w.segs)-1]
		wr, err := recordfile.OpenAppend(last.path, Magic, validEnd)
		if err != nil {
			return fmt.Errorf("replay wal: %w", err)
		}
		// What we replayed may sit only in the page cache (a process crash without fsync).
		if err := wr.SyncData(); err != nil {
			_ = wr.Close()
			return fmt.Errorf("replay wal: %w", err)
		}
		w.fsyncs.Add(1)
		w.w = wr
	}
	w.lastSeq = max(prev, afterSeq)
	w.syncedSeq = w.lastSeq
	if w.w != nil {
		w.goodSize, w.goodSeq = w.w.Size(), w.lastSeq
	}
	w.replayed = true
	return nil
}

// createSegment creates segment index and makes it active.
func (w *WAL) createSegment(index uint64) error {
	path := filepath.Join(w.dir, SegmentName(index))
	wr, err := recordfile.Create(path, Magic)
	if err != nil {
		return fmt.Errorf("wal new segment: %w", err)
	}
	w.segs = append(w.segs, segment{index: index, path: path})
	w.w = wr
	w.goodSize, w.goodSeq = wr.Size(), w.lastSeq
	return nil
}

// failWrite handles a failed write or flush (not an fsync) of the active segment: a full disk
// rewinds it to its last flushed record and is returned as is (the WAL stays usable); any other
// error makes the WAL unusable. Called with mu held.
func (w *WAL) failWrite(op string, err error) error {
	if !storage.IsDiskFull(err) || w.w == nil {
		w.err = fmt.Errorf("%s (wal unusable until reopened): %w", op, err)
		return w.err
	}
	if rerr := w.w.Rewind(w.goodSize); rerr != nil {
		w.err = fmt.Errorf("%s: %w; then %v (wal unusable until reopened)", op, err, rerr)
		return w.err
	}
	w.rewound = max(w.rewound, w.lastSeq)
	w.lastSeq = w.goodSeq
	seg := &w.segs[len(w.segs)-1]
	if seg.lastSeq > w.goodSeq {
		seg.lastSeq = w.goodSeq
		if seg.firstSeq > w.goodSeq {
			seg.firstSeq, seg.lastSeq = 0, 0
		}
	}
	w.diskErr = fmt.Errorf("%s: records after seq %d were not written: %w", op, w.goodSeq, err)
	w.log.WithFields(logrus.Fields{"file": w.w.Path(), "offset": w.goodSize, "dropped_through_seq": w.rewound}).
		WithError(err).Warn("wal: disk full; rewound to the last flushed record")
	return w.diskErr
}

// dropped reports the error for a commit of seq if a disk-full rewind dropped it. mu held.
func (w *WAL) dropped(seq uint64) error {
	if seq > w.lastSeq && seq <= w.rewound {
		return w.diskErr
	}
	return nil
}

// flushed records that everything appended so far reached the OS. mu held.
func (w *WAL) flushed(size int64, seq uint64) {
	w.goodSize, w.goodSeq = max(w.goodSize, size), max(w.goodSeq, seq)
}

// usable returns why the WAL cannot append or sync, if it cannot. Called with mu held.
func (w *WAL) usable() error {
	switch {
	case w.closed:
		return ErrClosed
	case w.err != nil:
		return w.err
	case !w.replayed:
		return ErrNotReplayed
	}
	return nil
}

// Append buffers one record (seq, data) in the active segment, rolling to a new segment if the
// record would grow the active one past SegmentSize. seq must be greater than LastSeq. The record
// is not durable, nor even handed to the OS, until Commit or Sync covers it.
func (w *WAL) Append(seq uint64, data []byte) error {
	if len(data) > MaxDataSize {
		return fmt.Errorf("wal append: data got %d bytes; want <= %d", len(data), MaxDataSize)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for {
		if err := w.usable(); err != nil {
			return err
		}
		if seq <= w.lastSeq {
			return fmt.Errorf("wal append: %w: got %d; want > %d", ErrSeqOrder, seq, w.lastSeq)
		}
		size := w.w.Size()
		if size <= recordfile.HeaderSize || size+int64(recordfile.FrameSize+SeqSize+len(data)) <= w.segmentSize {
			break
		}
		if w.syncing { // the leader is fsyncing the active segment: let it finish first
			w.cond.Wait()
			continue
		}
		if err := w.roll(); err != nil {
			return err
		}
		break
	}
	binary.LittleEndian.PutUint64(w.seqBuf[:], seq)
	if _, err := w.w.AppendParts(w.seqBuf[:], data); err != nil {
		return w.failWrite("wal append", err)
	}
	seg := &w.segs[len(w.segs)-1]
	if seg.firstSeq == 0 {
		seg.firstSeq = seq
	}
	seg.lastSeq = seq
	w.lastSeq = seq
	return nil
}

// roll syncs (unless SyncNever) and closes the active segment and creates the next one. Called
// with mu held and no fsync in flight.
func (w *WAL) roll() error {
	size := w.w.Size()
	if err := w.w.Flush(); err != nil {
		return w.failWrite("wal roll", err)
	}
	w.flushed(size, w.lastSeq)
	if w.policy != SyncNever {
		if err := w.w.SyncData(); err != nil {
			w.err = fmt.Errorf("wal roll (wal unusable until reopened): %w", err)
			return w.err
		}
		w.fsyncs.Add(1)
		w.syncedSeq = w.lastSeq
	}
	// The next segment first: if the disk is full, the active one stays active.
	old := w.w
	if err := w.createSegment(w.segs[len(w.segs)-1].index + 1); err != nil {
		// recordfile.Create removes a file it made but could not initialize
		if storage.IsDiskFull(err) {
			return fmt.Errorf("wal roll: %w", err)
		}
		w.err = fmt.Errorf("wal roll (wal unusable until reopened): %w", err)
		return w.err
	}
	if err := old.Close(); err != nil {
		w.log.WithError(err).Warn("wal: closing the previous segment")
	}
	return nil
}

// Commit makes every record up to seq durable according to the policy. With SyncAlways it is a
// group commit: if an fsync already covered seq it returns at once; if one is in flight it waits for
// it; otherwise the caller becomes the leader and fsyncs everything appended so far, while other
// callers keep appending and then wait for it. With SyncInterval and SyncNever it only hands
// buffered records to the OS. seq must not exceed LastSeq.
func (w *WAL) Commit(seq uint64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if seq <= w.syncedSeq {
		return nil
	}
	if err := w.usable(); err != nil {
		return err
	}
	if err := w.dropped(seq); err != nil {
		return err
	}
	if seq > w.lastSeq {
		return fmt.Errorf("wal commit: %w: seq %d was not appended (last %d)", ErrSeqOrder, seq, w.lastSeq)
	}
	if w.policy != SyncAlways {
		size, last := w.w.Size(), w.lastSeq
		if err := w.w.Flush(); err != nil {
			return w.failWrite("wal commit", err)
		}
		w.flushed(size, last)
		return nil
	}
	return w.syncLocked(seq)
}

// Sync flushes and fsyncs everything appended so far, whatever the policy (for SyncInterval timers).
func (w *WAL) Sync() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		return err
	}
	return w.syncLocked(w.lastSeq)
}

// syncLocked makes records up to seq durable, sharing fsyncs between callers. Called with mu held;
// the leader releases mu during the fsync so that others can append meanwhile.
func (w *WAL) syncLocked(seq uint64) error {
	for {
		if seq <= w.syncedSeq {
			return nil
		}
		if err := w.usable(); err != nil {
			return err
		}
		if err := w.dropped(seq); err != nil {
			return err
		}
		if !w.syncing {
			break
		}
		w.cond.Wait()
	}
	w.syncing = true
	target := w.lastSeq
	wr := w.w
	size := wr.Size()
	err := wr.Flush()
	if err != nil {
		w.syncing = false
		w.cond.Broadcast()
		return w.failWrite("wal sync", err)
	}
	w.flushed(size, target)
	if err == nil {
		w.mu.Unlock()
		err = wr.SyncData()
		w.fsyncs.Add(1)
		if w.afterLeaderSync != nil {
			w.afterLeaderSync()
		}
		w.mu.Lock()
	}
	w.syncing = false
	w.cond.Broadcast()
	if err != nil {
		// After a failed fsync the page cache state is unknown: refuse further writes (a reopen
		// replays what really is on disk).
		w.err = fmt.Errorf("wal sync (wal unusable until reopened): %w", err)
		return w.err
	}
	w.syncedSeq = max(w.syncedSeq, target)
	return nil
}

// Skipped is how many damaged records (or segment ends) Replay stepped over.
func (w *WAL) Skipped() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.skipped
}

// LastSeq returns the last appended or replayed seq_no (or Replay's afterSeq if larger).
func (w *WAL) LastSeq() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lastSeq
}

// RemoveThrough deletes the oldest segments whose records all have seq_no <= seq, never the active
// segment, and fsyncs the directory. Call it after a flush made those records redundant.
func (w *WAL) RemoveThrough(seq uint64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	if !w.replayed {
		return ErrNotReplayed
	}
	n := 0
	var err error
	for n < len(w.segs)-1 && w.segs[n].lastSeq <= seq {
		if err = os.Remove(w.segs[n].path); err != nil && !errors.Is(err, os.ErrNotExist) {
			err = fmt.Errorf("wal remove segment: %w", err)
			break
		}
		err = nil
		w.log.WithFields(logrus.Fields{"file": w.segs[n].path, "last_seq_no": w.segs[n].lastSeq}).Debug("wal: removed segment")
		n++
	}
	w.segs = slices.Delete(w.segs, 0, n)
	if n > 0 {
		if serr := recordfile.SyncDir(w.dir); err == nil {
			err = serr
		}
	}
	return err
}

// Roll closes the active segment and starts the next one when the active one holds records, so
// that RemoveThrough can remove it once they are flushed (an idle vnode then keeps only an empty
// segment).
func (w *WAL) Roll() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.syncing {
		w.cond.Wait()
	}
	if err := w.usable(); err != nil {
		return err
	}
	if w.segs[len(w.segs)-1].firstSeq == 0 {
		return nil
	}
	return w.roll()
}

// Segments returns the paths of the segment files, oldest first.
func (w *WAL) Segments() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	paths := make([]string, len(w.segs))
	for i, s := range w.segs {
		paths[i] = s.path
	}
	return paths
}

// Close waits for an in-flight fsync, syncs what is left and closes the active segment. Later
// calls return ErrClosed, except Commit of an already durable seq_no; Close itself is idempotent.
func (w *WAL) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.syncing {
		w.cond.Wait()
	}
	if w.closed {
		return nil
	}
	w.closed = true
	w.cond.Broadcast()
	if w.w == nil {
		return w.err
	}
	err := w.err
	if err == nil && w.lastSeq > w.syncedSeq {
		if err = w.w.Sync(); err == nil {
			w.fsyncs.Add(1)
			w.syncedSeq = w.lastSeq
		}
	}
	if cerr := w.w.Close(); err == nil {
		err = cerr
	}
	w.w = nil
	if err != nil {
		return fmt.Errorf("close wal %s: %w", w.dir, err)
	}
	return nil
}
