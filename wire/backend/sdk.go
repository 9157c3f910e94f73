package backend

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/chronogo/chronogo/actors/coordinator"
	"github.com/chronogo/chronogo/actors/gateway"
	"github.com/chronogo/chronogo/messages"
	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/engine"
	"github.com/chronogo/chronogo/storage/index"
	"github.com/chronogo/chronogo/wire/httpapi"
	"github.com/chronogo/chronogo/wire/lineproto"
)

var _ gateway.Writer = (*Backend)(nil)

// ClientWrite writes a Go SDK client's batch to a time-series collection: names, batch and
// quotas are checked before anything is written; a missing collection is created as line
// protocol creates it (timeField "time", metaField "tags"); a field may not be named as the
// collection's time or meta field.
func (b *Backend) ClientWrite(ctx context.Context, tenant, db, coll string, batch *storage.Batch, version uint64, level coordinator.Level) error {
	ctx = meta.WithTenant(ctx, tenant)
	if err := meta.ValidDataDatabase(db); err != nil {
		return fmt.Errorf("%w: %v", httpapi.ErrBadRequest, err)
	}
	if err := meta.ValidCollectionName(db, coll); err != nil {
		return fmt.Errorf("%w: %v", httpapi.ErrBadRequest, err)
	}
	for i := range batch.Series {
		k, err := storage.UnmarshalSeriesKey(batch.Series[i].Key)
		if err != nil || k.Table != coll {
			return fmt.Errorf("%w: series %d does not belong to collection %q", storage.ErrInvalidBatch, i, coll)
		}
	}
	if err := batch.Validate(); err != nil {
		return err
	}
	if err := batch.CheckTimes(); err != nil {
		return err
	}
	c, ok, err := b.Collection(ctx, db, coll)
	if err != nil {
		return err
	}
	if ok && c.TimeField == "" {
		return fmt.Errorf("%w: %s.%s is not a time-series collection", httpapi.ErrBadRequest, db, coll)
	}
	timeField, metaField := lineproto.TimeField, lineproto.MetaField
	if ok {
		timeField, metaField = c.TimeField, c.MetaField
	}
	for i := range batch.Series {
		for _, f := range batch.Series[i].Fields {
			if f.Name == timeField || (metaField != "" && f.Name == metaField) {
				return fmt.Errorf("%w: field %q is the collection's time or meta field", httpapi.ErrBadRequest, f.Name)
			}
		}
		if err := metaKey(&batch.Series[i], metaField); err != nil {
			return err
		}
	}
	if err := b.checkQuotas(tenant, batch.NumValues()); err != nil {
		return err
	}
	if !ok {
		c = &meta.Collection{DB: db, Name: coll, TimeField: timeField, MetaField: metaField, Granularity: "seconds", BucketMaxSpanSeconds: 3600}
		if err := b.CreateCollection(ctx, c); err != nil {
			return fmt.Errorf("create collection %s.%s: %w", db, coll, err)
		}
	}
	if err := batch.Retable(coll, c.TableName()); err != nil {
		return err
	}
	if level != 0 {
		ctx = coordinator.WithLevel(ctx, level)
	}
	return b.node.WriteAt(ctx, tenant, db, c.TableName(), batch, version)
}

// ClientErrorCode is the code an SDK client acts on for a write's error: retryable (OVERLOADED,
// UNAVAILABLE, DISK_FULL) when nothing or not enough was stored and a retry with the same version
// is safe, BAD_REQUEST for input that will never be written, INTERNAL otherwise.
func ClientErrorCode(err error) messages.ErrorCode {
	var pwe *coordinator.PartialWriteError
	switch {
	case errors.Is(err, storage.ErrInvalidBatch), errors.Is(err, httpapi.ErrBadRequest), errors.Is(err, coordinator.ErrBadVersion),
		errors.Is(err, meta.ErrInvalid), errors.Is(err, meta.ErrInvalidName), errors.Is(err, meta.ErrQuotaExceeded):
		return messages.ErrorCode_ERROR_CODE_BAD_REQUEST
	case storage.IsDiskFull(err):
		return messages.ErrorCode_ERROR_CODE_DISK_FULL
	case errors.Is(err, coordinator.ErrOverloaded):
		return messages.ErrorCode_ERROR_CODE_OVERLOADED
	case errors.As(err, &pwe):
		if stored(pwe) || pwe.Retryable() {
			return messages.ErrorCode_ERROR_CODE_UNAVAILABLE
		}
	case errors.Is(err, context.DeadlineExceeded):
		return messages.ErrorCode_ERROR_CODE_UNAVAILABLE
	}
	return messages.ErrorCode_ERROR_CODE_INTERNAL
}

// metaKey rewrites an SDK series key, whose tags are subfields of the meta field, to the stored
// form, where they are paths under it ("host" -> "tags.host").
func metaKey(s *storage.SeriesRows, metaField string) error {
	k, err := storage.UnmarshalSeriesKey(s.Key)
	if err != nil {
		return fmt.Errorf("%w: %v", storage.ErrInvalidBatch, err)
	}
	if len(k.Tags) == 0 {
		return nil
	}
	if metaField == "" {
		return fmt.Errorf("%w: the collection has no meta field: a point has no tags", httpapi.ErrBadRequest)
	}
	for i := range k.Tags {
		k.Tags[i].Key = metaField + "." + k.Tags[i].Key
	}
	if err := k.Normalize(); err != nil {
		return fmt.Errorf("%w: %v", storage.ErrInvalidBatch, err)
	}
	s.Key = k.Marshal(nil)
	return nil
}

// sdkQuery is the engine query of an SDK scan or aggregate, with the prefix of the stored tags.
func (b *Backend) sdkQuery(ctx context.Context, db, coll string, tags map[string]string, minT, maxT int64, fields []string) (engine.ScanQuery, string, error) {
	c, ok, err := b.Collection(ctx, db, coll)
	if err != nil {
		return engine.ScanQuery{}, "", err
	}
	if !ok || c.TimeField == "" {
		return engine.ScanQuery{}, "", fmt.Errorf("%w: no time-series collection %s.%s", httpapi.ErrBadRequest, db, coll)
	}
	q := engine.ScanQuery{Table: c.TableName(), MinTime: minT, MaxTime: maxT, Fields: fields}
	if len(tags) > 0 {
		if c.MetaField == "" {
			return q, "", fmt.Errorf("%w: %s.%s has no meta field to match tags in", httpapi.ErrBadRequest, db, coll)
		}
		var and index.And
		for k, v := range tags {
			and = append(and, index.Match{Key: c.MetaField + "." + k, Op: index.OpEq, Value: storage.StringTag(v)})
		}
		q.Filter = and
	}
	return q, c.MetaField + ".", nil
}

// sdkTags are a stored series' tags as the SDK names them (meta subfields).
func sdkTags(src coordinator.Source, id storage.SeriesID, prefix string) (map[string]string, error) {
	k, ok := src.SeriesKey(id)
	if !ok {
		return nil, fmt.Errorf("series %d has no key", id)
	}
	t := make(map[string]string, len(k.Tags))
	for _, tag := range k.Tags {
		t[strings.TrimPrefix(tag.Key, prefix)] = string(tag.Value.Raw)
	}
	return t, nil
}

// ClientScan reads a time-series collection for a Go SDK client: the points in [minT, maxT] of
// the series whose tags (meta subfields) equal every one given, of the fields listed (none:
// all). fn gets each column with the series' tags (meta subfields); the points are only valid
// during the call.
func (b *Backend) ClientScan(ctx context.Context, tenant, db, coll string, tags map[string]string, minT, maxT int64, fields []string,
	fn func(tags map[string]string, field string, p *storage.Points) error) error {
	ctx = meta.WithTenant(ctx, tenant)
	q, prefix, err := b.sdkQuery(ctx, db, coll, tags, minT, maxT, fields)
	if err != nil {
		return err
	}
	return b.node.Scan(ctx, tenant, db, q.Table, q, func(src coordinator.Source, col *engine.ScanColumn) error {
		t, err := sdkTags(src, col.Series, prefix)
		if err != nil {
			return err
		}
		return fn(t, col.Field, col.Points)
	})
}

// ClientAggregate aggregates what ClientScan would read per series, field and window of
// window ns aligned on origin; fn gets each window's result, in series, field and window order
// within a bucket (a window cut by a bucket boundary comes in two parts).
func (b *Backend) ClientAggregate(ctx context.Context, tenant, db, coll string, tags map[string]string, minT, maxT int64, fields []string,
	window, origin int64, fn func(tags map[string]string, r *engine.AggResult) error) error {
	ctx = meta.WithTenant(ctx, tenant)
	q, prefix, err := b.sdkQuery(ctx, db, coll, tags, minT, maxT, fields)
	if err != nil {
		return err
	}
	return b.node.Aggregate(ctx, tenant, db, q.Table, engine.AggQuery{ScanQuery: q, Window: window, Origin: origin}, func(src coordinator.Source, r *engine.AggResult) error {
		t, err := sdkTags(src, r.Series, prefix)
		if err != nil {
			return err
		}
		return fn(t, r)
	})
}

// PlacementVersion is this node's cached placement version (sent with SDK write answers).
func (b *Backend) PlacementVersion() uint64 { return b.meta.CachedPlacementVersion() }
