package mql

import (
	"container/heap"
	"errors"
	"io"
	"slices"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/wire/mongoerr"
)

// DefaultSortMemory is what a blocking sort holds before it spills a sorted run to disk.
const DefaultSortMemory = 32 << 20

// sortKeepInMemory is the most a finished sort keeps in memory while its result is read: a bigger
// one (with a TempDir) is written out, so an open cursor holds only read buffers.
const sortKeepInMemory = 4 << 20

// maxOpenRuns bounds the runs a sort keeps open; at that count they are merged into one.
const maxOpenRuns = 64

// SortLimits bounds the memory of a blocking sort and says where it may spill.
type SortLimits struct {
	// Memory is how many bytes of documents a sort holds before it writes them, sorted, to a
	// run in TempDir (DefaultSortMemory when 0).
	Memory int64
	// TempDir receives the runs. Empty means the sort may not spill (allowDiskUse: false): past
	// Memory it fails with QueryExceededMemoryLimitNoDiskUseAllowed (292).
	TempDir string
}

type sortedDoc struct {
	doc  []byte
	keys []bson.RawValue
}

// Sorter is an external merge sort of documents: Add buffers them and spills sorted runs when
// the buffer passes its memory limit; Iterate merges the runs and the buffer. With a limit it
// keeps only the first limit documents (a top-k sort). Equal documents keep their input order.
type Sorter struct {
	s     *Sort
	lim   SortLimits
	limit int64 // 0: all
	buf   []sortedDoc
	bytes int64
	runs  []*runReader
}

// NewSorter returns a sorter by s; limit > 0 keeps only the first limit documents.
func NewSorter(s *Sort, limit int64, lim SortLimits) *Sorter {
	if lim.Memory <= 0 {
		lim.Memory = DefaultSortMemory
	}
	return &Sorter{s: s, lim: lim, limit: limit}
}

func docCost(d sortedDoc) int64 { return int64(len(d.doc)) + 48 + 24*int64(len(d.keys)) }

// Add copies doc into the sort.
func (x *Sorter) Add(doc []byte) error { return x.AddOwned(slices.Clone(doc)) }

// AddOwned adds doc to the sort, which keeps it: the caller must not change it.
func (x *Sorter) AddOwned(d []byte) error {
	sd := sortedDoc{doc: d, keys: x.s.keysOf(d)}
	x.buf = append(x.buf, sd)
	x.bytes += docCost(sd)
	if x.limit > 0 && int64(len(x.buf)) > x.limit && (int64(len(x.buf)) >= max(2*x.limit, 1024) || x.bytes > x.lim.Memory) {
		x.sortBuf() // a top-k sort keeps only the first limit documents
	}
	if x.bytes > x.lim.Memory {
		if x.lim.TempDir == "" {
			return errf(mongoerr.QueryExceededMemoryLimitNoDiskUseAllowed,
				"Sort exceeded memory limit of %d bytes, but did not opt in to external sorting.", x.lim.Memory)
		}
		return x.spill()
	}
	return nil
}

// sortBuf sorts the buffer (stably) and cuts it to the limit.
func (x *Sorter) sortBuf() {
	slices.SortStableFunc(x.buf, func(a, b sortedDoc) int { return x.s.compareKeys(a.keys, b.keys) })
	if x.limit > 0 && int64(len(x.buf)) > x.limit {
		clear(x.buf[x.limit:])
		x.buf = x.buf[:x.limit]
		x.bytes = 0
		for _, d := range x.buf {
			x.bytes += docCost(d)
		}
	}
}

// spill writes the sorted buffer as a run.
func (x *Sorter) spill() error {
	x.sortBuf()
	w, err := createRun(x.lim.TempDir)
	if err != nil {
		return err
	}
	for _, d := range x.buf {
		if err := w.add(d.doc); err != nil {
			w.abort()
			return err
		}
	}
	r, err := w.finish()
	if err != nil {
		return err
	}
	clear(x.buf)
	x.buf, x.bytes = x.buf[:0], 0
	x.runs = append(x.runs, r)
	if len(x.runs) >= maxOpenRuns {
		return x.compactRuns()
	}
	return nil
}

// compactRuns merges every run into one.
func (x *Sorter) compactRuns() error {
	w, err := createRun(x.lim.TempDir)
	if err != nil {
		return err
	}
	srcs := make([]*mergeSource, len(x.runs))
	for i, r := range x.runs {
		srcs[i] = &mergeSource{run: r}
	}
	if err := x.merge(srcs, w.add); err != nil {
		w.abort()
		return err
	}
	r, err := w.finish()
	if err != nil {
		return err
	}
	x.closeRuns()
	x.runs = []*runReader{r}
	return nil
}

// Iterate emits the sorted documents and releases the sort's memory as it goes; emit may keep
// the documents (each is its own slice). It may be called once; Close releases the runs.
func (x *Sorter) Iterate(emit func([]byte) error) error {
	if x.lim.TempDir != "" && len(x.buf) > 0 && (len(x.runs) > 0 || x.bytes > sortKeepInMemory) {
		if err := x.spill(); err != nil {
			return err
		}
	}
	x.sortBuf()
	if len(x.runs) == 0 {
		buf := x.buf
		x.buf, x.bytes = nil, 0
		for i := range buf {
			if err := emit(buf[i].doc); err != nil {
				return err
			}
			buf[i] = sortedDoc{}
		}
		return nil
	}
	srcs := make([]*mergeSource, len(x.runs))
	for i, r := range x.runs {
		srcs[i] = &mergeSource{run: r}
	}
	return x.merge(srcs, emit)
}

// Close releases the sort's runs and memory.
func (x *Sorter) Close() {
	x.closeRuns()
	x.runs, x.buf, x.bytes = nil, nil, 0
}

func (x *Sorter) closeRuns() {
	for _, r := range x.runs {
		r.close()
	}
}

// mergeSource is a run being merged, with its current document.
type mergeSource struct {
	run  *runReader
	idx  int // position among the sources: ties go to the lower, which came first
	doc  []byte
	keys []bson.RawValue
}

func (m *mergeSource) advance(s *Sort) (bool, error) {
	d, err := m.run.next()
	if errors.Is(err, io.EOF) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	m.doc, m.keys = d, s.keysOf(d)
	return true, nil
}

type mergeHeap struct {
	s    *Sort
	srcs []*mergeSource
}

func (h *mergeHeap) Len() int { return len(h.srcs) }
func (h *mergeHeap) Less(i, j int) bool {
	if c := h.s.compareKeys(h.srcs[i].keys, h.srcs[j].keys); c != 0 {
		return c < 0
	}
	return h.srcs[i].idx < h.srcs[j].idx
}
func (h *mergeHeap) Swap(i, j int) { h.srcs[i], h.srcs[j] = h.srcs[j], h.srcs[i] }
func (h *mergeHeap) Push(v any)    { h.srcs = append(h.srcs, v.(*mergeSource)) }
func (h *mergeHeap) Pop() any {
	v := h.srcs[len(h.srcs)-1]
	h.srcs = h.srcs[:len(h.srcs)-1]
	return v
}

// merge emits the documents of srcs in order, up to the limit.
func (x *Sorter) merge(srcs []*mergeSource, emit func([]byte) error) error {
	h := &mergeHeap{s: x.s}
	for i, m := range srcs {
		m.idx = i
		ok, err := m.advance(x.s)
		if err != nil {
			return err
		}
		if ok {
			h.srcs = append(h.srcs, m)
		}
	}
	heap.Init(h)
	var n int64
	for h.Len() > 0 && (x.limit <= 0 || n < x.limit) {
		m := h.srcs[0]
		if err := emit(m.doc); err != nil {
			return err
		}
		n++
		ok, err := m.advance(x.s)
		if err != nil {
			return err
		}
		if ok {
			heap.Fix(h, 0)
		} else {
			heap.Pop(h)
		}
	}
	return nil
}
