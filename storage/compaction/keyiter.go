package compaction

import "github.com/chronogo/chronogo/storage/tsm"

type part struct {
	r     *tsm.Reader
	entry tsm.Entry
}

// keyIter walks the union of the inputs' index entries in key order; for each key, parts lists
// the inputs that hold it, in input order (older files first).
type keyIter struct {
	inputs  []Input
	entries [][]tsm.Entry
	pos     []int
	key     tsm.Key
	parts   []part
	err     error
}

func newKeyIter(inputs []Input) *keyIter {
	it := &keyIter{inputs: inputs, pos: make([]int, len(inputs))}
	for _, in := range inputs {
		it.entries = append(it.entries, in.Reader.Entries())
	}
	return it
}

func (it *keyIter) next() bool {
	found := false
	for i, es := range it.entries {
		if it.pos[i] < len(es) && (!found || tsm.CompareKeys(es[it.pos[i]].Key, it.key) < 0) {
			it.key, found = es[it.pos[i]].Key, true
		}
	}
	if !found {
		return false
	}
	it.parts = it.parts[:0]
	for i, es := range it.entries {
		if it.pos[i] < len(es) && tsm.CompareKeys(es[it.pos[i]].Key, it.key) == 0 {
			it.parts = append(it.parts, part{r: it.inputs[i].Reader, entry: es[it.pos[i]]})
			it.pos[i]++
		}
	}
	return true
}
