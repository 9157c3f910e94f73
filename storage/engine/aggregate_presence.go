package engine

import (
	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/memcache"
)

// presenceFromMeta appends to marks the start of every window of the query range where column k
// of series id has a point, computed from the blocks' index metadata alone (each window once per
// block, in no particular order). It reports false, and marks nothing certain, when metadata
// cannot tell: something of the series is hidden, the caches hold points of the column in the
// range, or a block in the range stores its times instead of implying them.
func (sc *scanner) presenceFromMeta(id storage.SeriesID, k memcache.ColumnKey, files []seriesFile, hide storage.HideFunc, windowOf func(int64) int64, marks []int64) ([]int64, bool) {
	if hide != nil {
		return marks, false
	}
	for _, c := range sc.s.caches {
		if lo, hi, ok := c.ColumnTimeRange(id, k); ok && hi >= sc.q.MinTime && lo <= sc.q.MaxTime {
			return marks, false
		}
	}
	for _, f := range files {
		e, ok := findEntry(f.entries, k)
		if !ok {
			continue
		}
		for bi := range e.Blocks {
			m := &e.Blocks[bi]
			if m.MaxTime < sc.q.MinTime || m.MinTime > sc.q.MaxTime {
				continue
			}
			if !m.TimesImplied() {
				return marks, false
			}
			var ok bool
			if marks, ok = impliedWindows(marks, m.MinTime, m.MaxTime, m.Agg.Count, sc.q.MinTime, sc.q.MaxTime, sc.agg.Window, windowOf); !ok {
				return marks, false
			}
		}
	}
	return marks, true
}

// impliedWindows appends the start of every window holding one of the n evenly spaced times from
// minT to maxT that lie in [lo, hi]. It costs the smaller of the number of points and the number
// of windows the block spans; it reports false for times that are not evenly spaced.
func impliedWindows(marks []int64, minT, maxT int64, n uint32, lo, hi, window int64, windowOf func(int64) int64) ([]int64, bool) {
	if n == 0 {
		return marks, true
	}
	span := uint64(maxT) - uint64(minT)
	var step uint64
	if n > 1 {
		step = span / uint64(n-1)
		if step == 0 || step*uint64(n-1) != span {
			return marks, false
		}
	} else if minT != maxT {
		return marks, false
	}
	at := func(i uint64) int64 { return int64(uint64(minT) + i*step) }
	// first returns the index of the first time ≥ t (n when there is none)
	first := func(t int64) uint64 {
		if t <= minT {
			return 0
		}
		if step == 0 {
			return uint64(n)
		}
		i := (uint64(t) - uint64(minT) + step - 1) / step
		return min(i, uint64(n))
	}
	from, to := max(lo, minT), min(hi, maxT)
	if from > to {
		return marks, true
	}
	i := first(from)
	if window <= 0 {
		if i < uint64(n) && at(i) <= to {
			marks = append(marks, windowOf(from))
		}
		return marks, true
	}
	spanWindows := uint64(to-windowOf(from))/uint64(window) + 1
	if spanWindows > uint64(n)-i {
		// fewer points than windows: walk the points
		last, any := int64(0), false
		for ; i < uint64(n) && at(i) <= to; i++ {
			if w := windowOf(at(i)); !any || w != last {
				marks = append(marks, w)
				last, any = w, true
			}
		}
		return marks, true
	}
	// fewer windows than points: one test per window
	for w := windowOf(from); w <= to; w += window {
		j := first(max(w, from))
		if j < uint64(n) && at(j) <= min(to, w+window-1) {
			marks = append(marks, w)
		}
		if w > to-window {
			break // the next window would overflow past to
		}
	}
	return marks, true
}
