package mongo

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/wire/mongoerr"
)

// msgListIndexes lists the automatic {metaField: 1, timeField: 1} index (when there is a
// metaField) and the user's indexes, as {v: 2, key, name, ...options}.
func msgListIndexes(ctx context.Context, s *Server, req *request) (*bsoncore.DocumentBuilder, error) {
	c, name, err := s.targetCollection(ctx, req)
	if err != nil {
		return nil, err
	}
	batchSize, err := cursorBatchSize(req.doc, "listIndexes")
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, mongoerr.New(mongoerr.NamespaceNotFound, "ns does not exist: %s.%s", req.db, name)
	}
	var docs []bson.Raw
	if key := autoIndexKey(c); key != nil {
		docs = append(docs, indexDoc(meta.Index{Name: autoIndexName(c), Key: key}))
	}
	for _, idx := range c.Indexes {
		docs = append(docs, indexDoc(idx))
	}
	return s.firstBatch(ctx, req.db+"."+name, docs, batchSize, false)
}

// indexDoc is one listIndexes entry.
func indexDoc(idx meta.Index) bson.Raw {
	b := bsoncore.NewDocumentBuilder().
		AppendInt32("v", 2).
		AppendDocument("key", idx.Key).
		AppendString("name", idx.Name)
	if len(idx.Options) > 0 {
		elems, _ := bson.Raw(idx.Options).Elements()
		for _, e := range elems {
			b.AppendValue(e.Key(), bsoncore.Value{Type: bsoncore.Type(e.Value().Type), Data: e.Value().Value})
		}
	}
	return bson.Raw(b.Build())
}
