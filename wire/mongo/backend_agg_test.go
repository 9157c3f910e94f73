package mongo

import (
	"cmp"
	"context"
	"math"
	"slices"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/wire/mongo/tsdoc"
)

// memBucketMs splits the in-memory data into "buckets" so bins spanning one arrive in parts.
const memBucketMs = 6 * 3600 * 1000

// Aggregate folds the matching documents point by point into per-(series, column, bin, bucket)
// aggregates, the way the storage engine reports them.
func (m *memBackend) Aggregate(_ context.Context, c *meta.Collection, p *Pushdown, q AggPlanQuery, fn func(*AggPart) error) error {
	m.mu.Lock()
	m.aggCalls++
	m.valueFields = q.ValueFields
	m.mu.Unlock()
	type key struct {
		series, field string
		typ           bson.Type
		start, bucket int64
	}
	parts := map[key]*AggPart{}
	var keys []key
	err := m.find(c, p, func(doc bson.Raw) error {
		var tags []storage.Tag
		if c.MetaField != "" {
			if v, err := doc.LookupErr(c.MetaField); err == nil {
				var ferr error
				if tags, ferr = tsdoc.FlattenMeta(nil, c.MetaField, v); ferr != nil {
					return ferr
				}
			}
		}
		sk := storage.SeriesKey{Table: c.Name, Tags: tags}
		if err := sk.Normalize(); err != nil {
			return err
		}
		mv, err := tsdoc.MetaValue(c.MetaField, sk.Tags)
		if err != nil {
			return err
		}
		ms := doc.Lookup(c.TimeField).DateTime()
		ns := ms * 1_000_000
		start := int64(math.MinInt64)
		if q.Window > 0 {
			start = q.Origin + floorDivTest(ms-q.Origin, q.Window)*q.Window
		}
		elems, _ := doc.Elements()
		for _, e := range elems {
			if e.Key() == c.TimeField || e.Key() == c.MetaField {
				continue
			}
			v := e.Value()
			k := key{string(sk.Marshal(nil)), e.Key(), v.Type, start, floorDivTest(ms, memBucketMs)}
			a := parts[k]
			if a == nil {
				a = &AggPart{Series: sk.Marshal(nil), Meta: mv, Start: start, Field: e.Key(), Type: v.Type}
				parts[k] = a
				keys = append(keys, k)
			}
			if q.ValueFields != nil && !slices.Contains(q.ValueFields, e.Key()) {
				// the loosest presence marks the contract allows: one per column, bin and bucket
				a.Count = 1
				continue
			}
			foldTestPoint(a, ns, v)
		}
		return nil
	})
	if err != nil {
		return err
	}
	slices.SortFunc(keys, func(a, b key) int {
		if c := strings.Compare(a.series, b.series); c != 0 {
			return c
		}
		if c := cmp.Compare(a.bucket, b.bucket); c != 0 {
			return c
		}
		return cmp.Compare(a.start, b.start)
	})
	for _, k := range keys {
		if err := fn(parts[k]); err != nil {
			return err
		}
	}
	return nil
}

func floorDivTest(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// foldTestPoint adds one point to an aggregate.
func foldTestPoint(a *AggPart, ns int64, v bson.RawValue) {
	first := a.Count == 0
	isFirst, isLast := first || ns < a.FirstTime, first || ns > a.LastTime
	var n int64
	isInt := true
	switch v.Type {
	case bson.TypeInt32:
		n = int64(v.Int32())
	case bson.TypeInt64:
		n = v.Int64()
	case bson.TypeDateTime:
		n = v.DateTime()
	case bson.TypeTimestamp:
		t, i := v.Timestamp()
		n = int64(uint64(t)<<32 | uint64(i))
	case bson.TypeBoolean:
		if v.Boolean() {
			n = 1
		}
	case bson.TypeDouble:
		isInt = false
		f := v.Double()
		a.FSum += f
		if first || f < a.FMin {
			a.FMin = f
		}
		if first || f > a.FMax {
			a.FMax = f
		}
		if isFirst {
			a.FFirst = f
		}
		if isLast {
			a.FLast = f
		}
	default:
		isInt = false
		b := v.Value
		if v.Type == bson.TypeString {
			b = []byte(v.StringValue())
		}
		if isFirst {
			a.FirstBytes = b
		}
		if isLast {
			a.LastBytes = b
		}
	}
	if isInt {
		a.Sum += n
		if first || n < a.Min {
			a.Min = n
		}
		if first || n > a.Max {
			a.Max = n
		}
		if isFirst {
			a.First = n
		}
		if isLast {
			a.Last = n
		}
	}
	if isFirst {
		a.FirstTime = ns
	}
	if isLast {
		a.LastTime = ns
	}
	a.Count++
}
