package engine

import (
	"fmt"
	"math"
	"slices"

	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/index"
	"github.com/chronogo/chronogo/storage/memcache"
	"github.com/chronogo/chronogo/storage/summary"
)

// Write appends a batch to the WAL and returns its seq. Commit(seq) makes it durable and then
// puts it in the memcache, where readers see it: a write whose WAL record never became durable
// (a full disk) is never seen, so the memcache always equals the durable WAL. An invalid batch is
// refused before anything changes.
func (v *Vnode) Write(b *storage.Batch) (uint64, error) {
	if err := b.Validate(); err != nil {
		return 0, fmt.Errorf("write: %w", err)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return 0, ErrClosed
	}
	if len(v.immutables) >= v.opts.MaxImmutable || (len(v.immutables) > 0 && v.opts.CacheBudget.stalls()) {
		return 0, ErrWriteStall
	}
	if v.nRedirects > 0 {
		// Late writes for renamed series go where the rename moved their series; the WAL
		// records the rewritten batch, so replay needs no redirects.
		b = v.redirectLocked(b)
	}
	if len(v.cur.state.TableDeletes) > 0 {
		// A write older than a delete of its whole table arrived after it (a hint or an
		// anti-entropy copy queued behind the delete): its points were deleted, even in series
		// this vnode did not have when the delete came.
		if b = v.afterTableDeletesLocked(b); len(b.Series) == 0 {
			return v.seq, nil
		}
	}
	// Series ids first: the index may fail (I/O), and then nothing is in the WAL. A series created
	// for a batch that the WAL then refuses stays empty, which is harmless.
	ids, err := v.seriesIDs(b)
	if err != nil {
		return 0, fmt.Errorf("write: %w", err)
	}
	seq := v.seq + 1
	v.walBuf = storage.AppendBatch(v.walBuf[:0], b)
	if err := v.wal.Append(seq, v.walBuf); err != nil {
		v.dropLostLocked()
		return 0, fmt.Errorf("write: %w", err)
	}
	v.seq = seq
	v.pending = append(v.pending, pendingWrite{seq: seq, b: *b, ids: slices.Clone(ids)})
	return seq, nil
}

// pendingWrite is a batch in the WAL whose commit has not returned yet.
type pendingWrite struct {
	seq uint64
	b   storage.Batch // a copy of the header: callers may reuse their Batch
	ids []storage.SeriesID
}

// applyPendingLocked puts the pending writes up to seq (durable now) into the memcache, in order.
func (v *Vnode) applyPendingLocked(seq uint64) {
	n := 0
	for ; n < len(v.pending) && v.pending[n].seq <= seq; n++ {
		p := &v.pending[n]
		v.insert(&p.b, p.ids, p.seq)
	}
	if n > 0 {
		rest := copy(v.pending, v.pending[n:])
		clear(v.pending[rest:])
		v.pending = v.pending[:rest]
	}
}

// dropLostLocked forgets the pending writes the WAL dropped after a write failed for lack of
// space: they were never durable, and their writers get the error.
func (v *Vnode) dropLostLocked() {
	last := v.wal.LastSeq()
	v.pending = slices.DeleteFunc(v.pending, func(p pendingWrite) bool { return p.seq > last })
}

// commitPendingLocked makes every pending write durable and visible, for an operation ordered
// after them (delete, rename, expiry, a forced flush). v.mu held.
func (v *Vnode) commitPendingLocked() error {
	if len(v.pending) == 0 {
		return nil
	}
	last := v.pending[len(v.pending)-1].seq
	if err := v.wal.Commit(last); err != nil {
		v.dropLostLocked()
		return err
	}
	v.applyPendingLocked(last)
	return nil
}

// apply inserts a validated batch into the mutable cache; v.mu held (or during Open).
func (v *Vnode) apply(b *storage.Batch, seq uint64) error {
	ids, err := v.seriesIDs(b)
	if err != nil {
		return err
	}
	v.insert(b, ids, seq)
	return nil
}

// seriesIDs returns the id of each series of b, creating the new ones in the index.
func (v *Vnode) seriesIDs(b *storage.Batch) ([]storage.SeriesID, error) {
	v.keyBuf = v.keyBuf[:0]
	for i := range b.Series {
		v.keyBuf = append(v.keyBuf, b.Series[i].Key)
	}
	ids, err := v.idx.GetOrCreate(v.keyBuf, v.idBuf[:0])
	if err != nil {
		return nil, err
	}
	v.idBuf = ids
	return ids, nil
}

// insert puts b into the mutable cache (it cannot fail) and switches a full cache to immutable.
func (v *Vnode) insert(b *storage.Batch, ids []storage.SeriesID, seq uint64) {
	for i := range b.Series {
		v.mutable.Insert(ids[i], &b.Series[i], b.Version, seq)
	}
	v.rechargeLocked() // before the check: the write that crosses the budget switches
	if size := v.mutable.Size(); size >= v.opts.CacheSize || (size >= EarlyFlushMin && v.opts.CacheBudget.over()) {
		v.switchLocked()
	}
}

// switchLocked turns the mutable cache into an immutable one waiting for a flush.
func (v *Vnode) switchLocked() {
	if v.mutable.Empty() {
		return
	}
	v.immutables = append(v.immutables, v.mutable)
	v.mutable = memcache.New()
}

// Commit makes every write up to seq durable under the fsync policy. Concurrent commits share
// one fsync (group commit).
func (v *Vnode) Commit(seq uint64) error {
	err := v.wal.Commit(seq)
	v.mu.Lock()
	defer v.mu.Unlock()
	if err != nil {
		v.dropLostLocked()
		return err
	}
	v.applyPendingLocked(seq)
	return nil
}

// WriteSync is Write followed by Commit.
func (v *Vnode) WriteSync(b *storage.Batch) (uint64, error) {
	seq, err := v.Write(b)
	if err != nil {
		return 0, err
	}
	return seq, v.Commit(seq)
}

// Delete hides the points of the table's series matching filter with time in [minTime, maxTime]
// and (version, seq) older than the delete. It is durable when it returns.
func (v *Vnode) Delete(table string, filter index.Expr, minTime, maxTime int64, version uint64) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return ErrClosed
	}
	if err := v.commitPendingLocked(); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	if filter == nil && minTime == math.MinInt64 && maxTime == math.MaxInt64 && version > v.cur.state.TableDeletes[table] {
		// a whole-table delete (a dropped collection) also drops writes older than it that
		// arrive later, for series this vnode does not have yet
		if err := v.installLocked(&summary.VersionEdit{TableDeletes: []summary.TableDelete{{Table: table, Version: version}}}, nil); err != nil {
			return fmt.Errorf("delete: %w", err)
		}
	}
	ids, err := v.idx.Select(table, filter)
	if err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	if len(ids) == 0 || minTime > maxTime {
		return nil
	}
	return v.tombstoneLocked(ids, minTime, maxTime, version)
}

// afterTableDeletesLocked is b without the series of tables deleted whole by a delete newer than
// b's version (b itself when none is).
func (v *Vnode) afterTableDeletesLocked(b *storage.Batch) *storage.Batch {
	keep := -1 // the series kept so far, once one was dropped
	var out *storage.Batch
	for i := range b.Series {
		table, err := storage.KeyTableBytes(b.Series[i].Key)
		deleted := err == nil && b.Version < v.cur.state.TableDeletes[string(table)] // no copy: a map index by converted bytes
		switch {
		case deleted && keep < 0:
			out = &storage.Batch{Version: b.Version, Series: append([]storage.SeriesRows(nil), b.Series[:i]...)}
			keep = i
		case !deleted && keep >= 0:
			out.Series = append(out.Series, b.Series[i])
		}
	}
	if out == nil {
		return b
	}
	return out
}

// DeleteKeys is Delete for exactly the series of table with these encoded keys (anti-entropy
// copies another replica's delete with them); unknown keys are skipped.
func (v *Vnode) DeleteKeys(table string, keys [][]byte, minTime, maxTime int64, version uint64) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return ErrClosed
	}
	if err := v.commitPendingLocked(); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	var ids []storage.SeriesID
	for _, k := range keys {
		if id, ok := v.idx.Lookup(k); ok {
			if key, ok := v.idx.Key(id); ok && key.Table == table {
				ids = append(ids, id)
			}
		}
	}
	if len(ids) == 0 || minTime > maxTime {
		return nil
	}
	slices.Sort(ids)
	return v.tombstoneLocked(slices.Compact(ids), minTime, maxTime, version)
}

func (v *Vnode) tombstoneLocked(ids []storage.SeriesID, minTime, maxTime int64, version uint64) error {
	// The tombstone names series ids, so they must survive a crash as they are now.
	if err := v.idx.Sync(); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	seq := v.seq + 1
	var id uint64 = 1
	for _, t := range v.cur.tombs {
		id = max(id, t.ID+1)
	}
	t := summary.Tombstone{ID: id, Series: ids, MinTime: minTime, MaxTime: maxTime, Version: version, Seq: seq}
	edit := &summary.VersionEdit{MaxSeq: seq, AddTombstones: []summary.Tombstone{t}}
	// Tombstones the new one covers are redundant: repeated deletes (TTL passes) do not pile up.
	for i := range v.cur.tombs {
		if u := &v.cur.tombs[i]; covers(&t, u) {
			edit.DelTombstones = append(edit.DelTombstones, u.ID)
		}
	}
	if err := v.installLocked(edit, nil); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	v.seq = seq
	return nil
}

// DropTable deletes every point of every series of table and removes the series from the index.
// The memcache is flushed first so that replaying the WAL can never bring the data back.
func (v *Vnode) DropTable(table string) error {
	if err := v.Flush(); err != nil {
		return fmt.Errorf("drop table %s: %w", table, err)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return ErrClosed
	}
	ids, err := v.idx.Select(table, nil)
	if err != nil {
		return fmt.Errorf("drop table %s: %w", table, err)
	}
	if len(ids) > 0 {
		if err := v.tombstoneLocked(ids, math.MinInt64, math.MaxInt64, math.MaxUint64); err != nil {
			return fmt.Errorf("drop table %s: %w", table, err)
		}
	}
	v.dropRedirectsLocked(table)
	return v.idx.DropTable(table)
}

// ExpireBefore makes every point older than t invisible and removes whole files that hold only such
// points (retention by TTL); partially expired files are cleaned by compaction.
func (v *Vnode) ExpireBefore(t int64) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return ErrClosed
	}
	if t <= v.cur.state.ExpiredBefore {
		return nil
	}
	if err := v.commitPendingLocked(); err != nil {
		return fmt.Errorf("expire: %w", err)
	}
	edit := &summary.VersionEdit{ExpiredBefore: t}
	for _, h := range v.cur.files {
		if h.meta.MaxTime < t {
			edit.DelFiles = append(edit.DelFiles, h.meta.ID)
		}
	}
	return v.installLocked(edit, nil)
}

// covers reports whether every point tombstone u hides is also hidden by t. A rename tombstone is
// never covered: its redirect must stay.
func covers(t, u *summary.Tombstone) bool {
	if u.IsRename() {
		return false
	}
	if u.MinTime < t.MinTime || u.MaxTime > t.MaxTime || storage.Newer(u.Version, u.Seq, t.Version, t.Seq) {
		return false
	}
	for _, s := range u.Series {
		if !t.HasSeries(s) {
			return false
		}
	}
	return true
}
