package compaction

import "github.com/chronogo/chronogo/storage/tsm"

type part struct {
	r     *tsm.Reader
	entry tsm.Entry
}

// keyIter walks the union of the inputs' index entries in key order; for each key, parts lists
// the inputs that hold it, in input order (older files first). Each input's entries are decoded a
// series at a time (an input's index stays encoded: decoding whole files held tens of MB during a
// load's compactions).
type keyIter struct {
	inputs  []Input
	entries [][]tsm.Entry     // per input: the entries of its current series
	blocks  [][]tsm.BlockMeta // their block metas
	series  []int             // per input: the next series to decode
	pos     []int
	key     tsm.Key
	parts   []part
	err     error
}

func newKeyIter(inputs []Input) *keyIter {
	n := len(inputs)
	return &keyIter{inputs: inputs, entries: make([][]tsm.Entry, n), blocks: make([][]tsm.BlockMeta, n),
		series: make([]int, n), pos: make([]int, n)}
}

// fill decodes the next series of input i once its current one is consumed (the parts of the last
// key, which point into it, are done by then).
func (it *keyIter) fill(i int) {
	r := it.inputs[i].Reader
	for it.pos[i] >= len(it.entries[i]) && it.series[i] < r.SeriesCount() {
		it.entries[i], it.blocks[i] = r.AppendSeriesAt(it.series[i], it.entries[i][:0], it.blocks[i][:0])
		it.series[i]++
		it.pos[i] = 0
	}
}

func (it *keyIter) next() bool {
	found := false
	for i := range it.inputs {
		it.fill(i)
		es := it.entries[i]
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
