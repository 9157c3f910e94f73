package mongo

import (
	"context"
	"slices"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/meta/plain"
	"github.com/chronogo/chronogo/wire/mongoerr"
)

// msgDropIndexes drops user indexes by name, names, key document or "*" (all user indexes). The
// automatic meta/time index is served by the series index and cannot be dropped.
func msgDropIndexes(ctx context.Context, s *Server, req *request) (*bsoncore.DocumentBuilder, error) {
	c, name, err := s.targetCollection(ctx, req)
	if err != nil {
		return nil, err
	}
	target, ok := lookup(req.doc, "index")
	if !ok {
		return nil, mongoerr.New(mongoerr.IDLFailedToParse, "BSON field 'dropIndexes.index' is missing but a required field")
	}
	if c == nil {
		return nil, mongoerr.New(mongoerr.NamespaceNotFound, "ns not found %s.%s", req.db, name)
	}
	before := indexCount(c)
	keep, err := indexesAfterDrop(c, target)
	if err != nil {
		return nil, err
	}
	if c.Plain() { // dropped from the store first: after a crash the catalog still lists them and a retry ends the drop
		var names []string
		for _, x := range c.Indexes {
			if !slices.ContainsFunc(keep, func(k meta.Index) bool { return k.Name == x.Name }) {
				names = append(names, x.Name)
			}
		}
		if _, err := s.b.PlainAdmin(ctx, c, plain.Command{Op: plain.OpDropIndexes, Names: names}); err != nil {
			return nil, err
		}
	}
	upd := *c
	upd.Indexes = keep
	if err := s.b.UpdateCollection(ctx, &upd); err != nil {
		return nil, err
	}
	return bsoncore.NewDocumentBuilder().AppendInt32("nIndexesWas", int32(before)), nil
}

// indexesAfterDrop returns c's user indexes without the ones target names.
func indexesAfterDrop(c *meta.Collection, target bson.RawValue) ([]meta.Index, error) {
	var names []string
	switch target.Type {
	case bson.TypeString:
		if target.StringValue() == "*" {
			return nil, nil
		}
		names = []string{target.StringValue()}
	case bson.TypeArray:
		vals, _ := target.Array().Values()
		for _, v := range vals {
			s, ok := v.StringValueOK()
			if !ok {
				return nil, typeErr("dropIndexes.index", v.Type, "string")
			}
			names = append(names, s)
		}
	case bson.TypeEmbeddedDocument:
		for _, x := range c.Indexes {
			if sameIndexKey(x.Key, target.Document()) {
				names = []string{x.Name}
			}
		}
		if names == nil {
			if key := autoIndexKey(c); key != nil && sameIndexKey(key, target.Document()) {
				names = []string{autoIndexName(c)}
			} else {
				return nil, mongoerr.New(mongoerr.IndexNotFound, "can't find index with key: %s", target.Document().String())
			}
		}
	default:
		return nil, typeErr("dropIndexes.index", target.Type, "[string, object, array]")
	}
	keep := append([]meta.Index(nil), c.Indexes...)
	for _, n := range names {
		if c.Plain() && n == autoIndexName(c) {
			return nil, mongoerr.New(mongoerr.InvalidOptions, "cannot drop _id index")
		}
		if c.MetaField != "" && n == autoIndexName(c) {
			return nil, mongoerr.New(mongoerr.InvalidOptions,
				"index '%s' is ChronoGo's series index on the metaField and timeField and cannot be dropped", n)
		}
		found := false
		for i, x := range keep {
			if x.Name == n {
				keep = append(keep[:i], keep[i+1:]...)
				found = true
				break
			}
		}
		if !found {
			return nil, mongoerr.New(mongoerr.IndexNotFound, "index not found with name [%s]", n)
		}
	}
	return keep, nil
}
