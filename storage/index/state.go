package index

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	"github.com/chronogo/chronogo/storage"
)

// hashEntry is one element of a hash list: HashID -> List<(SeriesKey, SeriesID)>.
type hashEntry struct {
	key string // encoded storage.SeriesKey
	id  storage.SeriesID
}

// tableIndex is the inverted index of one table.
type tableIndex struct {
	all  postings             // every series of the table
	tags map[string]*tagIndex // tag key -> values
}

// tagIndex holds the values of one tag key of one table, each with its postings.
type tagIndex struct {
	values    map[string]*postings // valueKey (type byte + raw) -> series
	keys      []string             // the value keys in ascending order (= TagValue.Compare order)
	keysDirty bool                 // keys misses values added since the last normalize
}

// state is the in-memory index. It is not safe for concurrent use; Index adds the locking.
type state struct {
	hash   map[uint32][]hashEntry
	tables map[string]*tableIndex
	n      int    // live series
	next   uint64 // next 40-bit counter value, >= 1

	dirtyPostings []*postings
	dirtyTags     []*tagIndex
	vkBuf         []byte
}

func newState() *state {
	return &state{
		hash:   make(map[uint32][]hashEntry),
		tables: make(map[string]*tableIndex),
		next:   1,
	}
}

// valueKey is the map key of a tag value: its type byte followed by Raw. Byte order of value keys
// equals TagValue.Compare order.
func appendValueKey(dst []byte, v storage.TagValue) []byte {
	dst = append(dst, byte(v.Type))
	return append(dst, v.Raw...)
}

func valueFromKey(vk string) storage.TagValue {
	return storage.TagValue{Type: storage.FieldType(vk[0]), Raw: []byte(vk[1:])}
}

func (s *state) lookup(key []byte) (storage.SeriesID, bool) {
	for _, e := range s.hash[storage.HashSeriesKey(key)] {
		if e.key == string(key) {
			return e.id, true
		}
	}
	return 0, false
}

func (s *state) keyOf(id storage.SeriesID) (string, bool) {
	for _, e := range s.hash[id.Hash24()] {
		if e.id == id {
			return e.key, true
		}
	}
	return "", false
}

// validateKey decodes an encoded series key and checks that it is normalized and canonical.
func validateKey(key []byte) (storage.SeriesKey, error) { return storage.ParseSeriesKey(key) }

// insert adds a series whose key was checked by validateKey and is not present.
func (s *state) insert(key []byte, id storage.SeriesID, k *storage.SeriesKey) {
	h := id.Hash24()
	s.hash[h] = append(s.hash[h], hashEntry{key: string(key), id: id})
	s.n++
	if c := id.AutoInc(); c >= s.next {
		s.next = c + 1
	}
	t := s.tables[k.Table]
	if t == nil {
		t = &tableIndex{tags: make(map[string]*tagIndex)}
		s.tables[k.Table] = t
	}
	s.addPosting(&t.all, id)
	for _, tag := range k.Tags {
		ti := t.tags[tag.Key]
		if ti == nil {
			ti = &tagIndex{values: make(map[string]*postings)}
			t.tags[tag.Key] = ti
		}
		s.vkBuf = appendValueKey(s.vkBuf[:0], tag.Value)
		p := ti.values[string(s.vkBuf)]
		if p == nil {
			p = &postings{}
			ti.values[string(s.vkBuf)] = p
			if !ti.keysDirty {
				ti.keysDirty = true
				s.dirtyTags = append(s.dirtyTags, ti)
			}
		}
		s.addPosting(p, id)
	}
}

func (s *state) addPosting(p *postings, id storage.SeriesID) {
	if p.add(id) {
		s.dirtyPostings = append(s.dirtyPostings, p)
	}
}

// normalize brings every postings list and value order up to date.
func (s *state) normalize() {
	for _, p := range s.dirtyPostings {
		p.normalize()
	}
	clear(s.dirtyPostings)
	s.dirtyPostings = s.dirtyPostings[:0]
	for _, ti := range s.dirtyTags {
		ti.keys = ti.keys[:0]
		for vk := range ti.values {
			ti.keys = append(ti.keys, vk)
		}
		slices.Sort(ti.keys)
		ti.keysDirty = false
	}
	clear(s.dirtyTags)
	s.dirtyTags = s.dirtyTags[:0]
}

func (s *state) removeHash(id storage.SeriesID) (string, bool) {
	h := id.Hash24()
	l := s.hash[h]
	for i, e := range l {
		if e.id == id {
			l[i] = l[len(l)-1]
			l[len(l)-1] = hashEntry{}
			l = l[:len(l)-1]
			if len(l) == 0 {
				delete(s.hash, h)
			} else {
				s.hash[h] = l
			}
			s.n--
			return e.key, true
		}
	}
	return "", false
}

type removal struct {
	t          *tableIndex
	table, tag string
	vk         string
	del        []storage.SeriesID
}

// deleteSeries removes the given series; unknown ids are ignored. It returns how many were removed.
func (s *state) deleteSeries(ids []storage.SeriesID) (int, error) {
	s.normalize()
	byList := make(map[*postings]*removal)
	removed := 0
	note := func(p *postings, r removal, id storage.SeriesID) {
		e := byList[p]
		if e == nil {
			e = &r
			byList[p] = e
		}
		e.del = append(e.del, id)
	}
	for _, id := range ids {
		key, ok := s.keyOf(id)
		if !ok {
			continue
		}
		k, err := storage.UnmarshalSeriesKey([]byte(key))
		if err != nil {
			return removed, fmt.Errorf("delete series %#x: %w", uint64(id), err)
		}
		s.removeHash(id)
		removed++
		t := s.tables[k.Table]
		if t == nil {
			continue
		}
		note(&t.all, removal{t: t, table: k.Table}, id)
		for _, tag := range k.Tags {
			ti := t.tags[tag.Key]
			if ti == nil {
				continue
			}
			vk := string(appendValueKey(nil, tag.Value))
			if p := ti.values[vk]; p != nil {
				note(p, removal{t: t, table: k.Table, tag: tag.Key, vk: vk}, id)
			}
		}
	}
	for p, r := range byList {
		slices.Sort(r.del)
		p.removeSorted(r.del)
		if len(p.ids) > 0 {
			continue
		}
		if r.tag == "" {
			delete(s.tables, r.table)
			continue
		}
		ti := r.t.tags[r.tag]
		if ti == nil {
			continue
		}
		delete(ti.values, r.vk)
		if i, ok := slices.BinarySearch(ti.keys, r.vk); ok {
			ti.keys = slices.Delete(ti.keys, i, i+1)
		}
		if len(ti.values) == 0 {
			delete(r.t.tags, r.tag)
		}
	}
	return removed, nil
}

// dropTable removes a table and all its series. It returns how many series were removed.
func (s *state) dropTable(name string) int {
	t := s.tables[name]
	if t == nil {
		return 0
	}
	n := 0
	for _, id := range t.all.ids {
		if _, ok := s.removeHash(id); ok {
			n++
		}
	}
	delete(s.tables, name)
	return n
}

// keyTable returns the table name of an encoded series key without decoding the tags.
func keyTable(key string) (string, bool) {
	n, m := binary.Uvarint([]byte(key[:min(len(key), binary.MaxVarintLen64)]))
	if m <= 0 || n > uint64(len(key)-m) {
		return "", false
	}
	return key[m : m+int(n)], true
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.SortFunc(out, strings.Compare)
	return out
}
