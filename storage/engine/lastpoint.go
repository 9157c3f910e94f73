package engine

import (
	"sort"

	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/memcache"
)

// lastPoint finds the newest point of column k of series id in the query range by comparing the
// newest point of each source: a file's last block gives it from its pre-aggregates, a cache from
// its last element. It returns ok false when the shortcut does not apply (the range cuts a block,
// two sources hold the newest time, or a cache holds writes newer than the snapshot); the caller
// then aggregates normally. r is nil when the column has no point in the range.
func (sc *scanner) lastPoint(id storage.SeriesID, k memcache.ColumnKey, files []seriesFile) (r *AggResult, ok bool, err error) {
	q := &sc.q
	var (
		best     = int64(-1 << 63)
		found    bool
		tie      bool
		fromFile = -1 // index into files, or -1 for a cache
		blockIdx int
		cachePts *storage.Points
		cacheIdx int
	)
	consider := func(t int64) bool {
		switch {
		case !found || t > best:
			best, found, tie = t, true, false
			return true
		case t == best:
			tie = true
		}
		return false
	}
	for ci, c := range sc.s.caches {
		if _, hiSeq, _ := c.SeqRange(); hiSeq > sc.s.seq {
			return nil, false, nil // writes newer than the snapshot: filter them the slow way
		}
		for len(sc.shared) <= ci {
			sc.shared = append(sc.shared, storage.Points{})
		}
		p := &sc.shared[ci]
		if !c.ReadShared(id, k, false, p) {
			continue
		}
		i := len(p.Times) - 1
		if i >= 0 && p.Times[i] > q.MaxTime {
			i = sort.Search(len(p.Times), func(i int) bool { return p.Times[i] > q.MaxTime }) - 1
		}
		if i < 0 || p.Times[i] < q.MinTime {
			continue
		}
		if consider(p.Times[i]) {
			fromFile, cachePts, cacheIdx = -1, p, i
		}
	}
	// Files after the caches: a file whose newest point is older than the best point found so far
	// cannot hold the last point, and skipping it saves reading its block index (a cache miss per
	// column, the dominant cost of a last-point query over many series).
	for fi, f := range files {
		if found && f.h.meta.MaxTime < best {
			continue
		}
		e, has := findEntry(f.entries, k)
		if !has {
			continue
		}
		// the newest block that starts inside the range (the last one for an open-ended query:
		// no search, whose probes would each miss the CPU cache)
		bi := len(e.Blocks) - 1
		if bi >= 0 && e.Blocks[bi].MinTime > q.MaxTime {
			bi = sort.Search(len(e.Blocks), func(i int) bool { return e.Blocks[i].MinTime > q.MaxTime }) - 1
		}
		if bi < 0 || e.Blocks[bi].MaxTime < q.MinTime {
			continue
		}
		m := &e.Blocks[bi]
		if m.MaxTime > q.MaxTime || m.MinTime < q.MinTime {
			return nil, false, nil // the range cuts the block
		}
		if consider(m.MaxTime) {
			fromFile, blockIdx = fi, bi
		}
	}
	if !found {
		return nil, true, nil
	}
	if tie {
		return nil, false, nil // last-write-wins between sources: the slow way decides
	}
	r = &AggResult{Series: id, Field: k.Field, Type: k.Type, Start: q.MinTime, Count: 1, FirstTime: best, LastTime: best}
	if fromFile < 0 {
		setLast(r, cachePts, cacheIdx)
		return r, true, nil
	}
	m := files[fromFile].entries
	e, _ := findEntry(m, k)
	meta := e.Blocks[blockIdx]
	if k.Type.Class() == storage.ClassBytes {
		// bytes blocks have no value pre-aggregates: decode the block's values
		if err := files[fromFile].h.r.ReadBlockValues(meta, k.Type, &sc.blk); err != nil {
			return nil, false, sc.s.noticeDamage(err)
		}
		b := storage.Points{Times: sc.blk.Times, Values: sc.blk.Values}
		setLast(r, &b, len(b.Times)-1)
		return r, true, nil
	}
	a := &meta.Agg
	if k.Type.Class() == storage.ClassFloat {
		f := a.FLast()
		r.FFirst, r.FLast, r.FMin, r.FMax, r.FSum = f, f, f, f, f
	} else {
		r.First, r.Last, r.Min, r.Max, r.Sum = a.Last, a.Last, a.Last, a.Last, a.Last
	}
	return r, true, nil
}

// setLast fills r's value fields from point i of p.
func setLast(r *AggResult, p *storage.Points, i int) {
	switch p.Values.Type.Class() {
	case storage.ClassFloat:
		f := p.Values.Floats[i]
		r.FFirst, r.FLast, r.FMin, r.FMax, r.FSum = f, f, f, f, f
	case storage.ClassInt:
		v := p.Values.Ints[i]
		r.First, r.Last, r.Min, r.Max, r.Sum = v, v, v, v, v
	case storage.ClassBool:
		var v int64
		if p.Values.Bools[i] {
			v = 1
		}
		r.First, r.Last, r.Min, r.Max, r.Sum = v, v, v, v, v
	case storage.ClassBytes:
		r.FirstBytes, r.LastBytes = p.Values.Bytes[i], p.Values.Bytes[i]
	}
}
