package tsm

import (
	"encoding/binary"
	"fmt"
)

// The version table (format version 3) lists the distinct (version, seq) pairs of a file's blocks
// that use ids (block flag blockVersionsByID). Such a block stores one column of ids into the table
// instead of a version and a seq column. A write batch stamps all of its points with one pair, so a
// block written from many batches holds runs of equal ids, numbered in order of first appearance:
// every series of a flush sees the batches in the same order, so its ids run 0, 0, 0, 1, 1, 1, …
// and the column costs a few bytes (the codec's runs form), where versions cost a byte or more per
// point. It sits in the index payload after the key entries:
//
//	uvarint(n) n × { varint(version − previous version) varint(seq − previous seq) }
//
// (differences modulo 2^64, the first relative to 0).

// MaxVersionIDs bounds a file's version table; blocks whose pairs do not fit keep their own columns.
const MaxVersionIDs = 1 << 16

// versionTable is a file's table as a reader holds it: pair i is (versions[i], seqs[i]).
type versionTable struct {
	versions, seqs []uint64
}

func (t *versionTable) len() int { return len(t.versions) }

// tableBuilder collects a file's table while its blocks are written.
type tableBuilder struct {
	versionTable
	ids map[[2]uint64]uint64
}

// idsFor appends the id of each (versions[i], seqs[i]) to dst, adding new pairs to the table, or
// reports false (adding nothing) when they would not fit in MaxVersionIDs.
func (b *tableBuilder) idsFor(dst []uint64, versions, seqs []uint64) ([]uint64, bool) {
	if b.ids == nil {
		b.ids = make(map[[2]uint64]uint64)
	}
	start := b.len()
	var last [2]uint64
	var lastID uint64
	for i := range versions {
		p := [2]uint64{versions[i], seqs[i]}
		if i > 0 && p == last {
			dst = append(dst, lastID)
			continue
		}
		id, ok := b.ids[p]
		if !ok {
			if b.len() == MaxVersionIDs {
				b.rollback(start)
				return dst, false
			}
			id = uint64(b.len())
			b.ids[p] = id
			b.versions = append(b.versions, p[0])
			b.seqs = append(b.seqs, p[1])
		}
		last, lastID = p, id
		dst = append(dst, id)
	}
	return dst, true
}

// rollback removes the pairs added since the table had n of them.
func (b *tableBuilder) rollback(n int) {
	for i := n; i < b.len(); i++ {
		delete(b.ids, [2]uint64{b.versions[i], b.seqs[i]})
	}
	b.versions, b.seqs = b.versions[:n], b.seqs[:n]
}

func appendVersionTable(dst []byte, t *versionTable) []byte {
	dst = binary.AppendUvarint(dst, uint64(t.len()))
	var pv, ps uint64
	for i := range t.versions {
		dst = binary.AppendVarint(dst, int64(t.versions[i]-pv))
		dst = binary.AppendVarint(dst, int64(t.seqs[i]-ps))
		pv, ps = t.versions[i], t.seqs[i]
	}
	return dst
}

// decodeVersionTable reads a table at d.
func decodeVersionTable(d *decoder) (versionTable, error) {
	var t versionTable
	n := d.uvarint()
	if d.err != nil {
		return t, fmt.Errorf("version table: %w", d.err)
	}
	if n > MaxVersionIDs || n > uint64(d.remaining()/2) { // each pair takes at least 2 bytes
		return t, fmt.Errorf("version table: got %d pairs; want <= %d and <= %d", n, MaxVersionIDs, d.remaining()/2)
	}
	t.versions, t.seqs = make([]uint64, n), make([]uint64, n)
	var pv, ps uint64
	for i := range t.versions {
		pv += uint64(d.varint())
		ps += uint64(d.varint())
		t.versions[i], t.seqs[i] = pv, ps
	}
	if d.err != nil {
		return t, fmt.Errorf("version table: %w", d.err)
	}
	return t, nil
}

// idsToPairs turns a decoded ids column into seqs in place and appends the versions to versions,
// checking each id against the table and each pair against the meta's ranges.
func idsToPairs(t *versionTable, m *BlockMeta, ids, versions []uint64) ([]uint64, error) {
	for i, id := range ids {
		if id >= uint64(t.len()) {
			return versions, fmt.Errorf("version id %d at %d: table has %d", id, i, t.len())
		}
		v, s := t.versions[id], t.seqs[id]
		if v < m.MinVersion || v > m.MaxVersion || s < m.MinSeq || s > m.MaxSeq {
			return versions, fmt.Errorf("version id %d at %d: (%d, %d) outside meta ranges [%d, %d] [%d, %d]",
				id, i, v, s, m.MinVersion, m.MaxVersion, m.MinSeq, m.MaxSeq)
		}
		versions = append(versions, v)
		ids[i] = s
	}
	return versions, nil
}
