package engine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/sirupsen/logrus"

	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/index"
	"github.com/chronogo/chronogo/storage/layout"
	"github.com/chronogo/chronogo/storage/memcache"
	"github.com/chronogo/chronogo/storage/summary"
	"github.com/chronogo/chronogo/storage/wal"
)

// Errors callers act on.
var (
	ErrClosed     = errors.New("vnode closed")
	ErrWriteStall = errors.New("vnode write stalled: too many immutable caches waiting for flush")
	ErrLocked     = errors.New("vnode directory already in use")
)

// Vnode is one vnode's storage. Its methods are safe for concurrent use; writes are serialised
// by an internal mutex (the vnode actor is the only writer in the server).
type Vnode struct {
	dir  string
	opts Options
	log  logrus.FieldLogger
	lock *os.File

	mu         sync.Mutex
	closed     bool
	wal        *wal.WAL
	idx        *index.Index
	sum        *summary.File
	seq        uint64 // last assigned seq
	nextFileID uint64
	mutable    *memcache.Cache
	immutables []*memcache.Cache // oldest first
	charged    int64             // bytes of the caches counted in opts.CacheBudget
	pending    []pendingWrite    // in the WAL, not yet committed: not in the memcache (see Write)
	cur        *version
	flushing   bool
	compacting bool
	walBuf     []byte
	keyBuf     [][]byte
	idBuf      []storage.SeriesID
	// redirects: encoded source key -> its rename tombstones, by (version, seq); see Rename.
	redirects  map[string][]redirect
	nRedirects int
}

// Open opens (or creates) the vnode in dir: it reads the summary, opens the files it lists, removes
// files it does not list (leftovers of an interrupted flush or compaction), opens the index and
// replays the WAL records that are newer than the last flush.
func Open(dir string, opts Options) (*Vnode, error) {
	opts = opts.withDefaults()
	v := &Vnode{dir: dir, opts: opts, log: opts.Logger.WithField("vnode_dir", dir), mutable: memcache.New()}
	for _, d := range []string{dir, filepath.Join(dir, layout.TSMDir), filepath.Join(dir, layout.DeltaDir)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("open vnode %s: %w", dir, err)
		}
	}
	lock, err := lockDir(filepath.Join(dir, layout.LockFile))
	if err != nil {
		return nil, fmt.Errorf("open vnode %s: %w", dir, err)
	}
	v.lock = lock
	if err := v.open(); err != nil {
		v.closeAll()
		return nil, err
	}
	return v, nil
}

func lockDir(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s", ErrLocked, path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return f, nil
}

func (v *Vnode) open() error {
	sum, st, err := v.openSummary()
	if err != nil {
		return fmt.Errorf("open vnode %s: %w", v.dir, err)
	}
	v.sum = sum
	if st, err = v.adoptOrphans(st); err != nil {
		return err
	}
	v.nextFileID = st.NextFileID
	if err := v.removeOrphans(st); err != nil {
		return err
	}
	handles, st, err := v.openFiles(st)
	if err != nil {
		return err
	}
	v.cur = newVersion(handles, st)
	idx, err := v.openIndex()
	if err != nil {
		return fmt.Errorf("open vnode %s: %w", v.dir, err)
	}
	v.idx = idx
	v.loadRedirects(st)
	w, err := wal.Open(filepath.Join(v.dir, layout.WALDir), wal.Options{SegmentSize: v.opts.WALSegmentSize, Sync: v.opts.Sync, Logger: v.log})
	if err != nil {
		return fmt.Errorf("open vnode %s: %w", v.dir, err)
	}
	v.wal = w
	v.seq = max(st.MaxSeq, st.FlushedSeq)
	replayed, skipped := 0, 0
	err = w.Replay(st.FlushedSeq, func(seq uint64, data []byte) error {
		b, err := storage.DecodeBatch(data)
		if err != nil {
			// It passed its CRC but can never apply (a key an older version let through): skip
			// it, loudly, rather than keep the whole vnode closed.
			v.log.WithFields(logrus.Fields{"seq": seq, "reason": err}).Error("wal record cannot be applied: skipped")
			skipped++
			return nil
		}
		if err := v.apply(b, seq); err != nil {
			return fmt.Errorf("wal record seq %d: %w", seq, err)
		}
		v.seq = max(v.seq, seq)
		replayed++
		return nil
	})
	if err != nil {
		return fmt.Errorf("open vnode %s: replay wal: %w", v.dir, err)
	}
	v.seq = max(v.seq, w.LastSeq())
	v.log.WithFields(logrus.Fields{"files": len(st.Files), "flushed_seq": st.FlushedSeq, "replayed": replayed, "skipped": skipped + w.Skipped(), "seq": v.seq}).Info("vnode opened")
	return nil
}

// removeOrphans deletes TSM files the summary does not list and every .tmp file.
func (v *Vnode) removeOrphans(st *summary.State) error {
	for _, sub := range []string{layout.TSMDir, layout.DeltaDir} {
		d := filepath.Join(v.dir, sub)
		ents, err := os.ReadDir(d)
		if err != nil {
			return fmt.Errorf("open vnode %s: %w", v.dir, err)
		}
		for _, e := range ents {
			name := e.Name()
			id, ok := layout.ParseFileID(name)
			_, live := st.Files[id]
			if strings.HasSuffix(name, layout.TmpExt) || (ok && !live) {
				v.log.WithField("file", filepath.Join(d, name)).Info("removing file not in summary")
				if err := os.Remove(filepath.Join(d, name)); err != nil {
					return fmt.Errorf("open vnode %s: %w", v.dir, err)
				}
			}
		}
	}
	return nil
}

// Dir is the vnode directory.
func (v *Vnode) Dir() string { return v.dir }

// Close syncs the WAL and closes every file. Unflushed data stays in the WAL.
func (v *Vnode) Close() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return nil
	}
	v.closed = true
	return v.closeAll()
}

func (v *Vnode) closeAll() error {
	if b := v.opts.CacheBudget; b != nil { // a closed vnode holds nothing of the budget
		b.used.Add(-v.charged)
		v.charged = 0
	}
	var errs []error
	if v.wal != nil {
		errs = append(errs, v.wal.Close())
	}
	if v.idx != nil {
		errs = append(errs, v.idx.Close())
	}
	if v.sum != nil {
		errs = append(errs, v.sum.Close())
	}
	if v.cur != nil {
		v.cur.unref()
	}
	if v.lock != nil {
		errs = append(errs, v.lock.Close())
	}
	return errors.Join(errs...)
}

// Snapshot returns a consistent view for reading; call Release when done. The vnode's owner
// calls it while the vnode is open; others use TrySnapshot.
func (v *Vnode) Snapshot() *Snapshot {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.snapshotLocked()
}

// TrySnapshot is Snapshot from any goroutine: ErrClosed once the vnode is closed.
func (v *Vnode) TrySnapshot() (*Snapshot, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return nil, ErrClosed
	}
	return v.snapshotLocked(), nil
}

func (v *Vnode) snapshotLocked() *Snapshot {
	caches := append(append([]*memcache.Cache(nil), v.immutables...), v.mutable)
	seq := v.seq
	if len(v.pending) > 0 {
		seq = v.pending[0].seq - 1 // pending writes reach the caches later, with these seqs
	}
	return &Snapshot{owner: v, v: v.cur.ref(), caches: caches, seq: seq, index: v.idx}
}

// Stats describe a vnode for tools and metrics.
type Stats struct {
	Seq, FlushedSeq uint64
	Files           []summary.FileMeta
	DiskBytes       int64
	CacheBytes      int64
	ImmutableCaches int
	Series          int
	Tombstones      int
	ExpiredBefore   int64
}

// Stats returns the vnode's current figures.
func (v *Vnode) Stats() Stats {
	v.mu.Lock()
	defer v.mu.Unlock()
	s := Stats{Seq: v.seq, FlushedSeq: v.cur.state.FlushedSeq, Files: v.cur.metas(), ImmutableCaches: len(v.immutables),
		Series: v.idx.Len(), Tombstones: len(v.cur.tombs), ExpiredBefore: v.cur.state.ExpiredBefore}
	for _, f := range s.Files {
		s.DiskBytes += f.Size
	}
	s.CacheBytes = v.mutable.Size()
	for _, c := range v.immutables {
		s.CacheBytes += c.Size()
	}
	return s
}

// installLocked appends edit to the summary and makes the new state current; v.mu must be held.
// added are the handles of files the edit adds; removed files are marked obsolete and deleted
// when the last reader releases them.
func (v *Vnode) installLocked(edit *summary.VersionEdit, added []*fileHandle) error {
	if err := v.sum.Append(edit); err != nil {
		return err
	}
	st := v.sum.State()
	files := make([]*fileHandle, 0, len(v.cur.files)+len(added))
	for _, h := range v.cur.files {
		if _, ok := st.Files[h.meta.ID]; ok {
			files = append(files, h)
		} else {
			h.obsolete.Store(true)
		}
	}
	files = append(files, added...)
	old := v.cur
	v.cur = newVersion(files, st)
	old.unref()
	return nil
}
