package engine

import (
	"math"
	"math/bits"
	"runtime"
	"slices"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/memcache"
	"github.com/chronogo/chronogo/storage/tsm"
)

// AggQuery groups a scan by series and time window. Windows start at Origin + k*Window; Window 0
// means one window per series and column, starting at MinTime.
type AggQuery struct {
	ScanQuery
	Window int64
	Origin int64
	// LastOnly asks only for the last point of each column (Window must be 0): results carry
	// Last, LastTime (and First, FirstTime set to the same point) and Count 1. The newest point of
	// each source is compared instead of folding every point.
	LastOnly bool
	// SumsOnly promises that the caller reads only Count, Sum, SumOverflow, FSum, FirstTime and
	// LastTime of the results (Min, Max, First and Last may then be left unset): blocks with hour
	// sums are folded from them when every window is a whole number of UTC hours.
	SumsOnly bool
	// ValueFields, when not nil (and not LastOnly), lists the fields whose values the caller
	// reads. The columns of other fields only say where the series has documents: for each window
	// where such a column has a point and no column reported before it for the series did, one
	// result with Count 1 and nothing else set (a presence mark). Value columns come first in
	// each series. Presence is taken from the blocks' index metadata when their times are implied,
	// without reading them.
	ValueFields []string
}

// AggResult is the aggregate of one (series, field, type) column in one window. Sum, Min, Max,
// First and Last are in the column's class: int64 fields for ClassInt and ClassBool (Sum = number of
// trues), F-prefixed float64 fields for ClassFloat; ClassBytes columns carry only Count and the
// first and last values in FirstBytes and LastBytes.
type AggResult struct {
	Series                          storage.SeriesID
	Field                           string
	Type                            storage.FieldType
	Start                           int64
	Count                           int64
	Sum, Min, Max, First, Last      int64
	SumOverflow                     bool
	FSum, FMin, FMax, FFirst, FLast float64
	FirstBytes, LastBytes           []byte
	FirstTime, LastTime             int64
}

// AggStats say how an aggregate was computed (for tests and benchmarks).
type AggStats struct {
	BlocksFromAgg, BlocksDecoded int
	BlocksFromSums               int   // folded from their hour sums
	PresenceFromMeta             int   // columns whose presence marks came from block metadata
	Points                       int64 // points aggregated
}

// liveAggWorkers counts the aggregate worker goroutines running (tests check that none outlives its call).
var liveAggWorkers atomic.Int64

// Aggregate calls fn for every non-empty (series, column, window), in series, column, window order
// (with ValueFields: value columns first, then presence marks); r is only valid during the call.
// Blocks that lie wholly inside one window and the query range, with no overlapping data in other
// files or the caches and nothing that could hide their points, are folded from their
// pre-aggregates without decoding.
func (s *Snapshot) Aggregate(q AggQuery, fn func(r *AggResult) error) (AggStats, error) {
	var st AggStats
	ids, err := s.index.Select(q.Table, q.Filter)
	if err != nil {
		return st, err
	}
	workers := min(runtime.GOMAXPROCS(0), maxAggWorkers)
	if len(ids) < 2*minSeriesPerWorker || workers < 2 {
		return st, s.aggregateSeries(q, ids, &st, fn)
	}
	// Series are independent: workers aggregate contiguous chunks of them, taking the next chunk
	// as they finish one, while this goroutine hands the finished chunks to fn in series order:
	// the caller's work on early chunks overlaps the aggregation of later ones.
	nChunks := min(workers*chunksPerWorker, (len(ids)+minSeriesPerWorker-1)/minSeriesPerWorker)
	size := (len(ids) + nChunks - 1) / nChunks
	type part struct {
		res  resultChunks
		st   AggStats
		err  error
		done chan struct{}
	}
	parts := make([]part, 0, nChunks)
	for lo := 0; lo < len(ids); lo += size {
		parts = append(parts, part{done: make(chan struct{})})
	}
	var (
		next atomic.Int64
		wg   sync.WaitGroup
	)
	stop := make(chan struct{})
	// On every return the workers stop after their current chunk and are waited for: they read
	// the snapshot's files, which the caller may release once this returns.
	defer func() {
		close(stop)
		wg.Wait()
	}()
	for range workers {
		wg.Add(1)
		liveAggWorkers.Add(1)
		go func() {
			defer wg.Done()
			defer liveAggWorkers.Add(-1)
			for {
				i := int(next.Add(1) - 1)
				if i >= len(parts) {
					return
				}
				select {
				case <-stop:
					return // the caller returned early: no one waits for the rest
				default:
				}
				p := &parts[i]
				lo, hi := i*size, min((i+1)*size, len(ids))
				p.err = s.aggregateSeries(q, ids[lo:hi], &p.st, func(r *AggResult) error {
					p.res.add(r)
					return nil
				})
				close(p.done)
			}
		}()
	}
	for i := range parts {
		p := &parts[i]
		<-p.done
		if p.err != nil {
			return st, p.err
		}
		st.BlocksFromAgg += p.st.BlocksFromAgg
		st.BlocksDecoded += p.st.BlocksDecoded
		st.BlocksFromSums += p.st.BlocksFromSums
		st.PresenceFromMeta += p.st.PresenceFromMeta
		st.Points += p.st.Points
		err := p.res.each(fn)
		p.res.release()
		if err != nil {
			return st, err
		}
	}
	return st, nil
}

// Parallel aggregation: at most maxAggWorkers goroutines, about chunksPerWorker chunks each, of
// at least minSeriesPerWorker series.
const (
	maxAggWorkers      = 4
	minSeriesPerWorker = 16
	chunksPerWorker    = 8
)

// aggregateSeries aggregates the given series in order.
func (s *Snapshot) aggregateSeries(q AggQuery, ids []storage.SeriesID, st *AggStats, fn func(r *AggResult) error) error {
	a := getSeriesAgg(s, q, st, fn)
	defer a.release()
	project := q.ValueFields != nil && !q.LastOnly
	passes := 1
	if project {
		passes, a.seen = 2, a.seenBuf
		clear(a.seen)
	}
	for _, id := range ids {
		keys, files := a.sc.columns(id)
		hide := s.v.hideFunc(id)
		clear(a.seen)
		for pass := range passes {
			presence := pass == 1
			for _, k := range keys {
				if project && slices.Contains(q.ValueFields, k.Field) == presence {
					continue
				}
				if err := a.column(id, k, files, hide, presence); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// seriesAgg is the state of aggregateSeries, with memory reused from column to column.
type seriesAgg struct {
	s        *Snapshot
	q        AggQuery
	sc       *scanner
	st       *AggStats
	fn       func(r *AggResult) error
	acc      map[int64]int // window start -> index in slab
	slab     []AggResult   // this column's windows
	cleanSet map[*tsm.BlockMeta]struct{}
	starts   []int64
	seen     map[int64]struct{} // with ValueFields: the windows the series reported so far
	seenBuf  map[int64]struct{}
}

// seriesAggs keeps the state of finished aggregations, with their scanners' decode buffers, for
// the next ones: a small query (one series, one hour) otherwise spends as much on allocating and
// collecting its buffers as on decoding. The pool empties at every collection, so a big query's
// buffers do not stay for long.
var seriesAggs = sync.Pool{New: func() any {
	return &seriesAgg{sc: &scanner{}, acc: map[int64]int{}, cleanSet: map[*tsm.BlockMeta]struct{}{}, seenBuf: map[int64]struct{}{}}
}}

func getSeriesAgg(s *Snapshot, q AggQuery, st *AggStats, fn func(r *AggResult) error) *seriesAgg {
	a := seriesAggs.Get().(*seriesAgg)
	a.s, a.q, a.st, a.fn = s, q, st, fn
	a.sc.reset(s, q.ScanQuery)
	a.sc.agg = &a.q
	return a
}

// release returns a to the pool, keeping its buffers but nothing of the snapshot.
func (a *seriesAgg) release() {
	a.sc.release()
	clear(a.acc)
	clear(a.cleanSet)
	clear(a.seenBuf)
	clear(a.slab) // AggResults may hold bytes of blocks
	a.s, a.st, a.fn, a.seen, a.q = nil, nil, nil, nil, AggQuery{}
	seriesAggs.Put(a)
}

// windowOf is the start of the window holding t.
func (a *seriesAgg) windowOf(t int64) int64 {
	if a.q.Window <= 0 {
		return a.q.MinTime
	}
	return a.q.Origin + storage.FloorDiv(t-a.q.Origin, a.q.Window)*a.q.Window
}

// emit reports the window starting at w of column k: r in full, or (presence) a presence mark
// unless the series reported the window already.
func (a *seriesAgg) emit(id storage.SeriesID, k memcache.ColumnKey, w int64, r *AggResult, presence bool) error {
	if a.seen != nil {
		if _, ok := a.seen[w]; ok && presence {
			return nil
		}
		a.seen[w] = struct{}{}
	}
	if presence {
		r = &AggResult{Series: id, Field: k.Field, Type: k.Type, Start: w, Count: 1}
	}
	return a.fn(r)
}

// column aggregates column k of series id by window and reports the windows in order: in full,
// or (presence) as presence marks, taken from the blocks' metadata when it can be.
func (a *seriesAgg) column(id storage.SeriesID, k memcache.ColumnKey, files []seriesFile, hide storage.HideFunc, presence bool) error {
	q, sc, st, windowOf := &a.q, a.sc, a.st, a.windowOf
	if presence {
		marks, ok := sc.presenceFromMeta(id, k, files, hide, windowOf, a.starts[:0])
		a.starts = marks
		if ok {
			st.PresenceFromMeta++
			slices.Sort(marks)
			for i, w := range marks {
				if i > 0 && marks[i-1] == w {
					continue
				}
				if err := a.emit(id, k, w, nil, true); err != nil {
					return err
				}
			}
			return nil
		}
	}
	acc, cleanSet, slab := a.acc, a.cleanSet, a.slab
	defer func() { a.slab = slab }()
	if q.LastOnly && q.Window <= 0 && hide == nil {
		r, ok, err := sc.lastPoint(id, k, files)
		if err != nil {
			return err
		}
		if ok {
			if r != nil {
				st.Points++
				if err := a.fn(r); err != nil {
					return err
				}
			}
			return nil
		}
	}
	clear(acc)
	slab = slab[:0]
	get := func(t int64) *AggResult {
		w := windowOf(t)
		i, ok := acc[w]
		if !ok {
			i = len(slab)
			slab = append(slab, AggResult{Series: id, Field: k.Field, Type: k.Type, Start: w})
			acc[w] = i
		}
		return &slab[i] // valid until the next get (which may grow slab)
	}
	clean, summed := sc.cleanBlocks(id, k, files, hide, windowOf)
	clear(cleanSet)
	for _, m := range clean {
		cleanSet[m] = struct{}{}
		foldAgg(get(m.MinTime), m, k.Type)
		st.BlocksFromAgg++
		st.Points += int64(m.Agg.Count)
	}
	if len(summed) > 0 {
		class := k.Type.Class()
		err := sc.readHourSums(summed, files, k.Type, func(m *tsm.BlockMeta, sums []tsm.HourSum) {
			st.BlocksFromSums++
			for i := range sums {
				h := &sums[i]
				if h.LastTime < q.MinTime || h.FirstTime > q.MaxTime {
					continue // a whole hour outside the range (its edges are hour starts)
				}
				foldHourSum(get(h.FirstTime), h, class)
				st.Points += h.Count
			}
		})
		if err != nil {
			return err
		}
		for _, b := range summed {
			cleanSet[b.m] = struct{}{}
		}
	}
	srcs, err := sc.gather(id, k, files, func(fi int, m *tsm.BlockMeta) bool {
		if _, ok := cleanSet[m]; ok {
			return true
		}
		st.BlocksDecoded++
		return false
	}, hide)
	if err != nil {
		return err
	}
	var pts *storage.Points
	if len(srcs) == 1 && hide == nil {
		pts = srcs[0]
	} else {
		sc.merged.Reset(k.Type)
		storage.MergeLWW(&sc.merged, srcs, hide)
		pts = &sc.merged
	}
	// Points are sorted by time: fold each window's run in one tight loop.
	for lo := 0; lo < pts.Len(); {
		r := get(pts.Times[lo])
		hi := len(pts.Times)
		if q.Window > 0 {
			end := r.Start + q.Window
			hi = lo + sort.Search(len(pts.Times)-lo, func(i int) bool { return pts.Times[lo+i] >= end })
		}
		foldRun(r, pts, lo, hi)
		lo = hi
	}
	st.Points += int64(pts.Len())
	starts := a.starts[:0]
	for w := range acc {
		starts = append(starts, w)
	}
	slices.Sort(starts)
	a.starts = starts
	for _, w := range starts {
		if err := a.emit(id, k, w, &slab[acc[w]], presence); err != nil {
			return err
		}
	}
	return nil
}

// fileBlock is a block of a column in one of the files of a scan.
type fileBlock struct {
	file int
	m    *tsm.BlockMeta
}

// cleanBlocks returns the blocks of column k whose pre-aggregates can be used, and those (with
// SumsOnly) whose hour sums can (both valid until the next call).
func (sc *scanner) cleanBlocks(id storage.SeriesID, k memcache.ColumnKey, files []seriesFile, hide storage.HideFunc, windowOf func(int64) int64) ([]*tsm.BlockMeta, []fileBlock) {
	if k.Type.Class() == storage.ClassBytes {
		return nil, nil
	}
	all := sc.fileBlocks[:0]
	for fi, f := range files {
		e, ok := findEntry(f.entries, k)
		if !ok {
			continue
		}
		for bi := range e.Blocks {
			m := &e.Blocks[bi]
			if m.MaxTime >= sc.q.MinTime && m.MinTime <= sc.q.MaxTime {
				all = append(all, fileBlock{fi, m})
			}
		}
	}
	sc.fileBlocks = all
	slices.SortFunc(all, func(a, b fileBlock) int {
		if a.m.MinTime < b.m.MinTime {
			return -1
		} else if a.m.MinTime > b.m.MinTime {
			return 1
		}
		return 0
	})
	// the time ranges of the column in the caches: a block they touch is not clean (conservative:
	// the range, not the points, which keeps this cheap)
	cached := sc.cacheRanges[:0]
	for _, c := range sc.s.caches {
		if lo, hi, ok := c.ColumnTimeRange(id, k); ok && hi >= sc.q.MinTime && lo <= sc.q.MaxTime {
			cached = append(cached, [2]int64{lo, hi})
		}
	}
	sc.cacheRanges = cached
	out := sc.clean[:0]
	summed := sc.summed[:0]
	sums := sc.sumsOK()
	prevMax := int64(math.MinInt64)
	for i, b := range all {
		m := b.m
		// alone: no other block or cached point in its range, nothing hidden in it
		alone := (hide == nil || !sc.s.v.rangeHidden(id, m.MinTime, m.MaxTime)) &&
			(i == 0 || prevMax < m.MinTime) &&
			(i+1 == len(all) || all[i+1].m.MinTime > m.MaxTime)
		for _, r := range cached {
			if r[0] <= m.MaxTime && r[1] >= m.MinTime {
				alone = false
			}
		}
		inside := m.MinTime >= sc.q.MinTime && m.MaxTime <= sc.q.MaxTime
		switch {
		case alone && inside && windowOf(m.MinTime) == windowOf(m.MaxTime):
			out = append(out, m)
		case alone && sums && m.HasHourSums() &&
			(m.MinTime >= sc.q.MinTime || storage.FloorDiv(sc.q.MinTime, tsm.HourSpan)*tsm.HourSpan == sc.q.MinTime) &&
			(m.MaxTime <= sc.q.MaxTime || storage.FloorDiv(sc.q.MaxTime, tsm.HourSpan)*tsm.HourSpan == sc.q.MaxTime-tsm.HourSpan+1):
			// the range's edges inside the block are hour starts: each hour is in or out whole
			summed = append(summed, b)
		}
		prevMax = max(prevMax, m.MaxTime)
	}
	sc.clean, sc.summed = out, summed
	return out, summed
}

// sumsOK reports whether hour sums can stand for the points of an hour: only counts and sums are
// asked for, and every hour lies in one window.
func (sc *scanner) sumsOK() bool {
	q := sc.agg
	if q == nil || !q.SumsOnly || q.LastOnly {
		return false
	}
	return q.Window <= 0 || (q.Window%tsm.HourSpan == 0 && storage.FloorDiv(q.Origin, tsm.HourSpan)*tsm.HourSpan == q.Origin)
}

// readHourSums reads the hour sums of blocks (file blocks in time order), the adjacent blocks of
// one file with one call, and calls fn for each block.
func (sc *scanner) readHourSums(blocks []fileBlock, files []seriesFile, typ storage.FieldType, fn func(m *tsm.BlockMeta, sums []tsm.HourSum)) error {
	for i := 0; i < len(blocks); {
		j := i + 1
		for j < len(blocks) && blocks[j].file == blocks[i].file {
			j++
		}
		sel := sc.sel[:0]
		for _, b := range blocks[i:j] {
			sel = append(sel, *b.m)
		}
		sc.sel = sel
		err := files[blocks[i].file].h.r.ReadHourSums(sel, typ, func(m *tsm.BlockMeta, sums []tsm.HourSum) error {
			fn(m, sums)
			return nil
		})
		if err != nil {
			return sc.s.noticeDamage(err)
		}
		i = j
	}
	return nil
}

// foldHourSum adds an hour's count and sum to r (SumsOnly: Min, Max, First and Last untouched).
func foldHourSum(r *AggResult, h *tsm.HourSum, c storage.Class) {
	first := r.Count == 0
	if c == storage.ClassFloat {
		r.FSum += h.FSum
	} else {
		s := r.Sum + h.Sum
		if (r.Sum >= 0) == (h.Sum >= 0) && (s >= 0) != (h.Sum >= 0) {
			r.SumOverflow = true
		}
		r.Sum = s
	}
	if first || h.FirstTime < r.FirstTime {
		r.FirstTime = h.FirstTime
	}
	if first || h.LastTime > r.LastTime {
		r.LastTime = h.LastTime
	}
	r.Count += h.Count
}

func foldAgg(r *AggResult, m *tsm.BlockMeta, t storage.FieldType) {
	a := &m.Agg
	first := r.Count == 0
	switch t.Class() {
	case storage.ClassFloat:
		addFloat(r, a.FSum(), a.FMin(), a.FMax(), first)
		if first || m.MinTime < r.FirstTime {
			r.FFirst, r.FirstTime = a.FFirst(), m.MinTime
		}
		if first || m.MaxTime > r.LastTime {
			r.FLast, r.LastTime = a.FLast(), m.MaxTime
		}
	default:
		addInt(r, a.Sum, a.SumOverflow, a.Min, a.Max, first)
		if first || m.MinTime < r.FirstTime {
			r.First, r.FirstTime = a.First, m.MinTime
		}
		if first || m.MaxTime > r.LastTime {
			r.Last, r.LastTime = a.Last, m.MaxTime
		}
	}
	r.Count += int64(a.Count)
}

// foldRun folds points [lo, hi) of p, all in r's window and sorted by time.
func foldRun(r *AggResult, p *storage.Points, lo, hi int) {
	if lo >= hi {
		return
	}
	first := r.Count == 0
	t0, t1 := p.Times[lo], p.Times[hi-1]
	isFirst := first || t0 < r.FirstTime
	isLast := first || t1 > r.LastTime
	switch p.Values.Type.Class() {
	case storage.ClassFloat:
		vs := p.Values.Floats[lo:hi]
		sum, mn, mx := 0.0, vs[0], vs[0]
		for _, f := range vs {
			sum += f
			if f < mn || math.IsNaN(mn) {
				mn = f
			}
			if f > mx || math.IsNaN(mx) {
				mx = f
			}
		}
		addFloat(r, sum, mn, mx, first)
		if isFirst {
			r.FFirst = vs[0]
		}
		if isLast {
			r.FLast = vs[len(vs)-1]
		}
	case storage.ClassInt:
		vs := p.Values.Ints[lo:hi]
		sum, overflow, mn, mx := sumInts(vs)
		addInt(r, sum, overflow, mn, mx, first)
		if isFirst {
			r.First = vs[0]
		}
		if isLast {
			r.Last = vs[len(vs)-1]
		}
	default:
		for i := lo; i < hi; i++ {
			foldPoint(r, p, i)
		}
		return
	}
	if isFirst {
		r.FirstTime = t0
	}
	if isLast {
		r.LastTime = t1
	}
	r.Count += int64(hi - lo)
}

// sumInts returns the sum of vs (and whether it overflowed int64), its minimum and maximum. The
// first pass adds without checks; only when the range of the values allows an overflow
// (len(vs) × max(|min|, |max|) >= 2^63, never for gauges and counters of this world) is the sum
// redone with a check per value.
func sumInts(vs []int64) (sum int64, overflow bool, mn, mx int64) {
	mn, mx = vs[0], vs[0]
	for _, v := range vs {
		sum += v
		mn, mx = min(mn, v), max(mx, v)
	}
	if mn > math.MinInt64 {
		if bound := max(-mn, mx); bound < math.MaxInt64/int64(len(vs)) {
			return sum, false, mn, mx
		}
	}
	sum = 0
	for _, v := range vs {
		s := sum + v
		if (sum >= 0) == (v >= 0) && (s >= 0) != (v >= 0) {
			overflow = true
		}
		sum = s
	}
	return sum, overflow, mn, mx
}

func foldPoint(r *AggResult, p *storage.Points, i int) {
	t := p.Times[i]
	first := r.Count == 0
	isFirst := first || t < r.FirstTime
	isLast := first || t > r.LastTime
	switch p.Values.Type.Class() {
	case storage.ClassFloat:
		f := p.Values.Floats[i]
		addFloat(r, f, f, f, first)
		if isFirst {
			r.FFirst = f
		}
		if isLast {
			r.FLast = f
		}
	case storage.ClassInt, storage.ClassBool:
		var v int64
		if p.Values.Type.Class() == storage.ClassInt {
			v = p.Values.Ints[i]
		} else if p.Values.Bools[i] {
			v = 1
		}
		addInt(r, v, false, v, v, first)
		if isFirst {
			r.First = v
		}
		if isLast {
			r.Last = v
		}
	case storage.ClassBytes:
		if isFirst {
			r.FirstBytes = p.Values.Bytes[i]
		}
		if isLast {
			r.LastBytes = p.Values.Bytes[i]
		}
	}
	if isFirst {
		r.FirstTime = t
	}
	if isLast {
		r.LastTime = t
	}
	r.Count++
}

func addInt(r *AggResult, sum int64, overflow bool, lo, hi int64, first bool) {
	s, carry := bits.Add64(uint64(r.Sum), uint64(sum), 0)
	_ = carry
	ns := int64(s)
	// signed overflow: both operands have the same sign and the result's sign differs
	if (r.Sum >= 0) == (sum >= 0) && (ns >= 0) != (sum >= 0) {
		overflow = true
	}
	r.Sum = ns
	r.SumOverflow = r.SumOverflow || overflow
	if first || lo < r.Min {
		r.Min = lo
	}
	if first || hi > r.Max {
		r.Max = hi
	}
}

func addFloat(r *AggResult, sum, lo, hi float64, first bool) {
	r.FSum += sum
	if first || lo < r.FMin || math.IsNaN(r.FMin) {
		r.FMin = lo
	}
	if first || hi > r.FMax || math.IsNaN(r.FMax) {
		r.FMax = hi
	}
}

// resultChunks holds a worker's results in fixed-size chunks from a free list: appending never
// copies (a chunk of series can hold thousands of results), and consumed chunks are reused (a
// sync.Pool is emptied by every collection, which a big aggregate triggers itself).
type resultChunks struct {
	chunks []*[resultChunk]AggResult
	n      int
}

const (
	resultChunk     = 256
	freeChunksLimit = 64 // kept for reuse: 64 × 256 results, about 3 MiB
)

var freeChunks = make(chan *[resultChunk]AggResult, freeChunksLimit)

func (c *resultChunks) add(r *AggResult) {
	if c.n%resultChunk == 0 {
		var ch *[resultChunk]AggResult
		select {
		case ch = <-freeChunks:
		default:
			ch = new([resultChunk]AggResult)
		}
		c.chunks = append(c.chunks, ch)
	}
	c.chunks[c.n/resultChunk][c.n%resultChunk] = *r
	c.n++
}

func (c *resultChunks) each(fn func(r *AggResult) error) error {
	for i := 0; i < c.n; i++ {
		if err := fn(&c.chunks[i/resultChunk][i%resultChunk]); err != nil {
			return err
		}
	}
	return nil
}

// release returns the chunks to the pool (results keep no references: bytes are cleared).
func (c *resultChunks) release() {
	for i, ch := range c.chunks {
		for j := range min(resultChunk, c.n-i*resultChunk) {
			ch[j].FirstBytes, ch[j].LastBytes = nil, nil
		}
		select {
		case freeChunks <- ch:
		default:
		}
	}
	c.chunks, c.n = nil, 0
}
