package backend

import (
	"context"
	"fmt"
	"sort"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/wire/httpapi"
	"github.com/chronogo/chronogo/wire/lineproto"
)

var _ httpapi.LineWriter = (*Backend)(nil)

// WriteLines stores line protocol: each measurement is a time-series collection with
// timeField "time" and metaField "tags", created on first write.
func (b *Backend) WriteLines(ctx context.Context, db string, lines *lineproto.Batches) error {
	names := make([]string, 0, len(lines.ByMeasurement))
	for m := range lines.ByMeasurement {
		names = append(names, m)
	}
	sort.Strings(names)
	// Every name first, so that a bad one changes nothing.
	if err := meta.ValidDataDatabase(db); err != nil {
		return err
	}
	for _, m := range names {
		if err := meta.ValidCollectionName(db, m); err != nil {
			return err
		}
	}
	for _, m := range names {
		c, ok, err := b.Collection(ctx, db, m)
		if err != nil {
			return err
		}
		if !ok {
			c = &meta.Collection{DB: db, Name: m, TimeField: lineproto.TimeField, MetaField: lineproto.MetaField,
				Granularity: "seconds", BucketMaxSpanSeconds: 3600}
			if err := b.CreateCollection(ctx, c); err != nil {
				return fmt.Errorf("create collection %s.%s: %w", db, m, err)
			}
		} else if c.TimeField != lineproto.TimeField || c.MetaField != lineproto.MetaField {
			return fmt.Errorf("collection %s.%s has timeField %q and metaField %q; line protocol needs %q and %q",
				db, m, c.TimeField, c.MetaField, lineproto.TimeField, lineproto.MetaField)
		}
		if err := b.node.Write(ctx, b.tenant, db, m, lines.ByMeasurement[m]); err != nil {
			return fmt.Errorf("write %s.%s: %w", db, m, err)
		}
	}
	return nil
}
