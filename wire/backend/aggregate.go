package backend

import (
	"context"
	"fmt"
	"math"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/actors/coordinator"
	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/engine"
	"github.com/chronogo/chronogo/wire/mongo"
	"github.com/chronogo/chronogo/wire/mongo/tsdoc"
)

const nsPerMs = 1_000_000

// Aggregate runs the engine's pre-aggregating scan over the series that may match p and hands
// each (series, column, bin) aggregate, with the series key and meta value, to fn.
func (b *Backend) Aggregate(ctx context.Context, c *meta.Collection, p *mongo.Pushdown, q mongo.AggPlanQuery, fn func(*mongo.AggPart) error) error {
	if q.Window < 0 || q.Window > math.MaxInt64/nsPerMs/4 || q.Origin < 0 || q.Origin > math.MaxInt64/nsPerMs/4 {
		return fmt.Errorf("aggregate %s.%s: window %d ms origin %d ms out of range", c.DB, c.Name, q.Window, q.Origin)
	}
	aq := engine.AggQuery{
		ScanQuery:   engine.ScanQuery{Filter: p.Meta, MinTime: msToNs(p.MinTime, false), MaxTime: msToNs(p.MaxTime, true)},
		Window:      q.Window * nsPerMs,
		Origin:      q.Origin * nsPerMs,
		LastOnly:    q.LastOnly,
		SumsOnly:    q.SumsOnly,
		ValueFields: q.ValueFields,
	}
	if p.Fields != nil {
		aq.Fields = p.Fields
	}
	var (
		curSnap coordinator.Source
		cur     storage.SeriesID
		part    mongo.AggPart
	)
	return b.node.Aggregate(ctx, collTenant(ctx, c), c.DB, c.TableName(), aq, func(snap coordinator.Source, r *engine.AggResult) error {
		if snap != curSnap || r.Series != cur || part.Series == nil {
			key, ok := snap.SeriesKey(r.Series)
			if !ok {
				return fmt.Errorf("series %d of %s.%s has no key", r.Series, c.DB, c.Name)
			}
			mv, err := tsdoc.MetaValue(c.MetaField, key.Tags)
			if err != nil {
				return fmt.Errorf("meta value of a series of %s.%s: %w", c.DB, c.Name, err)
			}
			curSnap, cur = snap, r.Series
			part.Series = key.Marshal(part.Series[:0])
			part.Meta = mv
		}
		part.Start = storage.FloorDiv(r.Start, nsPerMs)
		part.Field, part.Type, part.Count = r.Field, bson.Type(r.Type), r.Count
		part.Sum, part.Min, part.Max, part.First, part.Last, part.SumOverflow = r.Sum, r.Min, r.Max, r.First, r.Last, r.SumOverflow
		part.FSum, part.FMin, part.FMax, part.FFirst, part.FLast = r.FSum, r.FMin, r.FMax, r.FFirst, r.FLast
		part.FirstBytes, part.LastBytes = r.FirstBytes, r.LastBytes
		part.FirstTime, part.LastTime = r.FirstTime, r.LastTime
		return fn(&part)
	})
}
