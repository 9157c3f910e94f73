package plain

import (
	"bytes"
	"fmt"
	"sort"

	"github.com/cockroachdb/pebble"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// Pred is what a query requires of the values at Path (a dotted path): one of Eq (an equality or
// $in), or a range from Lo to Hi, both inclusive (Type 0: open). The store uses a pred to choose
// an index and the bounds of its scan; the caller still filters every document it gets, so a pred
// only needs to hold for every document the query matches.
type Pred struct {
	Path   string
	Eq     []bson.RawValue
	Lo, Hi bson.RawValue
}

// maxScanRanges bounds the ranges of one index scan (the product of $in lists).
const maxScanRanges = 4096

// scanRange is a range of index entry keys (below the index prefix), lo inclusive, hi exclusive.
type scanRange struct{ lo, hi []byte }

// planIndex picks the index whose leading fields the preds pin down best (equalities on a prefix,
// then a range on the next ascending field) and returns its ranges; nil when no index helps.
func planIndex(ixs []compiledIndex, preds []Pred) (*compiledIndex, []scanRange) {
	byPath := map[string]*Pred{}
	for i := range preds {
		byPath[preds[i].Path] = &preds[i]
	}
	var best *compiledIndex
	bestScore, bestEq := 0, 0
	for i := range ixs {
		ix := &ixs[i]
		eq, combos := 0, 1
		for _, f := range ix.fields {
			p := byPath[f.name]
			if p == nil || len(p.Eq) == 0 || combos*len(p.Eq) > maxScanRanges {
				break
			}
			combos *= len(p.Eq)
			eq++
		}
		score := 2 * eq
		if eq < len(ix.fields) {
			f := ix.fields[eq]
			if p := byPath[f.name]; p != nil && len(p.Eq) == 0 && !f.desc && (p.Lo.Type != 0 || p.Hi.Type != 0) {
				score++
			}
		}
		if score > bestScore {
			best, bestScore, bestEq = ix, score, eq
		}
	}
	if best == nil {
		return nil, nil
	}
	prefixes := [][]byte{nil}
	for _, f := range best.fields[:bestEq] {
		var next [][]byte
		for _, pre := range prefixes {
			for _, v := range byPath[f.name].Eq {
				k := append([]byte(nil), pre...)
				start := len(k)
				k = AppendIndexValue(k, v)
				if f.desc {
					invert(k[start:])
				}
				next = append(next, k)
			}
		}
		prefixes = next
	}
	var rs []scanRange
	for _, pre := range prefixes {
		if bestScore%2 == 0 {
			rs = append(rs, scanRange{lo: pre, hi: prefixEnd(pre)})
			continue
		}
		p := byPath[best.fields[bestEq].name]
		lo := append(append([]byte(nil), pre...), classLow(p.Lo, p.Hi)...)
		if p.Lo.Type != 0 {
			lo = AppendIndexValue(append([]byte(nil), pre...), p.Lo)
		}
		hi := append(append([]byte(nil), pre...), classHigh(p.Hi, p.Lo)...)
		if p.Hi.Type != 0 {
			hi = prefixEnd(AppendIndexValue(append([]byte(nil), pre...), p.Hi))
		}
		if bytes.Compare(lo, hi) < 0 {
			rs = append(rs, scanRange{lo: lo, hi: hi})
		}
	}
	return best, mergeRanges(rs)
}

// classLow is the first key of the type class of a range's bound (numbers include NaN).
func classLow(v, other bson.RawValue) []byte {
	if v.Type == 0 {
		v = other
	}
	c := valueClass(v)
	if c == classNumber {
		c = classNaN
	}
	return []byte{c}
}

// classHigh is the key after the type class of a range's bound.
func classHigh(v, other bson.RawValue) []byte {
	if v.Type == 0 {
		v = other
	}
	c := valueClass(v)
	if c == classNaN {
		c = classNumber
	}
	return []byte{c + 1}
}

// mergeRanges sorts ranges and merges overlapping ones.
func mergeRanges(rs []scanRange) []scanRange {
	sort.Slice(rs, func(i, j int) bool { return bytes.Compare(rs[i].lo, rs[j].lo) < 0 })
	out := rs[:0]
	for _, r := range rs {
		if n := len(out); n > 0 && (out[n-1].hi == nil || bytes.Compare(r.lo, out[n-1].hi) <= 0) {
			if out[n-1].hi != nil && (r.hi == nil || bytes.Compare(r.hi, out[n-1].hi) > 0) {
				out[n-1].hi = r.hi
			}
			continue
		}
		out = append(out, r)
	}
	return out
}

// indexScan reads a page of the documents that index ix holds in ranges, after the entry After
// (the entry key below the index prefix). A document with several keys in the ranges comes once
// per key: the caller removes repeats.
func (m *Machine) indexScan(q ScanQuery, ix *compiledIndex, ranges []scanRange) (ScanPage, error) {
	page := ScanPage{Index: ix.spec.Name}
	size := 0
	for _, r := range ranges {
		lo := r.lo
		if q.After != nil {
			if r.hi != nil && bytes.Compare(q.After, r.hi) >= 0 {
				continue
			}
			if bytes.Compare(q.After, lo) >= 0 {
				lo = append(append([]byte(nil), q.After...), 0)
			}
		}
		upper := prefixEnd(ix.prefix)
		if r.hi != nil {
			upper = append(append([]byte(nil), ix.prefix...), r.hi...)
		}
		it := m.db.NewIter(&pebble.IterOptions{LowerBound: append(append([]byte(nil), ix.prefix...), lo...), UpperBound: upper})
		for it.First(); it.Valid(); it.Next() {
			if len(page.Docs) > 0 && ((q.Limit > 0 && len(page.Docs) >= q.Limit) || (q.MaxBytes > 0 && size >= q.MaxBytes)) {
				page.More = true
				return page, it.Close()
			}
			dk := append([]byte(nil), it.Value()...)
			v, ok, err := get(m.db, docKey(q.NS, dk))
			if err != nil {
				_ = it.Close()
				return ScanPage{}, err
			}
			if !ok {
				continue
			}
			rev, _, doc, ok := decodeValue(v)
			if !ok {
				_ = it.Close()
				return ScanPage{}, fmt.Errorf("document value of %d bytes", len(v))
			}
			pos := append([]byte(nil), it.Key()[len(ix.prefix):]...)
			page.Docs = append(page.Docs, Doc{Key: dk, Pos: pos, Rev: rev, Doc: doc})
			size += len(doc)
		}
		if err := it.Close(); err != nil {
			return ScanPage{}, err
		}
	}
	return page, nil
}
