package plain

import (
	"bytes"

	"github.com/cockroachdb/pebble"
)

// replaceFrom gives collection ns the documents of collection from (same tenant and database)
// in one step, as $out does: ns's documents, counts and index entries go, from's move in under
// ns's name, and from is left empty. ns keeps its index specs; from must hold the same ones (the
// caller built them there before filling it), so its entries move as they are. Removed counts the
// documents ns had.
func replaceFrom(b *pebble.Batch, ns NS, from string) (Result, error) {
	src := NS{Tenant: ns.Tenant, DB: ns.DB, Coll: from}
	old, err := readStats(b, ns)
	if err != nil {
		return Result{}, err
	}
	for _, space := range []byte{spaceDocs, spaceStats, spaceIndex} {
		p := collPrefix(space, ns)
		if err := b.DeleteRange(p, prefixEnd(p), nil); err != nil {
			return Result{}, err
		}
	}
	for _, space := range []byte{spaceDocs, spaceStats, spaceIndex} {
		sp, dp := collPrefix(space, src), collPrefix(space, ns)
		it := b.NewIter(&pebble.IterOptions{LowerBound: sp, UpperBound: prefixEnd(sp)})
		var moves [][2][]byte
		for it.First(); it.Valid(); it.Next() {
			k := append(bytes.Clone(dp), it.Key()[len(sp):]...)
			moves = append(moves, [2][]byte{k, bytes.Clone(it.Value())})
		}
		if err := it.Close(); err != nil {
			return Result{}, err
		}
		for _, m := range moves {
			if err := b.Set(m[0], m[1], nil); err != nil {
				return Result{}, err
			}
		}
	}
	for _, space := range collSpaces {
		p := collPrefix(space, src)
		if err := b.DeleteRange(p, prefixEnd(p), nil); err != nil {
			return Result{}, err
		}
	}
	return Result{Removed: old.Count}, nil
}
