package mql

import (
	"go.mongodb.org/mongo-driver/v2/bson"
)

// Sort is a compiled sort specification. It is safe for concurrent use.
type Sort struct{ keys []sortKey }

type sortKey struct {
	path []string
	desc bool
}

// CompileSort compiles a sort specification such as {a: 1, b: -1}. Errors are codes 15974
// (not a number) and 15975 (not 1 or -1); an empty specification sorts nothing.
func CompileSort(s bson.Raw) (out *Sort, err error) {
	defer recoverErr(&err)
	out = &Sort{}
	if len(s) == 0 {
		return out, nil
	}
	if err := validDoc("sort", s); err != nil {
		return nil, err
	}
	els, _ := elements(s)
	for _, e := range els {
		if e.key == "" || e.key[0] == '$' {
			return nil, errf(codeBadValue, "FieldPath field names may not start with '$'.")
		}
		if e.val.Type == bson.TypeEmbeddedDocument && firstKey(e.val.Value) == "$meta" {
			return nil, errf(codeBadValue, "$meta sort is not supported")
		}
		if !isNumber(e.val.Type) {
			return nil, errf(codeSortNotNumber, "Illegal key in $sort specification: %s: %s", e.key, e.val.String())
		}
		f := toFloat(e.val)
		if f != 1 && f != -1 {
			return nil, errf(codeSortBadOrder, "$sort key ordering must be 1 (for ascending) or -1 (for descending)")
		}
		out.keys = append(out.keys, sortKey{path: splitPath(e.key), desc: f == -1})
	}
	return out, nil
}

// Compare orders two documents by the sort specification: negative when a sorts first. Arrays
// sort by their smallest element ascending and largest descending; missing sorts as null.
func (s *Sort) Compare(a, b bson.Raw) (c int) {
	defer func() {
		if recover() != nil {
			c = 0
		}
	}()
	for _, k := range s.keys {
		if c := k.compare(k.extract(a), k.extract(b)); c != 0 {
			return c
		}
	}
	return 0
}

func (k sortKey) compare(a, b bson.RawValue) int {
	c := CompareValues(a, b)
	if k.desc {
		return -c
	}
	return c
}

// extract returns the value a document sorts by for this key.
func (k sortKey) extract(doc []byte) bson.RawValue {
	var best bson.RawValue
	have, emptyArray := false, false
	queryValues(doc, k.path, func(v bson.RawValue, expanded bool) bool {
		if v.Type == bson.TypeArray && !expanded {
			if len(v.Value) <= 5 {
				emptyArray = true
			}
			return true
		}
		if isMissing(v) {
			v = vNull()
		}
		if !have || (k.desc && CompareValues(v, best) > 0) || (!k.desc && CompareValues(v, best) < 0) {
			best, have = v, true
		}
		return true
	})
	if !have {
		if emptyArray {
			return bson.RawValue{Type: bson.TypeUndefined}
		}
		return vNull()
	}
	return best
}

// keysOf extracts all sort keys of a document.
func (s *Sort) keysOf(doc []byte) []bson.RawValue {
	out := make([]bson.RawValue, len(s.keys))
	for i, k := range s.keys {
		out[i] = k.extract(doc)
	}
	return out
}

func (s *Sort) compareKeys(a, b []bson.RawValue) int {
	for i, k := range s.keys {
		if c := k.compare(a[i], b[i]); c != 0 {
			return c
		}
	}
	return 0
}
