package mongo

import (
	"context"
	"slices"
	"strconv"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/chronogo/chronogo/wire/mongo/mql"
	"github.com/chronogo/chronogo/wire/mongoerr"
)

// msgDistinct returns the distinct values of key (a dotted path; arrays are unwound) among the
// documents matching query, unique under BSON comparison and sorted by it.
func msgDistinct(ctx context.Context, s *Server, req *request) (*bsoncore.DocumentBuilder, error) {
	c, _, err := s.targetCollection(ctx, req)
	if err != nil {
		return nil, err
	}
	key, ok, err := optString(req.doc, "distinct", "key")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, mongoerr.New(mongoerr.IDLFailedToParse, "BSON field 'distinct.key' is missing but a required field")
	}
	query, err := optDoc(req.doc, "distinct", "query")
	if err != nil {
		return nil, err
	}
	var vals []bson.RawValue
	if c != nil {
		path := strings.Split(key, ".")
		err = s.scan(ctx, c, query, func(doc bson.Raw) error {
			collectPath(bson.RawValue{Type: bson.TypeEmbeddedDocument, Value: doc}, path, func(v bson.RawValue) {
				vals = append(vals, v)
			})
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	slices.SortStableFunc(vals, mql.CompareValues)
	vals = slices.CompactFunc(vals, func(a, b bson.RawValue) bool { return mql.CompareValues(a, b) == 0 })
	ab := bsoncore.NewArrayBuilder()
	for _, v := range vals {
		ab.AppendValue(bsoncore.Value{Type: bsoncore.Type(v.Type), Data: v.Value})
	}
	return bsoncore.NewDocumentBuilder().AppendArray("values", ab.Build()), nil
}

// collectPath calls fn with every value at path under v: arrays met on the way are traversed
// element by element (or indexed by a numeric component), and an array at the end is unwound.
func collectPath(v bson.RawValue, path []string, fn func(bson.RawValue)) {
	if len(path) == 0 {
		if arr, ok := v.ArrayOK(); ok {
			vals, _ := arr.Values()
			for _, e := range vals {
				fn(e)
			}
			return
		}
		fn(v)
		return
	}
	switch v.Type {
	case bson.TypeEmbeddedDocument:
		if next, err := v.Document().LookupErr(path[0]); err == nil {
			collectPath(next, path[1:], fn)
		}
	case bson.TypeArray:
		if i, err := strconv.Atoi(path[0]); err == nil {
			if next, err := v.Array().IndexErr(uint(i)); err == nil {
				collectPath(next, path[1:], fn)
			}
			return
		}
		vals, _ := v.Array().Values()
		for _, e := range vals {
			if e.Type == bson.TypeEmbeddedDocument {
				collectPath(e, path, fn)
			}
		}
	}
}
