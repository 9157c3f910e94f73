package storage

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
	pos := make([]int, len(sources))
	for {
		// smallest current time
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
