package mongo

import (
	"context"
	"slices"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/chronogo/chronogo/wire/mongo/mql"
)

// msgListDatabases lists databases with their sizes; filter applies to the entries.
func msgListDatabases(ctx context.Context, s *Server, req *request) (*bsoncore.DocumentBuilder, error) {
	filter, err := optDoc(req.doc, "listDatabases", "filter")
	if err != nil {
		return nil, err
	}
	nameOnly, err := optBool(req.doc, "listDatabases", "nameOnly", false)
	if err != nil {
		return nil, err
	}
	var f *mql.Filter
	if len(filter) > 0 {
		if f, err = mql.CompileFilter(filter); err != nil {
			return nil, queryErr(err)
		}
	}
	dbs, err := s.b.ListDatabases(ctx)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(dbs, func(a, b DatabaseInfo) int { return strings.Compare(a.Name, b.Name) })
	ab := bsoncore.NewArrayBuilder()
	var total int64
	for _, d := range dbs {
		eb := bsoncore.NewDocumentBuilder().
			AppendString("name", d.Name).
			AppendInt64("sizeOnDisk", d.SizeOnDisk).
			AppendBoolean("empty", d.Empty)
		if d.Consistency != "" {
			eb.AppendString("consistency", d.Consistency) // ChronoGo's default write level
		}
		entry := eb.Build()
		if f != nil {
			ok, err := f.Match(bson.Raw(entry))
			if err != nil {
				return nil, queryErr(err)
			}
			if !ok {
				continue
			}
		}
		if nameOnly {
			entry = bsoncore.NewDocumentBuilder().AppendString("name", d.Name).Build()
		}
		ab.AppendDocument(entry)
		total += d.SizeOnDisk
	}
	b := bsoncore.NewDocumentBuilder().AppendArray("databases", ab.Build())
	if !nameOnly {
		b.AppendInt64("totalSize", total).AppendInt64("totalSizeMb", total>>20)
	}
	return b, nil
}
