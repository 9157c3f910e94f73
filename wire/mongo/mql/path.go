package mql

import (
	"strconv"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// splitPath splits a dotted field path.
func splitPath(p string) []string { return strings.Split(p, ".") }

// queryValues calls fn with every value a query on the dotted path reaches in doc, the way
// MongoDB's filters see them: arrays met on the way are traversed (document elements and numeric
// positions), a terminal array is reported whole and then element by element (expanded = true).
// When nothing is reached fn is called once with missing.
func queryValues(doc []byte, path []string, fn func(v bson.RawValue, expanded bool) bool) {
	found := false
	wrap := func(v bson.RawValue, expanded bool) bool {
		found = true
		return fn(v, expanded)
	}
	walkDoc(doc, path, wrap)
	if !found {
		fn(missing, false)
	}
}

// walkDoc returns false when fn asked to stop.
func walkDoc(doc []byte, path []string, fn func(bson.RawValue, bool) bool) bool {
	v := lookup(doc, path[0])
	if isMissing(v) {
		return fn(missing, false)
	}
	return walkValue(v, path[1:], fn)
}

func walkValue(v bson.RawValue, rest []string, fn func(bson.RawValue, bool) bool) bool {
	if len(rest) == 0 {
		if !fn(v, false) {
			return false
		}
		if v.Type == bson.TypeArray {
			for _, e := range values(v.Value) {
				if !fn(e, true) {
					return false
				}
			}
		}
		return true
	}
	switch v.Type {
	case bson.TypeEmbeddedDocument:
		return walkDoc(v.Value, rest, fn)
	case bson.TypeArray:
		elems := values(v.Value)
		if i, err := strconv.Atoi(rest[0]); err == nil && i >= 0 && isDigits(rest[0]) {
			if i < len(elems) && !walkValue(elems[i], rest[1:], fn) {
				return false
			}
		}
		for _, e := range elems {
			if e.Type == bson.TypeEmbeddedDocument {
				if !walkDoc(e.Value, rest, fn) {
					return false
				}
			}
		}
	}
	return true
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// exprPath evaluates an aggregation field path ("$a.b" without the "$"): through arrays it
// yields the array of the values found in their elements, as MongoDB's expressions do.
func exprPath(v bson.RawValue, path []string) bson.RawValue {
	for i, p := range path {
		switch v.Type {
		case bson.TypeEmbeddedDocument:
			v = lookup(v.Value, p)
		case bson.TypeArray:
			b := newBuilder(len(v.Value))
			for _, e := range values(v.Value) {
				if e.Type != bson.TypeEmbeddedDocument && e.Type != bson.TypeArray {
					continue
				}
				r := exprPath(e, path[i:])
				if !isMissing(r) {
					b.push(r)
				}
			}
			return b.array()
		default:
			return missing
		}
	}
	return v
}

// setPath returns doc with the dotted path set to v (replacing an existing value in place, else
// appended); through arrays it sets the path in every element, as $addFields does.
func setPath(doc []byte, path []string, v bson.RawValue) []byte {
	b := newBuilder(len(doc) + len(v.Value) + 16)
	done := false
	_ = forEach(doc, func(k []byte, cur bson.RawValue) bool {
		if string(k) != path[0] {
			b.add(string(k), cur)
			return true
		}
		done = true
		if len(path) == 1 {
			b.add(path[0], v)
			return true
		}
		b.add(path[0], setInValue(cur, path[1:], v))
		return true
	})
	if !done {
		if len(path) == 1 {
			b.add(path[0], v)
		} else {
			b.add(path[0], vDoc(setPath(emptyDoc, path[1:], v)))
		}
	}
	return b.finish()
}

func setInValue(cur bson.RawValue, path []string, v bson.RawValue) bson.RawValue {
	switch cur.Type {
	case bson.TypeEmbeddedDocument:
		return vDoc(setPath(cur.Value, path, v))
	case bson.TypeArray:
		b := newBuilder(len(cur.Value))
		for _, e := range values(cur.Value) {
			b.push(setInValue(e, path, v))
		}
		return b.array()
	}
	return vDoc(setPath(emptyDoc, path, v))
}

var emptyDoc = []byte{5, 0, 0, 0, 0}

// removePath returns doc without the dotted path (through arrays, in every element).
func removePath(doc []byte, path []string) []byte {
	b := newBuilder(len(doc))
	_ = forEach(doc, func(k []byte, cur bson.RawValue) bool {
		if string(k) != path[0] {
			b.add(string(k), cur)
			return true
		}
		if len(path) > 1 {
			b.add(path[0], removeInValue(cur, path[1:]))
		}
		return true
	})
	return b.finish()
}

func removeInValue(cur bson.RawValue, path []string) bson.RawValue {
	switch cur.Type {
	case bson.TypeEmbeddedDocument:
		return vDoc(removePath(cur.Value, path))
	case bson.TypeArray:
		b := newBuilder(len(cur.Value))
		for _, e := range values(cur.Value) {
			b.push(removeInValue(e, path))
		}
		return b.array()
	}
	return cur
}
