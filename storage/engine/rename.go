package engine

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/index"
	"github.com/chronogo/chronogo/storage/summary"
)

// RenameResult counts what a Rename did. Rows are distinct timestamps (across all fields) as a scan
// shows them before the rename: Rows of every matched series, RenamedRows of the points that moved.
type RenameResult struct {
	Series, Renamed   int // series matched by the filter / series whose key changed
	Rows, RenamedRows int64
}

// renameCrashHook, if set, runs between the copy and the tombstones (tests stop a rename there).
var renameCrashHook func() error

// redirect is one rename tombstone seen from its source key: writes older than version go to target.
type redirect struct {
	target       []byte
	table        string
	version, seq uint64
}

// Batches of a rename copy: at most copyChunkPoints points per column chunk and about
// copyBatchValues values per batch (variables so tests can make them small).
var (
	copyChunkPoints = 4096
	copyBatchValues = 64 << 10
)

// Rename moves every point of the table's series that match filter and that rename maps to a new
// key K' (the MongoDB updateMany of the meta field). For every such series K, in one snapshot:
//
//  1. its points (every field, all time, version <= version) are written under K' as ordinary
//     batches with Version = version and committed (K' may exist: last-write-wins merges them);
//  2. one summary edit adds, per series, a rename tombstone: K all time, (version, seq reserved
//     before the copies), target K'. It hides K's copied points and redirects later writes to K
//     whose batch version is older than version (Write).
//
// A crash between 1 and 2 leaves the copy and K both visible; repeating the Rename finishes it.
// An error from rename aborts before anything changes. The caller is the vnode's only writer;
// readers and snapshots keep working throughout.
func (v *Vnode) Rename(table string, filter index.Expr, rename func(storage.SeriesKey) (storage.SeriesKey, bool, error), version uint64) (RenameResult, error) {
	var res RenameResult
	v.mu.Lock()
	closed := v.closed
	var err error
	if !closed {
		err = v.commitPendingLocked() // the rename sees every write that came before it
	}
	v.mu.Unlock()
	if closed {
		return res, ErrClosed
	}
	if err != nil {
		return res, fmt.Errorf("rename: %w", err)
	}
	ids, err := v.idx.Select(table, filter)
	if err != nil {
		return res, fmt.Errorf("rename: %w", err)
	}
	if len(ids) == 0 {
		return res, nil
	}
	snap := v.Snapshot()
	defer snap.Release()

	// Plan first: every rename call happens before anything changes.
	type move struct {
		id       storage.SeriesID
		from, to []byte
	}
	var moves []move
	var unchanged []storage.SeriesID
	for _, id := range ids {
		key, ok := snap.SeriesKey(id)
		if !ok {
			continue
		}
		from := key.Marshal(nil)
		res.Series++
		nk, changed, err := rename(key)
		if err != nil {
			return RenameResult{}, fmt.Errorf("rename %s: %w", table, err)
		}
		if !changed {
			unchanged = append(unchanged, id)
			continue
		}
		if nk.Table != table {
			return RenameResult{}, fmt.Errorf("rename %s: new key is in table %q", table, nk.Table)
		}
		if err := nk.Normalize(); err != nil {
			return RenameResult{}, fmt.Errorf("rename %s: new key: %w", table, err)
		}
		to := nk.Marshal(nil)
		if len(to) > storage.MaxSeriesKeyLen {
			return RenameResult{}, fmt.Errorf("rename %s: new key of %d bytes; want <= %d", table, len(to), storage.MaxSeriesKeyLen)
		}
		if bytes.Equal(to, from) {
			unchanged = append(unchanged, id)
			continue
		}
		moves = append(moves, move{id: id, from: from, to: to})
	}
	rc := &renameCopy{v: v, sc: snap.newScanner(ScanQuery{Table: table, MinTime: minTime, MaxTime: maxTime}), version: version}
	for _, id := range unchanged {
		n, err := rc.series(id, nil)
		if err != nil {
			return RenameResult{}, fmt.Errorf("rename %s: %w", table, err)
		}
		res.Rows += n
	}
	if len(moves) == 0 {
		return res, nil
	}

	// The tombstones' seq is reserved before the copies: they hide every point K had (all older
	// by seq) but not points copied into K by this same rename (a swap K <-> K').
	v.mu.Lock()
	if v.closed {
		v.mu.Unlock()
		return RenameResult{}, ErrClosed
	}
	v.seq++
	tombSeq := v.seq
	v.mu.Unlock()

	for _, m := range moves {
		before := rc.copied
		n, err := rc.series(m.id, m.to)
		if err != nil {
			return RenameResult{}, fmt.Errorf("rename %s: copy: %w", table, err)
		}
		res.Rows += n
		res.RenamedRows += rc.copied - before
		res.Renamed++
	}
	if err := rc.flush(); err != nil {
		return RenameResult{}, fmt.Errorf("rename %s: copy: %w", table, err)
	}
	if rc.lastSeq > 0 {
		if err := v.Commit(rc.lastSeq); err != nil {
			return RenameResult{}, fmt.Errorf("rename %s: commit copy: %w", table, err)
		}
	}

	if renameCrashHook != nil {
		if err := renameCrashHook(); err != nil {
			return RenameResult{}, err
		}
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return RenameResult{}, ErrClosed
	}
	if err := v.idx.Sync(); err != nil {
		return RenameResult{}, fmt.Errorf("rename %s: %w", table, err)
	}
	var nextID uint64 = 1
	for _, t := range v.cur.tombs {
		nextID = max(nextID, t.ID+1)
	}
	edit := &summary.VersionEdit{MaxSeq: v.seq}
	for _, m := range moves {
		t := summary.Tombstone{ID: nextID, Series: []storage.SeriesID{m.id}, MinTime: minTime, MaxTime: maxTime,
			Version: version, Seq: tombSeq, Target: m.to}
		nextID++
		edit.AddTombstones = append(edit.AddTombstones, t)
		for i := range v.cur.tombs {
			if u := &v.cur.tombs[i]; covers(&t, u) && !slices.Contains(edit.DelTombstones, u.ID) {
				edit.DelTombstones = append(edit.DelTombstones, u.ID)
			}
		}
	}
	if err := v.installLocked(edit, nil); err != nil {
		return RenameResult{}, fmt.Errorf("rename %s: %w", table, err)
	}
	for _, m := range moves {
		v.addRedirectLocked(m.from, redirect{target: m.to, table: table, version: version, seq: tombSeq})
	}
	v.log.WithFields(logrus.Fields{"table": table, "series": res.Series, "renamed": res.Renamed,
		"rows": res.RenamedRows, "version": version}).Info("series renamed")
	return res, nil
}

// renameCopy reads series from a snapshot and writes their points under new keys.
type renameCopy struct {
	v       *Vnode
	sc      *scanner
	version uint64
	times   []int64 // distinct timestamps of the current series
	tmp     []int64
	batch   storage.Batch
	values  int
	copied  int64 // distinct timestamps copied so far
	lastSeq uint64
}

// series reads every column of id and, if to is set, copies the points the rename tombstone will
// hide (version <= rc.version) under key to. It returns the series' distinct visible timestamps.
func (rc *renameCopy) series(id storage.SeriesID, to []byte) (int64, error) {
	sc := rc.sc
	keys, files := sc.columns(id)
	rc.times = rc.times[:0]
	var moved []int64
	hide := sc.s.v.hideFunc(id)
	if hide == nil {
		hide = func(int64, uint64, uint64) bool { return false } // forces versions to be decoded
	}
	for _, k := range keys {
		srcs, err := sc.gather(id, k, files, nil, hide)
		if err != nil {
			return 0, err
		}
		sc.merged.Reset(k.Type)
		storage.MergeLWW(&sc.merged, srcs, hide)
		p := &sc.merged
		rc.times = mergeTimes(rc.times, p.Times, &rc.tmp)
		if to == nil {
			continue
		}
		var col storage.Points
		col.Values.Type = k.Type
		for i := range p.Times {
			if p.Versions[i] > rc.version {
				continue // written after the update: stays on the old key (the tombstone keeps it)
			}
			col.Times = append(col.Times, p.Times[i])
			switch k.Type.Class() {
			case storage.ClassFloat:
				col.Values.Floats = append(col.Values.Floats, p.Values.Floats[i])
			case storage.ClassInt:
				col.Values.Ints = append(col.Values.Ints, p.Values.Ints[i])
			case storage.ClassBool:
				col.Values.Bools = append(col.Values.Bools, p.Values.Bools[i])
			case storage.ClassBytes:
				col.Values.Bytes = append(col.Values.Bytes, slices.Clone(p.Values.Bytes[i]))
			}
		}
		moved = mergeTimes(moved, col.Times, &rc.tmp)
		for lo := 0; lo < len(col.Times); lo += copyChunkPoints {
			hi := min(lo+copyChunkPoints, len(col.Times))
			vals := storage.Values{Type: k.Type}
			switch k.Type.Class() {
			case storage.ClassFloat:
				vals.Floats = col.Values.Floats[lo:hi]
			case storage.ClassInt:
				vals.Ints = col.Values.Ints[lo:hi]
			case storage.ClassBool:
				vals.Bools = col.Values.Bools[lo:hi]
			case storage.ClassBytes:
				vals.Bytes = col.Values.Bytes[lo:hi]
			}
			rc.batch.Series = append(rc.batch.Series, storage.SeriesRows{Key: to, Times: col.Times[lo:hi],
				Fields: []storage.FieldColumn{{Name: k.Field, Values: vals}}})
			rc.values += hi - lo
			if rc.values >= copyBatchValues {
				if err := rc.flush(); err != nil {
					return 0, err
				}
			}
		}
	}
	rc.copied += int64(len(moved))
	return int64(len(rc.times)), nil
}

// flush writes the pending copy batch, waiting out a write stall by flushing the memcache.
func (rc *renameCopy) flush() error {
	if len(rc.batch.Series) == 0 {
		return nil
	}
	rc.batch.Version = rc.version
	for {
		seq, err := rc.v.Write(&rc.batch)
		if errors.Is(err, ErrWriteStall) {
			if j := rc.v.StartFlush(false); j != nil {
				if err := rc.v.FinishFlush(j, j.Run()); err != nil {
					return err
				}
			} else {
				time.Sleep(time.Millisecond) // another flush is running: it frees a cache
			}
			continue
		}
		if err != nil {
			return err
		}
		if err := rc.v.Commit(seq); err != nil { // visible (and bounded in memory) batch by batch
			return err
		}
		rc.lastSeq = seq
		break
	}
	rc.batch.Series = nil
	rc.values = 0
	return nil
}

// mergeTimes returns the sorted union of sorted distinct a and b (tmp is scratch space).
func mergeTimes(a, b []int64, tmp *[]int64) []int64 {
	if len(b) == 0 {
		return a
	}
	out := (*tmp)[:0]
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || (i < len(a) && a[i] < b[j]):
			out = append(out, a[i])
			i++
		case i == len(a) || b[j] < a[i]:
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i, j = i+1, j+1
		}
	}
	*tmp = a[:0]
	return out
}

// addRedirectLocked records a rename of key from; the list stays sorted by (version, seq).
func (v *Vnode) addRedirectLocked(from []byte, r redirect) {
	if v.redirects == nil {
		v.redirects = map[string][]redirect{}
	}
	rs := append(v.redirects[string(from)], r)
	slices.SortStableFunc(rs, func(a, b redirect) int {
		if c := cmp.Compare(a.version, b.version); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	v.redirects[string(from)] = rs
	v.nRedirects++
}

// loadRedirects rebuilds the redirect map from the rename tombstones of the summary (Open). A
// tombstone whose series is no longer in the index (its table was dropped) redirects nothing.
func (v *Vnode) loadRedirects(st *summary.State) {
	v.redirects, v.nRedirects = nil, 0
	for _, t := range st.Tombstones {
		if !t.IsRename() {
			continue
		}
		for _, id := range t.Series {
			k, ok := v.idx.Key(id)
			if !ok {
				continue
			}
			v.addRedirectLocked(k.Marshal(nil), redirect{target: t.Target, table: k.Table, version: t.Version, seq: t.Seq})
		}
	}
}

// dropRedirectsLocked forgets the redirects of a dropped table.
func (v *Vnode) dropRedirectsLocked(table string) {
	for k, rs := range v.redirects {
		if len(rs) > 0 && rs[0].table == table {
			v.nRedirects -= len(rs)
			delete(v.redirects, k)
		}
	}
}

// redirectKey is where a write of key with batch version ver belongs: while the current key has a
// rename tombstone newer than ver (which would hide the write), move to its target. Of several, the
// first rename after the point's arrival at the current key is taken (the history order); if there
// is none, the oldest one newer than ver. The walk is bounded (renames can form cycles).
func (v *Vnode) redirectKey(key []byte, ver uint64) []byte {
	cur, at := key, ver
	for hop := 0; hop <= v.nRedirects; hop++ {
		rs := v.redirects[string(cur)]
		pick := -1
		for i := range rs {
			if rs[i].version > ver {
				if pick < 0 {
					pick = i
				}
				if rs[i].version > at {
					pick = i
					break
				}
			}
		}
		if pick < 0 {
			return cur
		}
		cur, at = rs[pick].target, max(at, rs[pick].version)
	}
	v.log.WithFields(logrus.Fields{"version": ver}).Warn("rename redirects form a cycle: a late write stays hidden")
	return cur
}

// redirectLocked rewrites the series of b that renames moved; b itself is never modified.
func (v *Vnode) redirectLocked(b *storage.Batch) *storage.Batch {
	out := b
	for i := range b.Series {
		if _, ok := v.redirects[string(b.Series[i].Key)]; !ok {
			continue
		}
		to := v.redirectKey(b.Series[i].Key, b.Version)
		if bytes.Equal(to, b.Series[i].Key) {
			continue
		}
		if out == b {
			out = &storage.Batch{Version: b.Version, Series: slices.Clone(b.Series)}
		}
		out.Series[i].Key = to
	}
	return out
}
