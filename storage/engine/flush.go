package engine

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/sirupsen/logrus"

	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/compaction"
	"github.com/chronogo/chronogo/storage/layout"
	"github.com/chronogo/chronogo/storage/memcache"
	"github.com/chronogo/chronogo/storage/summary"
	"github.com/chronogo/chronogo/storage/tsm"
)

// FlushJob turns immutable caches into TSM files: level 1 files for new data and level 0 delta
// files for points older than what the levels already hold. StartFlush creates it (cheap, under the
// vnode lock), Run does the I/O anywhere (a flush actor), FinishFlush commits it.
type FlushJob struct {
	v       *Vnode
	caches  []*memcache.Cache
	ver     *version
	seqHi   uint64 // newest WAL seq the caches hold: FlushedSeq once the job commits
	handles []*fileHandle
}

// OutputBytes is the size of the files Run wrote (0 before Run, or when it failed).
func (j *FlushJob) OutputBytes() int64 {
	var n int64
	for _, h := range j.handles {
		n += h.meta.Size
	}
	return n
}

// NeedsFlush reports whether immutable caches are waiting for a flush.
func (v *Vnode) NeedsFlush() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.immutables) > 0 && !v.flushing
}

// StartFlush switches the mutable cache to immutable (if force or it is full) and returns a job
// for every immutable cache, or nil when there is nothing to flush or a flush is running.
func (v *Vnode) StartFlush(force bool) *FlushJob {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed || v.flushing {
		return nil
	}
	if force {
		// Everything written so far, committed or not (a failed commit leaves it to the WAL).
		if err := v.commitPendingLocked(); err != nil {
			v.log.WithError(err).Warn("flush: committing pending writes")
		}
		v.switchLocked()
	}
	if len(v.immutables) == 0 {
		return nil
	}
	v.flushing = true
	// The job covers exactly the WAL records of the caches it writes: caches hold consecutive seq
	// ranges (oldest first), so that is the newest seq of the last one. Not v.seq: the mutable cache
	// may hold later records, and FlushedSeq past them would drop them from the WAL.
	_, seqHi, _ := v.immutables[len(v.immutables)-1].SeqRange()
	return &FlushJob{v: v, caches: slices.Clone(v.immutables), ver: v.cur.ref(), seqHi: seqHi}
}

func (v *Vnode) allocFileID() uint64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	id := v.nextFileID
	v.nextFileID++
	return id
}

type flushOut struct {
	level  uint8
	id     uint64
	path   string
	w      *tsm.Writer
	points int64
}

// Run writes the files. It touches no vnode state except file id allocation.
func (j *FlushJob) Run() (err error) {
	v := j.v
	outs := map[int64]*flushOut{} // key: window (TimeWindow) or 0 = level 1, -1 = delta
	defer func() {
		if err != nil {
			for _, o := range outs {
				if o.w != nil {
					_ = o.w.Abort()
				}
			}
		}
	}()
	out := func(key int64, level uint8) (*flushOut, error) {
		if o := outs[key]; o != nil {
			return o, nil
		}
		id := v.allocFileID()
		path := layout.FileName(v.dir, id, int(level))
		w, err := tsm.NewWriter(path, tsm.WriterOptions{SeriesKey: v.idx.RawKey})
		if err != nil {
			return nil, err
		}
		o := &flushOut{level: level, id: id, path: path, w: w}
		outs[key] = o
		return o, nil
	}
	window := v.opts.Compaction.Window
	timeWindow := v.opts.Compaction.Strategy == compaction.TimeWindow
	split := j.ver.maxLevelTime

	var (
		ids          []storage.SeriesID
		srcs         []*storage.Points
		pool         = make([]storage.Points, len(j.caches))
		merged, part storage.Points
	)
	for _, c := range j.caches {
		ids = append(ids, c.SeriesIDs()...)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	for _, id := range ids {
		var keys []memcache.ColumnKey
		for _, c := range j.caches {
			keys = c.AppendColumns(keys, id)
		}
		slices.SortFunc(keys, memcache.CompareColumnKeys)
		keys = slices.Compact(keys)
		hide := j.ver.hideFunc(id)
		for _, k := range keys {
			srcs = srcs[:0]
			for i, c := range j.caches {
				if c.ReadOnce(id, k, &pool[i]) {
					srcs = append(srcs, &pool[i])
				}
			}
			merged.Reset(k.Type)
			storage.MergeLWW(&merged, srcs, hide)
			key := tsm.Key{Series: id, Field: k.Field, Type: k.Type}
			// Points are sorted: emit runs that go to the same output file.
			for lo := 0; lo < merged.Len(); {
				t := merged.Times[lo]
				var okey int64
				level := uint8(1)
				switch {
				case timeWindow:
					okey = storage.FloorDiv(t, window)
				case t <= split:
					okey, level = math.MinInt64, 0
				}
				hi := lo + 1
				for hi < merged.Len() && sameOut(merged.Times[hi], t, timeWindow, window, split) {
					hi++
				}
				o, err := out(okey, level)
				if err != nil {
					return err
				}
				part.Reset(k.Type)
				for i := lo; i < hi; i++ {
					part.Append(&merged, i)
				}
				if err := o.w.WriteColumn(key, part.Times, &part.Values, part.Versions, part.Seqs); err != nil {
					return err
				}
				o.points += int64(part.Len())
				lo = hi
			}
		}
	}
	keys := make([]int64, 0, len(outs))
	for k := range outs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		o := outs[k]
		info, err := o.w.Finish()
		o.w = nil
		if err != nil {
			return err
		}
		r, err := tsm.Open(o.path)
		if err != nil {
			return err
		}
		j.handles = append(j.handles, &fileHandle{path: o.path, r: r, meta: summary.FileMeta{
			ID: o.id, Level: o.level, Size: info.Size, MinTime: info.MinTime, MaxTime: info.MaxTime,
			MinSeq: info.MinSeq, MaxSeq: info.MaxSeq}})
	}
	return nil
}

func sameOut(t, first int64, timeWindow bool, window, split int64) bool {
	if timeWindow {
		return storage.FloorDiv(t, window) == storage.FloorDiv(first, window)
	}
	return (t <= split) == (first <= split)
}

// FinishFlush commits a job that Run completed (err == nil) or abandons it (err != nil).
func (v *Vnode) FinishFlush(j *FlushJob, runErr error) error {
	defer j.ver.unref()
	v.mu.Lock()
	defer v.mu.Unlock()
	v.flushing = false
	abandon := func() {
		for _, h := range j.handles {
			_ = h.r.Close()
			_ = removeFile(h.path)
		}
	}
	if runErr != nil {
		abandon()
		return fmt.Errorf("flush: %w", runErr)
	}
	if v.closed {
		abandon()
		return ErrClosed
	}
	// Files may reference series created since the last sync: make the index durable first.
	if err := v.idx.Sync(); err != nil {
		abandon()
		return fmt.Errorf("flush: %w", err)
	}
	edit := &summary.VersionEdit{FlushedSeq: j.seqHi, NextFileID: v.nextFileID, MaxSeq: v.seq}
	for _, h := range j.handles {
		edit.AddFiles = append(edit.AddFiles, h.meta)
	}
	if err := v.installLocked(edit, j.handles); err != nil {
		abandon()
		return fmt.Errorf("flush: %w", err)
	}
	v.immutables = slices.Clone(v.immutables[len(j.caches):])
	v.rechargeLocked()
	if err := v.wal.RemoveThrough(j.seqHi); err != nil {
		v.log.WithError(err).Warn("removing flushed wal segments")
	}
	v.log.WithFields(logrus.Fields{"files": len(j.handles), "flushed_seq": j.seqHi}).Debug("flushed")
	return nil
}

// Flush flushes everything in memory now (used by tests, tools and shutdown).
func (v *Vnode) Flush() error {
	for force := true; ; force = false {
		j := v.StartFlush(force)
		if j == nil {
			v.mu.Lock()
			busy, closed := v.flushing, v.closed
			v.mu.Unlock()
			if closed {
				return ErrClosed
			}
			if busy {
				return errors.New("flush: another flush is running")
			}
			return nil
		}
		if err := v.FinishFlush(j, j.Run()); err != nil {
			return err
		}
	}
}

// ReclaimWAL rolls the WAL and removes every segment the flushes covered, when nothing waits in
// memory: a settled vnode keeps only an empty WAL segment. It does nothing while data is in
// memory or a flush runs.
func (v *Vnode) ReclaimWAL() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return ErrClosed
	}
	if !v.mutable.Empty() || len(v.immutables) > 0 || len(v.pending) > 0 || v.flushing {
		return nil
	}
	if err := v.wal.Roll(); err != nil {
		return fmt.Errorf("reclaim wal: %w", err)
	}
	if err := v.wal.RemoveThrough(v.sum.State().FlushedSeq); err != nil {
		return fmt.Errorf("reclaim wal: %w", err)
	}
	return nil
}
