package plain

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/cockroachdb/pebble"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// IndexSpec is a secondary index of a plain collection: ascending (1) or descending (-1) fields,
// dotted paths allowed; arrays are indexed element by element (multikey).
type IndexSpec struct {
	Name   string   `bson:"name"`
	Key    bson.Raw `bson:"key"`
	Unique bool     `bson:"unique,omitempty"`
	Sparse bool     `bson:"sparse,omitempty"` // skip documents missing every field of the key
}

// same reports whether two specs describe the same index.
func (s IndexSpec) same(o IndexSpec) bool {
	return s.Name == o.Name && bytes.Equal(s.Key, o.Key) && s.Unique == o.Unique && s.Sparse == o.Sparse
}

// indexField is one component of an index key.
type indexField struct {
	name string
	path []string
	desc bool
}

// compiledIndex is a spec with its fields and the key prefix of its entries.
type compiledIndex struct {
	spec   IndexSpec
	fields []indexField
	prefix []byte // spaceIndex, namespace, lp(name)
}

// errParallelArrays is a document with arrays in two fields of one compound index.
var errParallelArrays = errors.New("cannot index parallel arrays")

// fieldsOf checks a spec's key document and returns its components.
func fieldsOf(s IndexSpec) ([]indexField, error) {
	if s.Name == "" {
		return nil, errors.New("index without a name")
	}
	elems, err := s.Key.Elements()
	if err != nil || len(elems) == 0 {
		return nil, fmt.Errorf("index %s: bad key document", s.Name)
	}
	out := make([]indexField, 0, len(elems))
	for _, e := range elems {
		var dir float64
		switch v := e.Value(); v.Type {
		case bson.TypeInt32:
			dir = float64(v.Int32())
		case bson.TypeInt64:
			dir = float64(v.Int64())
		case bson.TypeDouble:
			dir = v.Double()
		default:
			return nil, fmt.Errorf("index %s: field %q is not 1 or -1", s.Name, e.Key())
		}
		if dir == 0 || e.Key() == "" {
			return nil, fmt.Errorf("index %s: field %q is not 1 or -1", s.Name, e.Key())
		}
		out = append(out, indexField{name: e.Key(), path: strings.Split(e.Key(), "."), desc: dir < 0})
	}
	return out, nil
}

func compileIndex(ns NS, s IndexSpec) (compiledIndex, error) {
	f, err := fieldsOf(s)
	if err != nil {
		return compiledIndex{}, err
	}
	return compiledIndex{spec: s, fields: f, prefix: appendLP(collPrefix(spaceIndex, ns), s.Name)}, nil
}

// pathValues appends the values at path below v (a document), expanding arrays as MongoDB's
// multikey indexes do; multi is set when an array was expanded. A missing field is Type 0, an
// empty array at the end of the path is undefined.
func pathValues(v bson.RawValue, path []string, out []bson.RawValue, multi *bool) []bson.RawValue {
	if len(path) == 0 {
		if v.Type != bson.TypeArray {
			return append(out, v)
		}
		a, _ := v.ArrayOK()
		vals, _ := a.Values()
		*multi = true
		if len(vals) == 0 {
			return append(out, bson.RawValue{Type: bson.TypeUndefined})
		}
		return append(out, vals...)
	}
	switch v.Type {
	case bson.TypeEmbeddedDocument:
		d, _ := v.DocumentOK()
		x, err := d.LookupErr(path[0])
		if err != nil {
			return append(out, bson.RawValue{})
		}
		return pathValues(x, path[1:], out, multi)
	case bson.TypeArray:
		a, _ := v.ArrayOK()
		vals, _ := a.Values()
		if i, err := strconv.Atoi(path[0]); err == nil && i >= 0 {
			if i < len(vals) {
				return pathValues(vals[i], path[1:], out, multi)
			}
			return append(out, bson.RawValue{})
		}
		*multi = true
		n := len(out)
		for _, e := range vals {
			if e.Type == bson.TypeEmbeddedDocument {
				out = pathValues(e, path, out, multi)
			}
		}
		if len(out) == n {
			out = append(out, bson.RawValue{})
		}
		return out
	}
	return append(out, bson.RawValue{})
}

// indexEntry is one key of a document in an index, with its components' values.
type indexEntry struct {
	key  []byte
	vals []bson.RawValue
}

// maxEntriesPerDoc bounds the keys one document adds to one index.
const maxEntriesPerDoc = 100_000

// entriesOf returns the distinct index keys of doc (none for a sparse index the document does
// not touch); errParallelArrays when two components come from arrays.
func (ix *compiledIndex) entriesOf(doc []byte) ([]indexEntry, error) {
	if err := bsoncore.Document(doc).Validate(); err != nil {
		return nil, fmt.Errorf("invalid BSON document: %w", err)
	}
	root := bson.RawValue{Type: bson.TypeEmbeddedDocument, Value: doc}
	comps := make([][]bson.RawValue, len(ix.fields))
	multis, present := 0, false
	for i, f := range ix.fields {
		multi := false
		comps[i] = pathValues(root, f.path, nil, &multi)
		if multi {
			multis++
		}
		for _, v := range comps[i] {
			present = present || v.Type != 0
		}
	}
	if multis > 1 {
		return nil, errParallelArrays
	}
	if ix.spec.Sparse && !present {
		return nil, nil
	}
	out := []indexEntry{{}}
	for i, vals := range comps {
		next := make([]indexEntry, 0, len(out)*len(vals))
		for _, e := range out {
			for _, v := range vals {
				start := len(e.key)
				k := AppendIndexValue(append([]byte(nil), e.key...), v)
				if ix.fields[i].desc {
					invert(k[start:])
				}
				next = append(next, indexEntry{key: k, vals: append(append([]bson.RawValue(nil), e.vals...), v)})
			}
		}
		if len(next) > maxEntriesPerDoc {
			return nil, fmt.Errorf("a document adds more than %d keys to index %s", maxEntriesPerDoc, ix.spec.Name)
		}
		out = next
	}
	sort.Slice(out, func(i, j int) bool { return bytes.Compare(out[i].key, out[j].key) < 0 })
	dedup := out[:0]
	for i, e := range out {
		if i == 0 || !bytes.Equal(e.key, out[i-1].key) {
			dedup = append(dedup, e)
		}
	}
	return dedup, nil
}

// keyValue is the {field: value} document of an entry, as MongoDB reports duplicate keys.
func (ix *compiledIndex) keyValue(e indexEntry) bson.Raw {
	b := bsoncore.NewDocumentBuilder()
	for i, f := range ix.fields {
		v := e.vals[i]
		if v.Type == 0 || v.Type == bson.TypeUndefined {
			b.AppendNull(f.name)
			continue
		}
		b.AppendValue(f.name, bsoncore.Value{Type: bsoncore.Type(v.Type), Data: v.Value})
	}
	return bson.Raw(b.Build())
}

// entryKey is the stored key of an entry: the index prefix, the encoded key, the document key.
func (ix *compiledIndex) entryKey(key, doc []byte) []byte {
	out := make([]byte, 0, len(ix.prefix)+len(key)+len(doc))
	return append(append(append(out, ix.prefix...), key...), doc...)
}

// iterable is a pebble database, indexed batch or snapshot.
type iterable interface {
	getter
	NewIter(o *pebble.IterOptions) *pebble.Iterator
}

// indexSpecKey is where a spec is stored.
func indexSpecKey(ns NS, name string) []byte { return appendLP(collPrefix(spaceIndexSpecs, ns), name) }

// loadIndexes reads the indexes of ns.
func loadIndexes(g iterable, ns NS) ([]compiledIndex, error) {
	p := collPrefix(spaceIndexSpecs, ns)
	it := g.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: prefixEnd(p)})
	var out []compiledIndex
	for it.First(); it.Valid(); it.Next() {
		var s IndexSpec
		if err := bson.Unmarshal(it.Value(), &s); err != nil {
			_ = it.Close()
			return nil, fmt.Errorf("index spec at %x: %w", it.Key(), err)
		}
		ix, err := compileIndex(ns, s)
		if err != nil {
			_ = it.Close()
			return nil, fmt.Errorf("index spec at %x: %w", it.Key(), err)
		}
		out = append(out, ix)
	}
	return out, it.Close()
}
