package plain

import (
	"bytes"
	"fmt"
	"sort"

	"github.com/cockroachdb/pebble"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// reindex replaces the index entries of the document at dk (old: its stored version, nil when
// new; doc: the version to write, nil for a delete). It writes nothing and returns StatusDupKey or
// StatusBadKey when doc cannot be indexed.
func reindex(b *pebble.Batch, ixs []compiledIndex, dk, old, doc []byte) (Status, *Problem, error) {
	if len(ixs) == 0 {
		return StatusOK, nil, nil
	}
	news := make([][]indexEntry, len(ixs))
	for i := range ixs {
		ix := &ixs[i]
		if doc == nil {
			continue
		}
		es, err := ix.entriesOf(doc)
		if err != nil {
			return StatusBadKey, &Problem{Index: ix.spec.Name, KeyPattern: ix.spec.Key, Message: err.Error()}, nil
		}
		if ix.spec.Unique {
			for _, e := range es {
				dup, err := holdsOther(b, ix, e.key, dk)
				if err != nil {
					return 0, nil, err
				}
				if dup {
					return StatusDupKey, &Problem{Index: ix.spec.Name, KeyPattern: ix.spec.Key, KeyValue: ix.keyValue(e)}, nil
				}
			}
		}
		news[i] = es
	}
	for i := range ixs {
		ix := &ixs[i]
		if old != nil {
			olds, err := ix.entriesOf(old)
			if err != nil {
				return 0, nil, fmt.Errorf("index %s of a stored document: %w", ix.spec.Name, err)
			}
			for _, e := range olds {
				if err := b.Delete(ix.entryKey(e.key, dk), nil); err != nil {
					return 0, nil, err
				}
			}
		}
		for _, e := range news[i] {
			if err := b.Set(ix.entryKey(e.key, dk), dk, nil); err != nil {
				return 0, nil, err
			}
		}
	}
	return StatusOK, nil, nil
}

// holdsOther reports whether index ix holds key for a document other than dk.
func holdsOther(g iterable, ix *compiledIndex, key, dk []byte) (bool, error) {
	p := append(append([]byte(nil), ix.prefix...), key...)
	it := g.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: prefixEnd(p)})
	other := false
	for it.First(); it.Valid() && !other; it.Next() {
		other = !bytes.Equal(it.Value(), dk)
	}
	return other, it.Close()
}

// builtEntry is one entry of an index being built.
type builtEntry struct{ key, dk []byte }

// createIndexes builds specs over the documents of ns, all or none: an index that exists with the
// same spec is kept; a clash of names or keys, a duplicate key of a unique index or a document
// that cannot be indexed fails the command with CodeIndex and changes nothing.
func createIndexes(b *pebble.Batch, ns NS, specs []IndexSpec) (Result, error) {
	existing, err := loadIndexes(b, ns)
	if err != nil {
		return Result{}, err
	}
	fail := func(i int, s IndexSpec, format string, args ...any) (Result, error) {
		return Result{Code: CodeIndex, Message: fmt.Sprintf(format, args...),
			Problems: []Problem{{Item: i, Index: s.Name, KeyPattern: s.Key, Message: fmt.Sprintf(format, args...)}}}, nil
	}
	var build []compiledIndex
	var buildAt []int
	for i, s := range specs {
		known := false
		for _, e := range existing {
			switch {
			case e.spec.same(s):
				known = true
			case e.spec.Name == s.Name:
				return fail(i, s, "an index named %s exists with another key or options", s.Name)
			case bytes.Equal(e.spec.Key, s.Key):
				return fail(i, s, "index %s has the key of existing index %s", s.Name, e.spec.Name)
			}
		}
		for _, e := range build {
			if e.spec.Name == s.Name || bytes.Equal(e.spec.Key, s.Key) {
				return fail(i, s, "index %s is given twice", s.Name)
			}
		}
		if known {
			continue
		}
		ix, err := compileIndex(ns, s)
		if err != nil {
			return fail(i, s, "%v", err)
		}
		build, buildAt = append(build, ix), append(buildAt, i)
	}
	entries := make([][]builtEntry, len(build))
	p := collPrefix(spaceDocs, ns)
	it := b.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: prefixEnd(p)})
	for it.First(); it.Valid(); it.Next() {
		_, _, doc, ok := decodeValue(it.Value())
		if !ok {
			_ = it.Close()
			return Result{}, fmt.Errorf("document value of %d bytes at %x", len(it.Value()), it.Key())
		}
		dk := append([]byte(nil), it.Key()[len(p):]...)
		for j := range build {
			es, err := build[j].entriesOf(doc)
			if err != nil {
				_ = it.Close()
				id, _ := bson.Raw(doc).LookupErr("_id")
				return fail(buildAt[j], build[j].spec, "index %s cannot index the document with _id %s: %v", build[j].spec.Name, id, err)
			}
			for _, e := range es {
				entries[j] = append(entries[j], builtEntry{key: e.key, dk: dk})
			}
		}
	}
	if err := it.Close(); err != nil {
		return Result{}, err
	}
	for j := range build {
		ix := &build[j]
		es := entries[j]
		sort.Slice(es, func(a, c int) bool { return bytes.Compare(es[a].key, es[c].key) < 0 })
		if ix.spec.Unique {
			for k := 1; k < len(es); k++ {
				if bytes.Equal(es[k].key, es[k-1].key) {
					r, _ := fail(buildAt[j], ix.spec, "E11000 duplicate key error building index %s", ix.spec.Name)
					r.Problems[0].KeyValue = dupKeyValue(b, ns, ix, es[k])
					return r, nil
				}
			}
		}
	}
	for j := range build {
		ix := &build[j]
		spec, err := bson.Marshal(ix.spec)
		if err != nil {
			return Result{}, err
		}
		if err := b.Set(indexSpecKey(ns, ix.spec.Name), spec, nil); err != nil {
			return Result{}, err
		}
		for _, e := range entries[j] {
			if err := b.Set(ix.entryKey(e.key, e.dk), e.dk, nil); err != nil {
				return Result{}, err
			}
		}
	}
	return Result{Built: len(build)}, nil
}

// dupKeyValue finds the {field: value} document of a duplicate entry in its document.
func dupKeyValue(g getter, ns NS, ix *compiledIndex, e builtEntry) bson.Raw {
	v, ok, err := get(g, docKey(ns, e.dk))
	if err != nil || !ok {
		return nil
	}
	_, _, doc, _ := decodeValue(v)
	es, _ := ix.entriesOf(doc)
	for _, x := range es {
		if bytes.Equal(x.key, e.key) {
			return ix.keyValue(x)
		}
	}
	return nil
}

// dropIndexes removes the named indexes of ns that exist; Removed counts them.
func dropIndexes(b *pebble.Batch, ns NS, names []string) (Result, error) {
	removed := int64(0)
	for _, name := range names {
		k := indexSpecKey(ns, name)
		if _, ok, err := get(b, k); err != nil || !ok {
			if err != nil {
				return Result{}, err
			}
			continue
		}
		p := appendLP(collPrefix(spaceIndex, ns), name)
		if err := b.DeleteRange(p, prefixEnd(p), nil); err != nil {
			return Result{}, err
		}
		if err := b.Delete(k, nil); err != nil {
			return Result{}, err
		}
		removed++
	}
	return Result{Removed: removed}, nil
}
