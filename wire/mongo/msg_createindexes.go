package mongo

import (
	"context"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/meta/plain"
	"github.com/chronogo/chronogo/wire/mongoerr"
)

// msgCreateIndexes records secondary indexes in the collection's definition (ChronoGo answers
// meta and time predicates from its own series index; the specs are kept for listIndexes).
// Existing identical indexes are no-ops; a name or key clash with other options fails.
func msgCreateIndexes(ctx context.Context, s *Server, req *request) (*bsoncore.DocumentBuilder, error) {
	c, name, err := s.targetCollection(ctx, req)
	if err != nil {
		return nil, err
	}
	vals, ok, err := optArray(req.doc, "createIndexes", "indexes")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, mongoerr.New(mongoerr.IDLFailedToParse, "BSON field 'createIndexes.indexes' is missing but a required field")
	}
	if len(vals) == 0 {
		return nil, mongoerr.New(mongoerr.BadValue, "Must specify at least one index to create")
	}
	if c == nil { // MongoDB creates the collection (a plain one) with its first index
		if c, err = s.createPlain(ctx, req.db, name); err != nil {
			return nil, err
		}
	}
	before := indexCount(c)
	upd := *c
	upd.Indexes = append([]meta.Index(nil), c.Indexes...)
	for _, v := range vals {
		idx, err := parseIndexSpec(c, v)
		if err != nil {
			return nil, err
		}
		exists, err := checkIndexClash(&upd, idx)
		if err != nil {
			return nil, err
		}
		if !exists {
			upd.Indexes = append(upd.Indexes, idx)
		}
	}
	after := indexCount(&upd)
	b := bsoncore.NewDocumentBuilder().
		AppendInt32("numIndexesBefore", int32(before)).
		AppendInt32("numIndexesAfter", int32(after)).
		AppendBoolean("createdCollectionAutomatically", false)
	if after == before {
		b.AppendString("note", "all indexes already exist")
		return b, nil
	}
	if c.Plain() { // built first: a failed build (or a crash before the catalog update) lists nothing; a retry finds them built
		if err := s.buildPlainIndexes(ctx, c, upd.Indexes[len(c.Indexes):]); err != nil {
			return nil, err
		}
	}
	if err := s.b.UpdateCollection(ctx, &upd); err != nil {
		return nil, err
	}
	return b, nil
}

// plainIndexSpec is the store's form of a plain collection's index.
func plainIndexSpec(idx meta.Index) plain.IndexSpec {
	spec := plain.IndexSpec{Name: idx.Name, Key: bson.Raw(idx.Key)}
	if len(idx.Options) > 0 {
		opts := bson.Raw(idx.Options)
		spec.Unique, _ = opts.Lookup("unique").BooleanOK()
		spec.Sparse, _ = opts.Lookup("sparse").BooleanOK()
	}
	return spec
}

// buildPlainIndexes builds indexes over plain collection c, all or none.
func (s *Server) buildPlainIndexes(ctx context.Context, c *meta.Collection, idxs []meta.Index) error {
	cmd := plain.Command{Op: plain.OpCreateIndexes}
	for _, idx := range idxs {
		cmd.Indexes = append(cmd.Indexes, plainIndexSpec(idx))
	}
	res, err := s.b.PlainAdmin(ctx, c, cmd)
	if res.Code == plain.CodeIndex && len(res.Problems) > 0 {
		p := res.Problems[0]
		if len(p.KeyValue) == 0 && !strings.Contains(p.Message, "parallel arrays") {
			return mongoerr.New(mongoerr.IndexOptionsConflict, "index %s: %s", p.Index, p.Message)
		}
		return indexProblemErr(c, plain.StatusBadKey, &p)
	}
	return err
}

// checkIndexClash reports whether idx already exists identically; a same name with another key
// is 86, a same key under another name is 85.
func checkIndexClash(c *meta.Collection, idx meta.Index) (bool, error) {
	if key := autoIndexKey(c); key != nil {
		auto := autoIndexName(c)
		if idx.Name == auto && sameIndexKey(idx.Key, key) {
			return true, nil
		}
		if idx.Name == auto {
			return false, mongoerr.New(mongoerr.IndexKeySpecsConflict,
				"An existing index has the same name as the requested index. When index names are not specified, they are auto generated and can cause conflicts. Please refer to our documentation. Requested index: %s, existing index: %s",
				idx.Name, auto)
		}
		if sameIndexKey(idx.Key, key) && len(idx.Options) == 0 {
			return false, mongoerr.New(mongoerr.IndexOptionsConflict,
				"Index already exists with a different name: %s", auto)
		}
	}
	for _, x := range c.Indexes {
		switch {
		case x.Name == idx.Name && sameIndexKey(x.Key, idx.Key) && sameIndexKey(x.Options, idx.Options):
			return true, nil
		case x.Name == idx.Name:
			return false, mongoerr.New(mongoerr.IndexKeySpecsConflict,
				"An existing index has the same name as the requested index. When index names are not specified, they are auto generated and can cause conflicts. Please refer to our documentation. Requested index: %s, existing index: %s",
				idx.Name, x.Name)
		case sameIndexKey(x.Key, idx.Key) && sameIndexKey(x.Options, idx.Options):
			return false, mongoerr.New(mongoerr.IndexOptionsConflict, "Index already exists with a different name: %s", x.Name)
		}
	}
	return false, nil
}
