package storage

import (
	"cmp"
	"slices"
)

// Points is a column of one (series, field, type): timestamps, values and the (version, seq) of
// each point. It is the unit that moves between the memcache, TSM blocks and the merge.
type Points struct {
	Times    []int64
	Values   Values
	Versions []uint64
	Seqs     []uint64
}

// Len is the number of points.
func (p *Points) Len() int { return len(p.Times) }

// Reset empties p and keeps capacity.
func (p *Points) Reset(t FieldType) {
	p.Times, p.Versions, p.Seqs = p.Times[:0], p.Versions[:0], p.Seqs[:0]
	p.Values.Reset()
	p.Values.Type = t
}

// Append adds point i of src.
func (p *Points) Append(src *Points, i int) {
	p.Times = append(p.Times, src.Times[i])
	p.Values.AppendFrom(&src.Values, i)
	p.Versions = append(p.Versions, src.Versions[i])
	p.Seqs = append(p.Seqs, src.Seqs[i])
}

// AppendRange adds points [i, j) of src (src must carry versions and seqs).
func (p *Points) AppendRange(src *Points, i, j int) {
	p.Times = append(p.Times, src.Times[i:j]...)
	p.Versions = append(p.Versions, src.Versions[i:j]...)
	p.Seqs = append(p.Seqs, src.Seqs[i:j]...)
	switch p.Values.Type.Class() {
	case ClassFloat:
		p.Values.Floats = append(p.Values.Floats, src.Values.Floats[i:j]...)
	case ClassInt:
		p.Values.Ints = append(p.Values.Ints, src.Values.Ints[i:j]...)
	case ClassBool:
		p.Values.Bools = append(p.Values.Bools, src.Values.Bools[i:j]...)
	case ClassBytes:
		p.Values.Bytes = append(p.Values.Bytes, src.Values.Bytes[i:j]...)
	}
}

// AppendAll adds every point of src.
func (p *Points) AppendAll(src *Points) {
	p.Times = append(p.Times, src.Times...)
	p.Versions = append(p.Versions, src.Versions...)
	p.Seqs = append(p.Seqs, src.Seqs...)
	switch p.Values.Type.Class() {
	case ClassFloat:
		p.Values.Floats = append(p.Values.Floats, src.Values.Floats...)
	case ClassInt:
		p.Values.Ints = append(p.Values.Ints, src.Values.Ints...)
	case ClassBool:
		p.Values.Bools = append(p.Values.Bools, src.Values.Bools...)
	case ClassBytes:
		p.Values.Bytes = append(p.Values.Bytes, src.Values.Bytes...)
	}
}

// Newer reports whether (v1, s1) wins over (v2, s2) under last-write-wins.
func Newer(v1, s1, v2, s2 uint64) bool { return v1 > v2 || (v1 == v2 && s1 > s2) }

// IsSortedUnique reports whether the timestamps strictly increase.
func (p *Points) IsSortedUnique() bool {
	for i := 1; i < len(p.Times); i++ {
		if p.Times[i] <= p.Times[i-1] {
			return false
		}
	}
	return true
}

// SortDedup sorts p by time and keeps, for each timestamp, the point with the highest
// (version, seq); between equal (version, seq) the later point in p wins.
func (p *Points) SortDedup() {
	if p.IsSortedUnique() {
		return
	}
	idx := make([]int32, len(p.Times))
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortStableFunc(idx, func(a, b int32) int {
		if c := cmp.Compare(p.Times[a], p.Times[b]); c != 0 {
			return c
		}
		if c := cmp.Compare(p.Versions[a], p.Versions[b]); c != 0 {
			return c
		}
		return cmp.Compare(p.Seqs[a], p.Seqs[b])
	})
	// keep the last of each run of equal timestamps
	keep := idx[:0]
	for i, j := range idx {
		if i+1 < len(idx) && p.Times[idx[i+1]] == p.Times[j] {
			continue
		}
		keep = append(keep, j)
	}
	out := Points{Times: gather(p.Times, keep), Versions: gather(p.Versions, keep), Seqs: gather(p.Seqs, keep)}
	out.Values = Values{Type: p.Values.Type}
	switch p.Values.Type.Class() {
	case ClassFloat:
		out.Values.Floats = gather(p.Values.Floats, keep)
	case ClassInt:
		out.Values.Ints = gather(p.Values.Ints, keep)
	case ClassBool:
		out.Values.Bools = gather(p.Values.Bools, keep)
	case ClassBytes:
		out.Values.Bytes = gather(p.Values.Bytes, keep)
	}
	*p = out
}

// gather returns src's elements at idx, in one allocation (nil for an empty src: a column that a
// point set does not carry, such as Versions of unversioned points).
func gather[T any](src []T, idx []int32) []T {
	if len(src) == 0 {
		return nil
	}
	out := make([]T, len(idx))
	for i, j := range idx {
		out[i] = src[j]
	}
	return out
}

// FloorDiv is a/b rounded toward negative infinity (b > 0): the index of the window of length b
// holding time a, also for times before the epoch.
func FloorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
