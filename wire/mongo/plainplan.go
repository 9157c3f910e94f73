package mongo

import (
	"context"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/meta/plain"
	"github.com/chronogo/chronogo/wire/mongo/mql"
)

// A query on a plain collection reads through an index when its filter pins one down: the _id
// index for equalities on _id, a secondary index (chosen by the store, meta/plain) for equalities
// and ranges on its leading fields. The predicates only narrow what is read; every document read
// is still matched against the whole filter.

// maxIDLookups bounds the _id values of one query read one by one.
const maxIDLookups = 1000

// plainPreds derives index predicates from the top-level conjunction of filter: equalities, $eq,
// $in, and $gt/$gte/$lt/$lte on one type. Anything else ($or, $expr, regexes, arrays) is left to
// the filter.
func plainPreds(filter bson.Raw) []plain.Pred {
	var out []plain.Pred
	seen := map[string]bool{}
	var walk func(d bson.Raw, depth int)
	walk = func(d bson.Raw, depth int) {
		elems, err := d.Elements()
		if err != nil || depth > 10 {
			return
		}
		for _, e := range elems {
			k, v := e.Key(), e.Value()
			if k == "$and" {
				if arr, ok := v.ArrayOK(); ok {
					vals, _ := arr.Values()
					for _, x := range vals {
						if sub, ok := x.DocumentOK(); ok {
							walk(sub, depth+1)
						}
					}
				}
				continue
			}
			if strings.HasPrefix(k, "$") || seen[k] {
				continue
			}
			if p, ok := predOf(k, v); ok {
				seen[k] = true
				out = append(out, p)
			}
		}
	}
	walk(filter, 0)
	return out
}

// indexable reports whether an equality on v can be looked up in an index: arrays (which match
// whole arrays too) and regular expressions (which match by pattern) cannot.
func indexable(v bson.RawValue) bool {
	return v.Type != bson.TypeArray && v.Type != bson.TypeRegex && v.Type != 0
}

// rangeBound reports whether v can bound a range scan.
func rangeBound(v bson.RawValue) bool {
	switch v.Type {
	case bson.TypeDouble, bson.TypeInt32, bson.TypeInt64, bson.TypeDecimal128, bson.TypeString,
		bson.TypeDateTime, bson.TypeObjectID, bson.TypeTimestamp, bson.TypeBoolean, bson.TypeBinary:
		return true
	}
	return false
}

// predOf is the predicate of one top-level field of a filter.
func predOf(path string, v bson.RawValue) (plain.Pred, bool) {
	p := plain.Pred{Path: path}
	ops, isDoc := v.DocumentOK()
	if first, err := ops.IndexErr(0); !isDoc || err != nil || !strings.HasPrefix(first.Key(), "$") {
		if !indexable(v) {
			return p, false
		}
		p.Eq = []bson.RawValue{v}
		return p, true
	}
	elems, _ := ops.Elements()
	for _, op := range elems {
		x := op.Value()
		switch op.Key() {
		case "$eq":
			if !indexable(x) {
				return p, false
			}
			p.Eq, p.Lo, p.Hi = []bson.RawValue{x}, bson.RawValue{}, bson.RawValue{}
			return p, true
		case "$in":
			arr, ok := x.ArrayOK()
			if !ok {
				return p, false
			}
			vals, _ := arr.Values()
			if len(vals) == 0 || len(vals) > maxIDLookups {
				return p, false
			}
			for _, y := range vals {
				if !indexable(y) {
					return p, false
				}
			}
			p.Eq, p.Lo, p.Hi = vals, bson.RawValue{}, bson.RawValue{}
			return p, true
		case "$gt", "$gte":
			if rangeBound(x) && (p.Hi.Type == 0 || sameRangeClass(x, p.Hi)) {
				p.Lo = x
			}
		case "$lt", "$lte":
			if rangeBound(x) && (p.Lo.Type == 0 || sameRangeClass(p.Lo, x)) {
				p.Hi = x
			}
		}
	}
	return p, p.Lo.Type != 0 || p.Hi.Type != 0
}

// sameRangeClass reports whether a lower and an upper bound compare within one type class, as
// MongoDB's type bracketing requires of both ends of a range.
func sameRangeClass(lo, hi bson.RawValue) bool {
	if isNumber(lo) && isNumber(hi) {
		return true
	}
	str := func(v bson.RawValue) bool { return v.Type == bson.TypeString || v.Type == bson.TypeSymbol }
	return lo.Type == hi.Type || (str(lo) && str(hi))
}

// idKeys returns the keys of the _id values a filter's preds pin down, or nil.
func idKeys(preds []plain.Pred) [][]byte {
	for _, p := range preds {
		if p.Path != "_id" || len(p.Eq) == 0 {
			continue
		}
		seen := map[string]bool{}
		var keys [][]byte
		for _, v := range p.Eq {
			k := mql.AppendKey(nil, v)
			if !seen[string(k)] {
				seen[string(k)] = true
				keys = append(keys, k)
			}
		}
		return keys
	}
	return nil
}

// plainDocs calls fn once with each document of plain collection c that filter may match: by
// _id, through a secondary index, or else all of them; fn must still match the filter. It returns
// the index read ("" for a collection scan).
func (s *Server) plainDocs(ctx context.Context, c *meta.Collection, filter bson.Raw, fn func(d *plain.Doc) error) (string, error) {
	preds := plainPreds(filter)
	if keys := idKeys(preds); keys != nil {
		for _, k := range keys {
			d, found, err := s.b.PlainGet(ctx, c, k)
			if err != nil {
				return "_id_", err
			}
			if found {
				if err := fn(&d); err != nil {
					return "_id_", err
				}
			}
		}
		return "_id_", nil
	}
	var seen map[string]bool
	index, err := s.b.PlainScan(ctx, c, preds, func(index string, d *plain.Doc) error {
		if index != "" { // a multikey document may come once per key
			if seen == nil {
				seen = map[string]bool{}
			}
			if seen[string(d.Key)] {
				return nil
			}
			seen[string(d.Key)] = true
		}
		return fn(d)
	})
	return index, err
}
