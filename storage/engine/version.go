package engine

import (
	"cmp"
	"os"
	"slices"
	"sync/atomic"

	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/index"
	"github.com/chronogo/chronogo/storage/memcache"
	"github.com/chronogo/chronogo/storage/summary"
	"github.com/chronogo/chronogo/storage/tsm"
)

// fileHandle is an open TSM file shared by the versions that list it. It is closed when the last
// version holding it is released, and removed from disk then if a compaction made it obsolete.
type fileHandle struct {
	meta     summary.FileMeta
	path     string
	r        *tsm.Reader
	refs     atomic.Int32
	obsolete atomic.Bool
	bad      atomic.Bool // quarantined: renamed to .bad, kept on disk for inspection
}

func (h *fileHandle) unref() {
	if h.refs.Add(-1) == 0 {
		_ = h.r.Close()
		if h.obsolete.Load() && !h.bad.Load() {
			_ = os.Remove(h.path)
		}
	}
}

// version is an immutable view of the durable state: live files (sorted by level, then min time)
// and the summary state (tombstones, expiry). Readers hold a reference while they read.
type version struct {
	refs  atomic.Int32
	files []*fileHandle
	state *summary.State
	// maxLevelTime is the largest timestamp in levels 1..4: newer points go to L1, older to delta.
	maxLevelTime int64
	tombs        []summary.Tombstone // sorted by id
}

func newVersion(files []*fileHandle, st *summary.State) *version {
	v := &version{files: slices.Clone(files), state: st, maxLevelTime: minTime}
	slices.SortFunc(v.files, func(a, b *fileHandle) int {
		if c := cmp.Compare(a.meta.Level, b.meta.Level); c != 0 {
			return c
		}
		return cmp.Compare(a.meta.MinTime, b.meta.MinTime)
	})
	for _, h := range v.files {
		h.refs.Add(1)
		if h.meta.Level > 0 {
			v.maxLevelTime = max(v.maxLevelTime, h.meta.MaxTime)
		}
	}
	for _, t := range st.Tombstones {
		v.tombs = append(v.tombs, t)
	}
	slices.SortFunc(v.tombs, func(a, b summary.Tombstone) int { return cmp.Compare(a.ID, b.ID) })
	v.refs.Store(1)
	return v
}

func (v *version) ref() *version { v.refs.Add(1); return v }

func (v *version) unref() {
	if v.refs.Add(-1) == 0 {
		for _, h := range v.files {
			h.unref()
		}
	}
}

func (v *version) metas() []summary.FileMeta {
	out := make([]summary.FileMeta, len(v.files))
	for i, h := range v.files {
		out[i] = h.meta
	}
	return out
}

// holdsHidden reports whether file h still holds points the expiry or a tombstone hides. Blocks
// that cannot hold any (outside every tombstone's range or series, or newer than it) are skipped
// by their index entry; a block wholly inside a tombstone and older than it qualifies at once; the
// others (at a tombstone's edges) are read and checked point by point. A file a compaction wrote
// after the tombstone keeps no such point, so it does not qualify again.
func (v *version) holdsHidden(h *fileHandle) bool {
	if h.meta.MinTime < v.state.ExpiredBefore {
		return true
	}
	var blk tsm.Block
	for _, e := range h.r.Entries() {
		for _, b := range e.Blocks {
			for i := range v.tombs {
				t := &v.tombs[i]
				if t.MinTime > b.MaxTime || t.MaxTime < b.MinTime || b.MinVersion > t.Version || !t.HasSeries(e.Key.Series) {
					continue
				}
				if t.MinTime <= b.MinTime && b.MaxTime <= t.MaxTime && b.MaxVersion < t.Version {
					return true
				}
				if err := h.r.ReadBlock(b, e.Key.Type, &blk); err != nil {
					return false // damage: reads and compactions report and quarantine it
				}
				for k, ts := range blk.Times {
					if t.Hides(e.Key.Series, ts, blk.Versions[k], blk.Seqs[k]) {
						return true
					}
				}
			}
		}
	}
	return false
}

// hasFiles reports whether every file of fs is still live in v.
func (v *version) hasFiles(fs []summary.FileMeta) bool {
	for _, f := range fs {
		if !slices.ContainsFunc(v.files, func(h *fileHandle) bool { return h.meta.ID == f.ID }) {
			return false
		}
	}
	return true
}

// seriesHidden reports whether any tombstone or the expiry can hide points of series s.
func (v *version) seriesHidden(s storage.SeriesID) bool {
	if v.state.ExpiredBefore != minTime {
		return true
	}
	for i := range v.tombs {
		if v.tombs[i].HasSeries(s) {
			return true
		}
	}
	return false
}

// rangeHidden reports whether anything can hide points of series s with time in [lo, hi].
func (v *version) rangeHidden(s storage.SeriesID, lo, hi int64) bool {
	if lo < v.state.ExpiredBefore {
		return true
	}
	for i := range v.tombs {
		t := &v.tombs[i]
		if t.MinTime <= hi && t.MaxTime >= lo && t.HasSeries(s) {
			return true
		}
	}
	return false
}

// hide reports whether a point is deleted or expired.
func (v *version) hide(s storage.SeriesID, t int64, ver, seq uint64) bool {
	if t < v.state.ExpiredBefore {
		return true
	}
	for i := range v.tombs {
		if v.tombs[i].Hides(s, t, ver, seq) {
			return true
		}
	}
	return false
}

// hideFunc returns the HideFunc for one series, or nil when nothing can hide its points.
func (v *version) hideFunc(s storage.SeriesID) storage.HideFunc {
	if !v.seriesHidden(s) {
		return nil
	}
	return func(t int64, ver, seq uint64) bool { return v.hide(s, t, ver, seq) }
}

// Snapshot is a consistent, immutable view of a vnode for readers: the caches and files as they
// were when it was taken. Reads never block writes; Release it when done.
type Snapshot struct {
	owner  *Vnode // told about damaged files met while reading
	v      *version
	caches []*memcache.Cache // oldest first; the last may still be receiving writes
	seq    uint64            // points with a higher seq were written after the snapshot
	index  *index.Index
	done   atomic.Bool
}

// Release drops the snapshot's hold on files.
func (s *Snapshot) Release() {
	if s.done.CompareAndSwap(false, true) {
		s.v.unref()
	}
}

// Seq is the highest seq the snapshot sees.
func (s *Snapshot) Seq() uint64 { return s.seq }

const (
	minTime = -1 << 63
	maxTime = 1<<63 - 1
)
