package engine

import (
	"math"
	"slices"
	"sort"

	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/index"
	"github.com/chronogo/chronogo/storage/memcache"
	"github.com/chronogo/chronogo/storage/tsm"
)

// ScanQuery selects columns: a table, a tag predicate (nil: every series), an inclusive time range
// and field names (nil: every field).
type ScanQuery struct {
	Table            string
	Filter           index.Expr
	MinTime, MaxTime int64
	Fields           []string
	// SliceRows, if positive, bounds the memory of a scan: a series estimated to hold more rows
	// than this in the range is delivered in consecutive time slices of about this many rows
	// (ScanColumn.Part numbers them), each slice all columns. Zero: one part per series.
	SliceRows int
	// Stats, when set, counts what the scan reads (explain).
	Stats *ScanStats
	// Keys, when set, are the series to read (encoded series keys of Table; unknown ones are
	// skipped) instead of those Filter selects.
	Keys [][]byte
	// Versions asks for every point's version and seq (anti-entropy repair copies them).
	Versions bool
	// AfterSeries skips the series up to this id (paged reads continue after the last one).
	AfterSeries storage.SeriesID
}

// ScanStats counts what reads did, for explain: the coordinator counts buckets and vnodes, the
// engine series, blocks and memcache columns. Counters only add; a retried replica adds again.
type ScanStats struct {
	Buckets       int64 // buckets of the time range
	Vnodes        int64 // vnodes read (one per replica set)
	Series        int64 // series the filter matched
	BlocksRead    int64 // TSM blocks decoded
	BlocksSkipped int64 // blocks of the matched columns left unread: outside the time range
	CacheColumns  int64 // memcache columns read
}

// Add adds o's counters to s.
func (s *ScanStats) Add(o ScanStats) {
	s.Buckets += o.Buckets
	s.Vnodes += o.Vnodes
	s.Series += o.Series
	s.BlocksRead += o.BlocksRead
	s.BlocksSkipped += o.BlocksSkipped
	s.CacheColumns += o.CacheColumns
}

// ScanColumn is one (series, field, type) column of a scan result, sorted by time, one point per
// time, after last-write-wins, deletes and expiry. Points are only valid during the callback; their
// Versions and Seqs may be empty (they are only decoded when last-write-wins needs them).
type ScanColumn struct {
	Series storage.SeriesID
	Field  string
	Points *storage.Points
	Part   int // the time slice of the series (see ScanQuery.SliceRows); slices come in time order
}

// Tables lists the tables (collections) this snapshot's vnode holds series of.
func (s *Snapshot) Tables() []string { return s.index.Tables() }

// TableSeries returns how many series each table of the vnode has (the index as it is now).
func (s *Snapshot) TableSeries() map[string]int { return s.index.TableSeries() }

// SeriesKey resolves a series id of this snapshot's vnode.
func (s *Snapshot) SeriesKey(id storage.SeriesID) (storage.SeriesKey, bool) { return s.index.Key(id) }

// scanner holds buffers reused across columns.
type scanner struct {
	s         *Snapshot
	q         ScanQuery
	blk       tsm.Block
	sel       []tsm.BlockMeta // gather: the blocks of one file to read
	pool      []storage.Points
	srcs      []*storage.Points
	merged    storage.Points
	ranges    [][2]int64
	entries   []tsm.Entry
	shared    []storage.Points  // cache columns read in place (read-only, never appended to)
	cacheSrcs []*storage.Points // this column's cache sources
	// buffers of the aggregate path
	agg         *AggQuery // nil for a plain scan
	fileBlocks  []fileBlock
	cacheRanges [][2]int64
	clean       []*tsm.BlockMeta
	summed      []fileBlock
	entryBuf    []tsm.Entry
	metaBuf     []tsm.BlockMeta
}

func (s *Snapshot) newScanner(q ScanQuery) *scanner { return &scanner{s: s, q: q} }

// reset points a released (or new) scanner at s and q, keeping its buffers.
func (sc *scanner) reset(s *Snapshot, q ScanQuery) { sc.s, sc.q, sc.agg = s, q, nil }

// release drops everything sc refers to outside its own buffers (cache columns read in place,
// file index entries, the snapshot), so that a pooled scanner keeps no cache or file alive.
func (sc *scanner) release() {
	clear(sc.shared)
	clear(sc.srcs[:cap(sc.srcs)])
	clear(sc.cacheSrcs[:cap(sc.cacheSrcs)])
	clear(sc.entries[:cap(sc.entries)])
	clear(sc.fileBlocks[:cap(sc.fileBlocks)])
	clear(sc.clean[:cap(sc.clean)])
	clear(sc.summed[:cap(sc.summed)])
	clear(sc.entryBuf[:cap(sc.entryBuf)])
	sc.s, sc.agg, sc.q = nil, nil, ScanQuery{}
}

// Scan calls fn for every non-empty column matching q, in (series, field, type) order.
func (s *Snapshot) Scan(q ScanQuery, fn func(c *ScanColumn) error) error {
	ids, err := s.selectSeries(q)
	if err != nil {
		return err
	}
	sc := s.newScanner(q)
	if q.Stats != nil {
		q.Stats.Series += int64(len(ids))
	}
	col := &ScanColumn{}
	for _, id := range ids {
		parts := sc.slices(id)
		for part, r := range parts {
			sc.q.MinTime, sc.q.MaxTime = r[0], r[1]
			keys, files := sc.columns(id)
			for _, k := range keys {
				pts, err := sc.read(id, k, files)
				if err != nil {
					return err
				}
				if pts.Len() == 0 {
					continue
				}
				col.Series, col.Field, col.Points, col.Part = id, k.Field, pts, part
				if err := fn(col); err != nil {
					return err
				}
			}
		}
		sc.q.MinTime, sc.q.MaxTime = q.MinTime, q.MaxTime
	}
	return nil
}

// selectSeries is the series a scan reads, in id order: those of Keys, or those Filter selects.
func (s *Snapshot) selectSeries(q ScanQuery) ([]storage.SeriesID, error) {
	if q.Keys == nil {
		ids, err := s.index.Select(q.Table, q.Filter)
		if err != nil || q.AfterSeries == 0 {
			return ids, err
		}
		i, _ := slices.BinarySearch(ids, q.AfterSeries+1)
		return ids[i:], nil
	}
	ids := make([]storage.SeriesID, 0, len(q.Keys))
	for _, k := range q.Keys {
		if id, ok := s.index.Lookup(k); ok {
			if key, ok := s.index.Key(id); ok && key.Table == q.Table {
				ids = append(ids, id)
			}
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

// slices splits the query range for series id into time slices of about SliceRows rows, from the
// point counts of its blocks and cache columns (spread evenly over their time ranges): one slice
// without SliceRows or when the series is small.
func (sc *scanner) slices(id storage.SeriesID) [][2]int64 {
	whole := [][2]int64{{sc.q.MinTime, sc.q.MaxTime}}
	if sc.q.SliceRows <= 0 {
		return whole
	}
	keys, files := sc.columns(id)
	if len(keys) == 0 {
		return whole
	}
	var points float64
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	add := func(blo, bhi int64, n int) {
		clo, chi := max(blo, sc.q.MinTime), min(bhi, sc.q.MaxTime)
		if clo > chi || n == 0 {
			return
		}
		share := 1.0
		if bhi > blo {
			share = (float64(chi) - float64(clo) + 1) / (float64(bhi) - float64(blo) + 1)
		}
		points += share * float64(n)
		lo, hi = min(lo, clo), max(hi, chi)
	}
	for _, f := range files {
		for _, e := range f.entries {
			for bi := range e.Blocks {
				m := &e.Blocks[bi]
				add(m.MinTime, m.MaxTime, int(m.Agg.Count))
			}
		}
	}
	for _, c := range sc.s.caches {
		for _, k := range keys {
			if clo, chi, n, ok := c.ColumnStats(id, k); ok {
				add(clo, chi, n)
			}
		}
	}
	rows := points / float64(len(keys)) // the columns of a series are mostly dense
	n := int(rows/float64(sc.q.SliceRows)) + 1
	if n <= 1 || hi <= lo {
		return whole
	}
	width := (float64(hi) - float64(lo) + 1) / float64(n)
	out := make([][2]int64, 0, n)
	start := sc.q.MinTime
	for i := 1; i < n; i++ {
		end := lo + int64(width*float64(i)) - 1
		if end < start || end >= sc.q.MaxTime {
			continue
		}
		out = append(out, [2]int64{start, end})
		start = end + 1
	}
	return append(out, [2]int64{start, sc.q.MaxTime})
}

// seriesFile is a file that may hold a series, with that series' index entries.
type seriesFile struct {
	h       *fileHandle
	entries []tsm.Entry
}

// columns lists the column keys of series id in the query's range and the files holding them.
func (sc *scanner) columns(id storage.SeriesID) ([]memcache.ColumnKey, []seriesFile) {
	// Every source lists its columns sorted. Usually they all list the same ones: keep the first
	// list and only merge (append, sort, compact) when another source differs.
	var keys []memcache.ColumnKey
	var files []seriesFile
	n, same := 0, true // n: length of the first source's list
	add := func(start int) {
		if start == 0 {
			n = len(keys)
			return
		}
		if same && !slices.Equal(keys[:n], keys[start:]) {
			same = false
		}
		if same {
			keys = keys[:n]
		}
	}
	// the files' entries are decoded into buffers reused from series to series (valid until the
	// next call)
	ebuf, mbuf := sc.entryBuf[:0], sc.metaBuf[:0]
	defer func() { sc.entryBuf, sc.metaBuf = ebuf, mbuf }()
	for _, h := range sc.s.v.files {
		if h.meta.MaxTime < sc.q.MinTime || h.meta.MinTime > sc.q.MaxTime || !h.r.MayContain(id) {
			continue
		}
		e0 := len(ebuf)
		ebuf, mbuf = h.r.AppendSeriesEntries(ebuf, mbuf, id)
		es := ebuf[e0:len(ebuf):len(ebuf)]
		if len(es) == 0 {
			continue
		}
		files = append(files, seriesFile{h: h, entries: es})
		start := len(keys)
		for _, e := range es {
			keys = append(keys, memcache.ColumnKey{Field: e.Key.Field, Type: e.Key.Type})
		}
		add(start)
	}
	for _, c := range sc.s.caches {
		start := len(keys)
		keys = c.AppendColumns(keys, id)
		if len(keys) > start {
			add(start)
		}
	}
	if sc.q.Fields != nil {
		keys = slices.DeleteFunc(keys, func(k memcache.ColumnKey) bool { return !slices.Contains(sc.q.Fields, k.Field) })
	}
	if same {
		return keys, files
	}
	slices.SortFunc(keys, memcache.CompareColumnKeys)
	return slices.Compact(keys), files
}

func (sc *scanner) source(i int, t storage.FieldType) *storage.Points {
	for len(sc.pool) <= i {
		sc.pool = append(sc.pool, storage.Points{})
	}
	p := &sc.pool[i]
	p.Reset(t)
	return p
}

// gather collects the column's points per source (files, then the caches), trimmed to the query
// range. skip, if set, takes blocks out of the decode (aggregates use it). Versions and seqs are
// only decoded from files when last-write-wins has something to decide (sources overlap in time or
// something may hide points); otherwise the returned points carry none.
func (sc *scanner) gather(id storage.SeriesID, k memcache.ColumnKey, files []seriesFile, skip func(fileIdx int, m *tsm.BlockMeta) bool, hide storage.HideFunc) ([]*storage.Points, error) {
	sc.srcs = sc.srcs[:0]
	sc.cacheSrcs = sc.cacheSrcs[:0]
	sc.ranges = sc.ranges[:0]
	n := 0
	// caches first into the pool's tail slots: their ranges decide whether versions are needed
	nfiles := len(files)
	cacheRanges := sc.cacheRanges[:0]
	for _, c := range sc.s.caches {
		if lo, hi, ok := c.ColumnTimeRange(id, k); ok && hi >= sc.q.MinTime && lo <= sc.q.MaxTime {
			cacheRanges = append(cacheRanges, [2]int64{max(lo, sc.q.MinTime), min(hi, sc.q.MaxTime)})
		}
	}
	sc.cacheRanges = cacheRanges
	entries := sc.entries[:0]
	for fi, f := range files {
		e, ok := findEntry(f.entries, k)
		if !ok {
			entries = append(entries, tsm.Entry{})
			continue
		}
		entries = append(entries, e)
		lo, hi, any := int64(0), int64(0), false
		for bi := range e.Blocks {
			m := &e.Blocks[bi]
			if m.MaxTime < sc.q.MinTime || m.MinTime > sc.q.MaxTime || (skip != nil && skip(fi, m)) {
				continue
			}
			if !any {
				lo = m.MinTime
			}
			hi, any = m.MaxTime, true
		}
		if any {
			sc.ranges = append(sc.ranges, [2]int64{lo, hi})
		}
	}
	sc.entries = entries
	sc.ranges = append(sc.ranges, cacheRanges...)
	needVersions := sc.q.Versions || hide != nil || rangesOverlap(sc.ranges)
	for _, c := range sc.s.caches {
		_, hiSeq, _ := c.SeqRange()
		var p *storage.Points
		if !needVersions && hiSeq <= sc.s.seq {
			// Nothing to decide and nothing newer than the snapshot: read the cache in place. The
			// points alias the cache, so they live in their own slots that nothing appends to.
			for len(sc.shared) <= n {
				sc.shared = append(sc.shared, storage.Points{})
			}
			p = &sc.shared[n]
			if !c.ReadShared(id, k, false, p) {
				continue
			}
			trimTimes(p, sc.q.MinTime, sc.q.MaxTime)
		} else {
			p = sc.source(nfiles+n, k.Type)
			// only what the snapshot saw: a point overwritten since must keep its old value
			if !c.ReadUpTo(id, k, sc.s.seq, p) {
				continue
			}
			trimInPlace(p, sc.q.MinTime, sc.q.MaxTime, sc.s.seq)
		}
		if p.Len() > 0 {
			sc.cacheSrcs = append(sc.cacheSrcs, p)
			n++
		}
	}
	nf := 0
	for fi, f := range files {
		e := entries[fi]
		if len(e.Blocks) == 0 {
			continue
		}
		p := sc.source(nf, k.Type)
		sel := sc.sel[:0]
		for bi := range e.Blocks {
			m := &e.Blocks[bi]
			if m.MaxTime < sc.q.MinTime || m.MinTime > sc.q.MaxTime || (skip != nil && skip(fi, m)) {
				continue
			}
			sel = append(sel, *m)
		}
		sc.sel = sel
		if st := sc.q.Stats; st != nil {
			st.BlocksRead += int64(len(sel))
			st.BlocksSkipped += int64(len(e.Blocks) - len(sel))
		}
		// adjacent blocks are read together (one read per megabyte, not per block)
		err := f.h.r.ReadBlocks(sel, k.Type, needVersions, &sc.blk, func(_ *tsm.BlockMeta, b *tsm.Block) error {
			appendTrimmed(p, b, sc.q.MinTime, sc.q.MaxTime)
			return nil
		})
		if err != nil {
			return nil, sc.s.noticeDamage(err)
		}
		if p.Len() > 0 {
			sc.srcs = append(sc.srcs, p)
			nf++
		}
	}
	sc.srcs = append(sc.srcs, sc.cacheSrcs...)
	if st := sc.q.Stats; st != nil {
		st.CacheColumns += int64(len(sc.cacheSrcs))
	}
	return sc.srcs, nil
}

// rangesOverlap reports whether any two [lo, hi] ranges intersect.
func rangesOverlap(rs [][2]int64) bool {
	for i := range rs {
		for j := i + 1; j < len(rs); j++ {
			if rs[i][0] <= rs[j][1] && rs[j][0] <= rs[i][1] {
				return true
			}
		}
	}
	return false
}

// read returns the merged column.
func (sc *scanner) read(id storage.SeriesID, k memcache.ColumnKey, files []seriesFile) (*storage.Points, error) {
	hide := sc.s.v.hideFunc(id)
	srcs, err := sc.gather(id, k, files, nil, hide)
	if err != nil {
		return nil, err
	}
	if len(srcs) == 1 && hide == nil {
		return srcs[0], nil
	}
	sc.merged.Reset(k.Type)
	storage.MergeLWW(&sc.merged, srcs, hide)
	return &sc.merged, nil
}

func findEntry(es []tsm.Entry, k memcache.ColumnKey) (tsm.Entry, bool) {
	i := sort.Search(len(es), func(i int) bool {
		return memcache.CompareColumnKeys(memcache.ColumnKey{Field: es[i].Key.Field, Type: es[i].Key.Type}, k) >= 0
	})
	if i < len(es) && es[i].Key.Field == k.Field && es[i].Key.Type == k.Type {
		return es[i], true
	}
	return tsm.Entry{}, false
}

// appendTrimmed appends the block's points with time in [lo, hi] (versions and seqs if decoded).
func appendTrimmed(p *storage.Points, b *tsm.Block, lo, hi int64) {
	i := sort.Search(len(b.Times), func(i int) bool { return b.Times[i] >= lo })
	j := sort.Search(len(b.Times), func(i int) bool { return b.Times[i] > hi })
	if i >= j {
		return
	}
	p.Times = append(p.Times, b.Times[i:j]...)
	if len(b.Versions) > 0 {
		p.Versions = append(p.Versions, b.Versions[i:j]...)
		p.Seqs = append(p.Seqs, b.Seqs[i:j]...)
	}
	switch p.Values.Type.Class() {
	case storage.ClassFloat:
		p.Values.Floats = append(p.Values.Floats, b.Values.Floats[i:j]...)
	case storage.ClassInt:
		p.Values.Ints = append(p.Values.Ints, b.Values.Ints[i:j]...)
	case storage.ClassBool:
		p.Values.Bools = append(p.Values.Bools, b.Values.Bools[i:j]...)
	case storage.ClassBytes:
		p.Values.Bytes = append(p.Values.Bytes, b.Values.Bytes[i:j]...)
	}
}

// trimTimes narrows sorted points (without versions) to [lo, hi] by re-slicing, never copying.
func trimTimes(p *storage.Points, lo, hi int64) {
	i := sort.Search(len(p.Times), func(i int) bool { return p.Times[i] >= lo })
	j := sort.Search(len(p.Times), func(i int) bool { return p.Times[i] > hi })
	if i == 0 && j == len(p.Times) {
		return
	}
	p.Times = p.Times[i:j]
	switch p.Values.Type.Class() {
	case storage.ClassFloat:
		p.Values.Floats = p.Values.Floats[i:j]
	case storage.ClassInt:
		p.Values.Ints = p.Values.Ints[i:j]
	case storage.ClassBool:
		p.Values.Bools = p.Values.Bools[i:j]
	case storage.ClassBytes:
		p.Values.Bytes = p.Values.Bytes[i:j]
	}
}

// trimInPlace keeps the points with time in [lo, hi] and seq <= maxSeq.
func trimInPlace(p *storage.Points, lo, hi int64, maxSeq uint64) {
	keep := true
	for i, t := range p.Times {
		if t < lo || t > hi || p.Seqs[i] > maxSeq {
			keep = false
			break
		}
	}
	if keep {
		return
	}
	src := *p
	var out storage.Points
	out.Values.Type = src.Values.Type
	for i, t := range src.Times {
		if t >= lo && t <= hi && src.Seqs[i] <= maxSeq {
			out.Append(&src, i)
		}
	}
	*p = out
}
