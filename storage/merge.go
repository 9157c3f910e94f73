package storage

import "sort"

// HideFunc reports whether a point (time, version, seq) is hidden by a delete or by expiry.
type HideFunc func(t int64, version, seq uint64) bool

// MergeLWW appends to dst the merge of sources, each sorted by time with one point per time:
// for each timestamp the point with the highest (version, seq) wins (between equal pairs, the later
// source wins), and a winner that hide reports as hidden is dropped (hiding is monotone in
// (version, seq): whatever hides the winner hides every older point too). hide may be nil.
func MergeLWW(dst *Points, sources []*Points, hide HideFunc) {
	switch len(sources) {
	case 0:
		return
	case 1:
		s := sources[0]
		for i := range s.Times {
			if hide == nil || !hide(s.Times[i], s.Versions[i], s.Seqs[i]) {
				dst.Append(s, i)
			}
		}
		return
	}
	if disjoint(sources) && hide == nil {
		// Sources hold separate time ranges (files of successive flushes): concatenate in time order.
		order := make([]*Points, len(sources))
		copy(order, sources)
		sortByFirstTime(order)
		for _, s := range order {
			dst.AppendAll(s)
		}
		return
	}
	pos := make([]int, len(sources))
	for {
		// the smallest current time, and the smallest current time of the other sources
		best := -1
		var t int64
		for k, s := range sources {
			if pos[k] < len(s.Times) && (best < 0 || s.Times[pos[k]] < t) {
				best, t = k, s.Times[pos[k]]
			}
		}
		if best < 0 {
			return
		}
		next, hasNext := int64(0), false
		for k, s := range sources {
			if k != best && pos[k] < len(s.Times) && (!hasNext || s.Times[pos[k]] < next) {
				next, hasNext = s.Times[pos[k]], true
			}
		}
		if !hasNext || next > t {
			// a run of best's points before any other source's next point: no decision to make
			b := sources[best]
			i := pos[best]
			j := len(b.Times)
			if hasNext {
				j = i + sort.Search(j-i, func(n int) bool { return b.Times[i+n] >= next })
			}
			if hide == nil {
				dst.AppendRange(b, i, j)
			} else {
				for x := i; x < j; x++ {
					if !hide(b.Times[x], b.Versions[x], b.Seqs[x]) {
						dst.Append(b, x)
					}
				}
			}
			pos[best] = j
			continue
		}
		win, wi := best, pos[best]
		for k := best; k < len(sources); k++ {
			s := sources[k]
			if pos[k] < len(s.Times) && s.Times[pos[k]] == t {
				i := pos[k]
				if k != best && !Newer(sources[win].Versions[wi], sources[win].Seqs[wi], s.Versions[i], s.Seqs[i]) {
					win, wi = k, i
				}
				pos[k]++
			}
		}
		w := sources[win]
		if hide == nil || !hide(t, w.Versions[wi], w.Seqs[wi]) {
			dst.Append(w, wi)
		}
	}
}

// disjoint reports whether the sources' time ranges do not overlap.
func disjoint(sources []*Points) bool {
	for i, a := range sources {
		if len(a.Times) == 0 {
			continue
		}
		for _, b := range sources[i+1:] {
			if len(b.Times) > 0 && a.Times[0] <= b.Times[len(b.Times)-1] && b.Times[0] <= a.Times[len(a.Times)-1] {
				return false
			}
		}
	}
	return true
}

func sortByFirstTime(ps []*Points) {
	for i := 1; i < len(ps); i++ {
		for j := i; j > 0 && firstTime(ps[j]) < firstTime(ps[j-1]); j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
}

func firstTime(p *Points) int64 {
	if len(p.Times) == 0 {
		return 0
	}
	return p.Times[0]
}
