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
// timeField "time" and metaField "tags", created on first write. Names, collection shapes and
// batches are all checked before anything is written, so bad input changes nothing; a failure
// after some measurements were written is a *httpapi.PartialWriteError with value counts.
func (b *Backend) WriteLines(ctx context.Context, db string, lines *lineproto.Batches) error {
	names := make([]string, 0, len(lines.ByMeasurement))
	for m := range lines.ByMeasurement {
		names = append(names, m)
	}
	sort.Strings(names)
	if err := meta.ValidDataDatabase(db); err != nil {
		return err
	}
	colls := make([]*meta.Collection, len(names))
	for i, m := range names {
		if err := meta.ValidCollectionName(db, m); err != nil {
			return err
		}
		if err := lines.ByMeasurement[m].Validate(); err != nil {
			return fmt.Errorf("measurement %q: %w", m, err)
		}
		if err := lines.ByMeasurement[m].CheckTimes(); err != nil {
			return fmt.Errorf("measurement %q: %w", m, err)
		}
		c, ok, err := b.Collection(ctx, db, m)
		if err != nil {
			return err
		}
		if ok && (c.TimeField != lineproto.TimeField || c.MetaField != lineproto.MetaField) {
			return fmt.Errorf("%w: collection %s.%s has timeField %q and metaField %q; line protocol needs %q and %q",
				httpapi.ErrBadRequest, db, m, c.TimeField, c.MetaField, lineproto.TimeField, lineproto.MetaField)
		}
		if ok {
			colls[i] = c
		}
	}
	if err := b.checkQuotas(meta.TenantOf(ctx), lines.Values); err != nil {
		return err // before anything is written
	}
	written := 0
	for i, m := range names {
		batch := lines.ByMeasurement[m]
		err := func() error {
			if colls[i] == nil {
				c := &meta.Collection{DB: db, Name: m, TimeField: lineproto.TimeField, MetaField: lineproto.MetaField,
					Granularity: "seconds", BucketMaxSpanSeconds: 3600}
				if err := b.CreateCollection(ctx, c); err != nil {
					return fmt.Errorf("create collection %s.%s: %w", db, m, err)
				}
				colls[i] = c
			}
			if err := batch.Retable(m, colls[i].TableName()); err != nil {
				return fmt.Errorf("write %s.%s: %w", db, m, err)
			}
			if err := b.node.Write(ctx, meta.TenantOf(ctx), db, colls[i].TableName(), batch); err != nil {
				return fmt.Errorf("write %s.%s: %w", db, m, err)
			}
			return nil
		}()
		if err != nil {
			if written == 0 {
				return err
			}
			return &httpapi.PartialWriteError{Written: written, Dropped: lines.Values - written, Err: err}
		}
		written += batch.NumValues()
	}
	return nil
}
