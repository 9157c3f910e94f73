package index

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/chronogo/chronogo/storage"
)

// postings is a list of series ids. ids[:sorted] is strictly ascending; ids[sorted:] is an unsorted
// tail of recent additions that normalize merges in. Readers only see normalized lists.
type postings struct {
	ids    []storage.SeriesID
	sorted int
}

// add appends id and reports whether the list just turned from normalized to dirty.
func (p *postings) add(id storage.SeriesID) (becameDirty bool) {
	clean := p.sorted == len(p.ids)
	if clean && (len(p.ids) == 0 || p.ids[len(p.ids)-1] < id) {
		p.ids = append(p.ids, id)
		p.sorted++
		return false
	}
	p.ids = append(p.ids, id)
	return clean
}

// normalize sorts the tail and merges it into the sorted head.
func (p *postings) normalize() {
	if p.sorted == len(p.ids) {
		return
	}
	tail := p.ids[p.sorted:]
	slices.Sort(tail)
	if p.sorted == 0 {
		p.sorted = len(p.ids)
		return
	}
	head := p.ids[:p.sorted]
	if head[len(head)-1] < tail[0] {
		p.sorted = len(p.ids)
		return
	}
	out := make([]storage.SeriesID, 0, len(p.ids)+len(p.ids)/8)
	out = mergeUnion(out, head, tail)
	p.ids = out
	p.sorted = len(out)
}

// removeSorted deletes the ids in del (ascending) from a normalized list.
func (p *postings) removeSorted(del []storage.SeriesID) {
	p.ids = difference(p.ids[:0], p.ids, del)
	p.sorted = len(p.ids)
}

// intersect appends a ∩ b to dst. dst may alias a or b (it is written no faster than either is read).
func intersect(dst, a, b []storage.SeriesID) []storage.SeriesID {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] < b[j]:
			i++
		case a[i] > b[j]:
			j++
		default:
			dst = append(dst, a[i])
			i++
			j++
		}
	}
	return dst
}

// difference appends a \ b to dst. dst may alias a.
func difference(dst, a, b []storage.SeriesID) []storage.SeriesID {
	j := 0
	for _, id := range a {
		for j < len(b) && b[j] < id {
			j++
		}
		if j < len(b) && b[j] == id {
			continue
		}
		dst = append(dst, id)
	}
	return dst
}

// mergeUnion appends a ∪ b (both ascending) to dst, dropping duplicates. dst must not alias a or b.
func mergeUnion(dst, a, b []storage.SeriesID) []storage.SeriesID {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] < b[j]:
			dst = append(dst, a[i])
			i++
		case a[i] > b[j]:
			dst = append(dst, b[j])
			j++
		default:
			dst = append(dst, a[i])
			i++
			j++
		}
	}
	dst = append(dst, a[i:]...)
	return append(dst, b[j:]...)
}

// appendPostings encodes an ascending list: uvarint(n) uvarint(first) { uvarint(delta) }.
func appendPostings(dst []byte, ids []storage.SeriesID) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(ids)))
	var prev uint64
	for i, id := range ids {
		if i == 0 {
			dst = binary.AppendUvarint(dst, uint64(id))
		} else {
			dst = binary.AppendUvarint(dst, uint64(id)-prev)
		}
		prev = uint64(id)
	}
	return dst
}

var errPostingsOrder = errors.New("postings not strictly ascending")

// decodePostings decodes appendPostings output, appending to dst. It returns the rest of src.
// The count is checked against the remaining bytes (every entry takes at least one byte).
func decodePostings(dst []storage.SeriesID, src []byte) ([]storage.SeriesID, []byte, error) {
	n, m := binary.Uvarint(src)
	if m <= 0 {
		return dst, nil, errors.New("postings: bad count")
	}
	src = src[m:]
	if n > uint64(len(src)) {
		return dst, nil, fmt.Errorf("postings: count %d exceeds %d remaining bytes", n, len(src))
	}
	dst = slices.Grow(dst, int(n))
	var prev uint64
	for i := uint64(0); i < n; i++ {
		v, m := binary.Uvarint(src)
		if m <= 0 {
			return dst, nil, fmt.Errorf("postings: bad entry %d", i)
		}
		src = src[m:]
		if i > 0 {
			if v == 0 || v > ^prev {
				return dst, nil, errPostingsOrder
			}
			v += prev
		}
		dst = append(dst, storage.SeriesID(v))
		prev = v
	}
	return dst, src, nil
}
