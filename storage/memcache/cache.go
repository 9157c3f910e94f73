package memcache

import (
	"cmp"
	"math"
	"slices"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/chronogo/chronogo/storage"
)

// Cache is one memcache: mutable until the vnode switches it to immutable, then flushed.
// Insert must be called by one writer at a time; readers may run concurrently with it.
type Cache struct {
	mu               sync.RWMutex
	series           map[storage.SeriesID]*seriesCols
	size             int64
	minSeq, maxSeq   uint64
	minTime, maxTime int64
	points           int64
	minVersion       uint64
}

// seriesCols holds a series' columns and the rows they share. Most writes give every field of a
// series a value in every row (a sensor reports all its readings at once), so a column that has
// had a value in each row so far is dense: its times and runs are a prefix of the series' own,
// stored once for all such columns. A column that misses a row gets its own times and runs
// (sparse) from then on.
type seriesCols struct {
	cols []*column
	// times and runs of the series' rows, in insertion order
	times []int64
	runs  []run
	// sortedTo is the length of the longest strictly ascending prefix of times
	sortedTo int
}

// run is a stretch of points written by one batch: points [previous end, end) share (version, seq).
type run struct {
	end          int
	version, seq uint64
}

type column struct {
	field string
	typ   storage.FieldType
	vals  storage.Values
	// dense: the column's points are the series' rows [0, n) (n = vals.Len()); times, runs and
	// sorted below are unused. Otherwise the column keeps its own.
	dense  bool
	times  []int64
	runs   []run
	sorted bool // times strictly increase
	// minTime and maxTime bound the column's times
	minTime, maxTime int64
	// view caches the sorted, deduplicated copy of an unsorted column for readers (immutable
	// caches and idle mutable ones are read many times); valid while the column has view.n points.
	view atomic.Pointer[sortedView]
}

// sortedView is a sorted, deduplicated copy of a column's first n points.
type sortedView struct {
	n   int
	pts storage.Points
}

// New returns an empty cache.
func New() *Cache {
	return &Cache{series: map[storage.SeriesID]*seriesCols{}, minTime: math.MaxInt64, minSeq: math.MaxUint64, maxTime: math.MinInt64, minVersion: math.MaxUint64}
}

// footprint is the bytes a column's own slices hold (their capacity, which is what the process
// pays for); a dense column's times and runs are the series' (seriesCols.footprint).
func (c *column) footprint() int64 {
	n := int64(cap(c.times))*8 + int64(cap(c.runs))*24
	switch c.typ.Class() {
	case storage.ClassFloat:
		n += int64(cap(c.vals.Floats)) * 8
	case storage.ClassInt:
		n += int64(cap(c.vals.Ints)) * 8
	case storage.ClassBool:
		n += int64(cap(c.vals.Bools))
	case storage.ClassBytes:
		n += int64(cap(c.vals.Bytes)) * 24
	}
	return n
}

// footprint is the bytes the series' shared rows hold.
func (s *seriesCols) footprint() int64 { return int64(cap(s.times))*8 + int64(cap(s.runs))*24 }

// rowsOf returns the times, runs (a copy: the last run's end moves as the writer appends) and
// sortedness of the column's first n points. Call with the cache's lock held.
func (s *seriesCols) rowsOf(col *column, n int) (times []int64, runs []run, sorted bool) {
	if !col.dense {
		return col.times[:n:n], slices.Clone(col.runs), col.sorted
	}
	if n == 0 {
		return nil, nil, true
	}
	i, _ := slices.BinarySearchFunc(s.runs, n, func(r run, n int) int { return cmp.Compare(r.end, n) })
	runs = slices.Clone(s.runs[:min(i+1, len(s.runs))])
	if len(runs) > 0 {
		runs[len(runs)-1].end = n
	}
	return s.times[:n:n], runs, n <= s.sortedTo
}

// makeSparse gives a dense column its own copy of its times and runs.
func (s *seriesCols) makeSparse(col *column) {
	n := col.vals.Len()
	col.times, col.runs, col.sorted = s.rowsOf(col, n)
	col.times = slices.Clone(col.times)
	col.dense = false
}

// Insert appends the rows of one series written with (version, seq).
func (c *Cache) Insert(id storage.SeriesID, rows *storage.SeriesRows, version, seq uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.series[id]
	if s == nil {
		s = &seriesCols{}
		c.series[id] = s
	}
	var added []*column
	defer func() {
		if len(added) > 0 {
			// s.cols stays sorted by CompareColumnKeys, so find can search and Columns needs no sort
			s.cols = append(s.cols, added...)
			slices.SortFunc(s.cols, func(a, b *column) int { return CompareColumnKeys(ColumnKey{a.field, a.typ}, ColumnKey{b.field, b.typ}) })
		}
	}()
	// the series' rows first: dense columns take their times and runs from them
	base := len(s.times)
	before := s.footprint()
	s.times = append(s.times, rows.Times...)
	s.runs = appendRun(s.runs, len(s.times), version, seq)
	if s.sortedTo == base {
		for s.sortedTo < len(s.times) && (s.sortedTo == 0 || s.times[s.sortedTo] > s.times[s.sortedTo-1]) {
			s.sortedTo++
		}
	}
	c.size += s.footprint() - before
	rowsMin, rowsMax := int64(math.MaxInt64), int64(math.MinInt64)
	for _, t := range rows.Times {
		rowsMin, rowsMax = min(rowsMin, t), max(rowsMax, t)
	}
	for fi := range rows.Fields {
		f := &rows.Fields[fi]
		if f.Values.Len() == 0 {
			continue // no empty columns: Columns lists only columns with points
		}
		every := f.Rows == nil || len(f.Rows) == len(rows.Times) // a value in each row of this insert
		col := s.find(f.Name, f.Values.Type)
		if col == nil {
			col = &column{field: f.Name, typ: f.Values.Type, dense: base == 0, sorted: true, minTime: math.MaxInt64, maxTime: math.MinInt64}
			col.vals.Type = f.Values.Type
			added = append(added, col) // into s.cols after the loop: one sort, not an insert each
		}
		before := col.footprint()
		if col.dense && (!every || col.vals.Len() != base) {
			s.makeSparse(col) // it missed rows before these, or misses some of these
		}
		n := f.Values.Len()
		appendValues(&col.vals, &f.Values)
		if col.dense {
			col.minTime, col.maxTime = min(col.minTime, rowsMin), max(col.maxTime, rowsMax)
		} else {
			start := len(col.times)
			if f.Rows == nil {
				col.times = append(col.times, rows.Times...)
			} else {
				for _, r := range f.Rows {
					col.times = append(col.times, rows.Times[r])
				}
			}
			for _, t := range col.times[start:] {
				col.minTime = min(col.minTime, t)
				col.maxTime = max(col.maxTime, t)
			}
			if col.sorted {
				for i := max(start, 1); i < len(col.times); i++ {
					if col.times[i] <= col.times[i-1] {
						col.sorted = false
						break
					}
				}
			}
			col.runs = appendRun(col.runs, len(col.times), version, seq)
		}
		c.points += int64(n)
		c.size += col.footprint() - before
		if f.Values.Type.Class() == storage.ClassBytes {
			for _, b := range f.Values.Bytes {
				c.size += int64(len(b))
			}
		}
	}
	c.minTime, c.maxTime = min(c.minTime, rowsMin), max(c.maxTime, rowsMax)
	c.minSeq = min(c.minSeq, seq)
	c.minVersion = min(c.minVersion, version)
	c.maxSeq = max(c.maxSeq, seq)
}

// appendRun ends the last run at end when it has the same (version, seq), else adds a run.
func appendRun(runs []run, end int, version, seq uint64) []run {
	if k := len(runs); k > 0 && runs[k-1].version == version && runs[k-1].seq == seq {
		runs[k-1].end = end
		return runs
	}
	return append(runs, run{end: end, version: version, seq: seq})
}

func appendValues(dst, src *storage.Values) {
	switch src.Type.Class() {
	case storage.ClassFloat:
		dst.Floats = append(dst.Floats, src.Floats...)
	case storage.ClassInt:
		dst.Ints = append(dst.Ints, src.Ints...)
	case storage.ClassBool:
		dst.Bools = append(dst.Bools, src.Bools...)
	case storage.ClassBytes:
		// The batch's buffers are not ours to keep: the values are copied, all into one allocation.
		n := 0
		for _, b := range src.Bytes {
			n += len(b)
		}
		buf := make([]byte, 0, n)
		for _, b := range src.Bytes {
			start := len(buf)
			buf = append(buf, b...)
			dst.Bytes = append(dst.Bytes, buf[start:len(buf):len(buf)])
		}
	}
}

func (s *seriesCols) find(field string, typ storage.FieldType) *column {
	if len(s.cols) <= 8 {
		for _, c := range s.cols {
			if c.typ == typ && c.field == field {
				return c
			}
		}
		return nil
	}
	i, ok := slices.BinarySearchFunc(s.cols, ColumnKey{field, typ}, func(c *column, k ColumnKey) int {
		return CompareColumnKeys(ColumnKey{c.field, c.typ}, k)
	})
	if !ok {
		return nil
	}
	return s.cols[i]
}

// Size is the approximate memory held, in bytes.
func (c *Cache) Size() int64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.size
}

// Points is the number of points held.
func (c *Cache) Points() int64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.points
}

// Empty reports whether nothing was inserted.
func (c *Cache) Empty() bool { return c.Points() == 0 }

// MinVersion is the lowest version inserted (MaxUint64 when empty).
func (c *Cache) MinVersion() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.minVersion
}

// SeqRange is the lowest and highest seq inserted (ok false when empty).
func (c *Cache) SeqRange() (lo, hi uint64, ok bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.minSeq, c.maxSeq, c.points > 0
}

// TimeRange is the lowest and highest timestamp inserted (ok false when empty).
func (c *Cache) TimeRange() (lo, hi int64, ok bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.minTime, c.maxTime, c.points > 0
}

// SeriesIDs returns the series present, ascending.
func (c *Cache) SeriesIDs() []storage.SeriesID {
	c.mu.RLock()
	ids := make([]storage.SeriesID, 0, len(c.series))
	for id := range c.series {
		ids = append(ids, id)
	}
	c.mu.RUnlock()
	slices.Sort(ids)
	return ids
}

// ColumnKey names a column of a series.
type ColumnKey struct {
	Field string
	Type  storage.FieldType
}

// CompareColumnKeys orders columns by field name, then type (the TSM index order within a series).
func CompareColumnKeys(a, b ColumnKey) int {
	if c := cmp.Compare(a.Field, b.Field); c != 0 {
		return c
	}
	return cmp.Compare(a.Type, b.Type)
}

// Columns returns the columns of series id, sorted by CompareColumnKeys.
func (c *Cache) Columns(id storage.SeriesID) []ColumnKey { return c.AppendColumns(nil, id) }

// AppendColumns appends the columns of series id to dst, sorted by CompareColumnKeys.
func (c *Cache) AppendColumns(dst []ColumnKey, id storage.SeriesID) []ColumnKey {
	c.mu.RLock()
	defer c.mu.RUnlock()
	s := c.series[id]
	if s == nil {
		return dst
	}
	for _, col := range s.cols {
		dst = append(dst, ColumnKey{col.field, col.typ})
	}
	return dst
}

// ReadShared is Read without copying: dst's slices alias the cache's memory and must be treated as
// read-only. Without withVersions, dst.Versions and dst.Seqs stay empty (the caller has no
// last-write-wins decision to make). It reports false if the column does not exist.
func (c *Cache) ReadShared(id storage.SeriesID, k ColumnKey, withVersions bool, dst *storage.Points) bool {
	if withVersions {
		return c.Read(id, k, dst)
	}
	c.mu.RLock()
	s := c.series[id]
	var col *column
	if s != nil {
		col = s.find(k.Field, k.Type)
	}
	if col == nil {
		c.mu.RUnlock()
		return false
	}
	n := col.vals.Len()
	var times []int64
	var sorted bool
	if col.dense {
		times, sorted = s.times[:n:n], n <= s.sortedTo
	} else {
		times, sorted = col.times[:n:n], col.sorted
	}
	vals := col.vals
	c.mu.RUnlock()
	if !sorted {
		v := col.view.Load()
		if v == nil || v.n != n {
			var tmp storage.Points
			c.Read(id, k, &tmp) // computes and stores the view
			if v = col.view.Load(); v == nil || v.n < n {
				*dst = tmp
				return true
			}
		}
		*dst = storage.Points{Times: v.pts.Times, Values: v.pts.Values}
		return true
	}
	*dst = storage.Points{Times: times, Values: storage.Values{Type: k.Type}}
	switch k.Type.Class() {
	case storage.ClassFloat:
		dst.Values.Floats = vals.Floats[:n:n]
	case storage.ClassInt:
		dst.Values.Ints = vals.Ints[:n:n]
	case storage.ClassBool:
		dst.Values.Bools = vals.Bools[:n:n]
	case storage.ClassBytes:
		dst.Values.Bytes = vals.Bytes[:n:n]
	}
	return true
}

// ColumnTimeRange returns the smallest and largest time of one column (ok false if it does not exist).
func (c *Cache) ColumnTimeRange(id storage.SeriesID, k ColumnKey) (lo, hi int64, ok bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if s := c.series[id]; s != nil {
		if col := s.find(k.Field, k.Type); col != nil && col.vals.Len() > 0 {
			return col.minTime, col.maxTime, true
		}
	}
	return 0, 0, false
}

// ColumnStats returns a column's time range and its number of points (before last-write-wins).
func (c *Cache) ColumnStats(id storage.SeriesID, k ColumnKey) (lo, hi int64, n int, ok bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if s := c.series[id]; s != nil {
		if col := s.find(k.Field, k.Type); col != nil && col.vals.Len() > 0 {
			return col.minTime, col.maxTime, col.vals.Len(), true
		}
	}
	return 0, 0, 0, false
}

// Read fills dst with the points of one column, sorted by time with last-write-wins applied inside
// the cache (one point per timestamp). It reports false if the column does not exist.
func (c *Cache) Read(id storage.SeriesID, k ColumnKey, dst *storage.Points) bool {
	return c.read(id, k, math.MaxUint64, dst, true)
}

// ReadOnce is Read for the last reader of a column (the flush): an unsorted column's sorted copy
// is not kept for later reads. Kept, it would hold the cache's points a second time, with a
// version and a seq each, until the flushed cache is dropped.
func (c *Cache) ReadOnce(id storage.SeriesID, k ColumnKey, dst *storage.Points) bool {
	return c.read(id, k, math.MaxUint64, dst, false)
}

// ReadUpTo is Read of the points written with seq <= maxSeq only: what a snapshot taken at
// maxSeq sees. Last-write-wins applies among those points, so a point overwritten after the
// snapshot keeps its old value instead of vanishing. Writes append in seq order, so they are a
// prefix of the column.
func (c *Cache) ReadUpTo(id storage.SeriesID, k ColumnKey, maxSeq uint64, dst *storage.Points) bool {
	return c.read(id, k, maxSeq, dst, true)
}

func (c *Cache) read(id storage.SeriesID, k ColumnKey, maxSeq uint64, dst *storage.Points, keepView bool) bool {
	c.mu.RLock()
	s := c.series[id]
	var col *column
	if s != nil {
		col = s.find(k.Field, k.Type)
	}
	if col == nil {
		c.mu.RUnlock()
		return false
	}
	// Captured under the lock: the writer only appends, so these prefixes never change.
	n := col.vals.Len()
	times, runs, sorted := s.rowsOf(col, n)
	full := true
	if len(runs) > 0 && runs[len(runs)-1].seq > maxSeq {
		// keep the runs written up to maxSeq (seqs grow along the column)
		i := sort.Search(len(runs), func(i int) bool { return runs[i].seq > maxSeq })
		runs = runs[:i]
		n, full = 0, false
		if i > 0 {
			n = runs[i-1].end
		}
	}
	times = times[:n:n]
	vals := col.vals
	c.mu.RUnlock()

	dst.Reset(k.Type)
	if n == 0 {
		return true
	}
	if !sorted {
		if v := col.view.Load(); full && v != nil && v.n == n {
			dst.AppendAll(&v.pts)
			return true
		}
	}
	dst.Times = append(dst.Times, times...)
	switch k.Type.Class() {
	case storage.ClassFloat:
		dst.Values.Floats = append(dst.Values.Floats, vals.Floats[:n]...)
	case storage.ClassInt:
		dst.Values.Ints = append(dst.Values.Ints, vals.Ints[:n]...)
	case storage.ClassBool:
		dst.Values.Bools = append(dst.Values.Bools, vals.Bools[:n]...)
	case storage.ClassBytes:
		dst.Values.Bytes = append(dst.Values.Bytes, vals.Bytes[:n]...)
	}
	start := 0
	for _, r := range runs {
		for i := start; i < r.end; i++ {
			dst.Versions = append(dst.Versions, r.version)
			dst.Seqs = append(dst.Seqs, r.seq)
		}
		start = r.end
	}
	if !sorted {
		dst.SortDedup()
		if !full || !keepView {
			return true // a snapshot's prefix is not the view later reads want; a last read keeps none
		}
		v := &sortedView{n: n}
		v.pts.Values.Type = k.Type
		v.pts.AppendAll(dst)
		col.view.Store(v)
	}
	return true
}
