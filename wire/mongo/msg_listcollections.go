package mongo

import (
	"context"
	"slices"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/wire/mongo/mql"
)

// msgListCollections lists a database's collections in the shape of a MongoDB time-series
// collection (the viewless layout: no system.buckets.* or system.views entries). The filter
// sees full entries; nameOnly entries are {name, type}.
func msgListCollections(ctx context.Context, s *Server, req *request) (*bsoncore.DocumentBuilder, error) {
	filter, err := optDoc(req.doc, "listCollections", "filter")
	if err != nil {
		return nil, err
	}
	nameOnly, err := optBool(req.doc, "listCollections", "nameOnly", false)
	if err != nil {
		return nil, err
	}
	batchSize, err := cursorBatchSize(req.doc, "listCollections")
	if err != nil {
		return nil, err
	}
	var f *mql.Filter
	if len(filter) > 0 {
		if f, err = mql.CompileFilter(filter); err != nil {
			return nil, queryErr(err)
		}
	}
	colls, err := s.b.ListCollections(ctx, req.db)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(colls, func(a, b *meta.Collection) int { return strings.Compare(a.Name, b.Name) })
	var docs []bson.Raw
	for _, c := range colls {
		entry := bson.Raw(collectionEntry(c))
		if f != nil {
			ok, err := f.Match(entry)
			if err != nil {
				return nil, queryErr(err)
			}
			if !ok {
				continue
			}
		}
		if nameOnly {
			entry = bson.Raw(bsoncore.NewDocumentBuilder().
				AppendString("name", c.Name).AppendString("type", "timeseries").Build())
		}
		docs = append(docs, entry)
	}
	return s.firstBatch(ctx, req.db+".$cmd.listCollections", docs, batchSize, false)
}

// cursorBatchSize reads cursor.batchSize; -1 when absent.
func cursorBatchSize(doc bson.Raw, cmd string) (int64, error) {
	cur, err := optDoc(doc, cmd, "cursor")
	if err != nil || cur == nil {
		return -1, err
	}
	n, ok, err := optInt64(cur, "cursor", "batchSize")
	if err != nil {
		return -1, err
	}
	if !ok {
		return -1, nil
	}
	if n < 0 {
		return -1, badBatchSize(n)
	}
	return n, nil
}
