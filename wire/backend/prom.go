package backend

import (
	"cmp"
	"context"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/chronogo/chronogo/actors/coordinator"
	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/engine"
	"github.com/chronogo/chronogo/storage/index"
	"github.com/chronogo/chronogo/wire/httpapi"
	"github.com/chronogo/chronogo/wire/lineproto"
	"github.com/chronogo/chronogo/wire/promremote"
)

var _ httpapi.PromReader = (*Backend)(nil)

// PromRead answers one remote read query: the metrics (collections of the line-protocol shape)
// its __name__ matchers select, the series its other matchers select (pushed down to the series
// index as tag predicates), the samples of "value" in its range.
func (b *Backend) PromRead(ctx context.Context, db string, q promremote.Query, fn func(ts *promremote.TimeSeries) error) error {
	var nameMatchers []promremote.Matcher
	var filter index.And
	for _, m := range q.Matchers {
		if m.Name == "__name__" {
			nameMatchers = append(nameMatchers, m)
			continue
		}
		e, err := matcherExpr(m)
		if err != nil {
			return err
		}
		filter = append(filter, e)
	}
	colls, err := b.promMetrics(ctx, db, nameMatchers)
	if err != nil {
		return err
	}
	var expr index.Expr
	if len(filter) > 0 {
		expr = filter
	}
	minT, maxT := msBound(q.StartMs, false), msBound(q.EndMs, true)
	for _, c := range colls {
		if err := b.promSeries(ctx, c, expr, minT, maxT, fn); err != nil {
			return err
		}
	}
	return nil
}

// msBound converts a query bound in ms to ns (the end includes its whole millisecond).
func msBound(ms int64, end bool) int64 {
	const maxMs = (1<<63 - 1) / 1_000_000
	switch {
	case ms > maxMs:
		return 1<<63 - 1
	case ms < -maxMs:
		return -1 << 63
	case end:
		return ms*1_000_000 + 999_999
	}
	return ms * 1_000_000
}

// promMetrics lists the collections of db that hold line-protocol-shaped series and whose names
// the __name__ matchers accept, by name.
func (b *Backend) promMetrics(ctx context.Context, db string, ms []promremote.Matcher) ([]*meta.Collection, error) {
	shaped := func(c *meta.Collection) bool {
		return c.TimeField == lineproto.TimeField && c.MetaField == lineproto.MetaField
	}
	for _, m := range ms {
		if m.Type == promremote.MatchEqual { // the usual case: one collection
			c, ok, err := b.Collection(ctx, db, m.Value)
			if err != nil || !ok || !shaped(c) {
				return nil, err
			}
			for _, other := range ms {
				if ok, err := labelMatches(other, c.Name); err != nil || !ok {
					return nil, err
				}
			}
			return []*meta.Collection{c}, nil
		}
	}
	all, err := b.ListCollections(ctx, db)
	if err != nil {
		return nil, err
	}
	var out []*meta.Collection
	for _, c := range all {
		if !shaped(c) {
			continue
		}
		keep := true
		for _, m := range ms {
			ok, err := labelMatches(m, c.Name)
			if err != nil {
				return nil, err
			}
			keep = keep && ok
		}
		if keep {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// anchored compiles a Prometheus regular expression, which matches whole values.
func anchored(re string) (*regexp.Regexp, error) {
	r, err := regexp.Compile("^(?:" + re + ")$")
	if err != nil {
		return nil, fmt.Errorf("%w: regular expression %q: %v", httpapi.ErrBadRequest, re, err)
	}
	return r, nil
}

// labelMatches evaluates a matcher on a label value ("" when absent).
func labelMatches(m promremote.Matcher, v string) (bool, error) {
	switch m.Type {
	case promremote.MatchEqual:
		return v == m.Value, nil
	case promremote.MatchNotEqual:
		return v != m.Value, nil
	}
	re, err := anchored(m.Value)
	if err != nil {
		return false, err
	}
	return re.MatchString(v) == (m.Type == promremote.MatchRegexp), nil
}

// matcherExpr is a label matcher as a predicate on the tags of series: an absent label is the
// empty value, as in Prometheus.
func matcherExpr(m promremote.Matcher) (index.Expr, error) {
	key := lineproto.MetaField + "." + m.Name
	switch m.Type {
	case promremote.MatchEqual, promremote.MatchNotEqual:
		var e index.Expr = index.Match{Key: key, Op: index.OpEq, Value: storage.StringTag(m.Value)}
		if m.Value == "" {
			e = index.Match{Key: key, Op: index.OpNotExists}
		}
		if m.Type == promremote.MatchNotEqual {
			return index.Not{E: e}, nil
		}
		return e, nil
	case promremote.MatchRegexp, promremote.MatchNotRegexp:
		re, err := anchored(m.Value)
		if err != nil {
			return nil, err
		}
		var e index.Expr = index.Match{Key: key, Op: index.OpRegex, Regex: re}
		if re.MatchString("") {
			e = index.Or{e, index.Match{Key: key, Op: index.OpNotExists}}
		}
		if m.Type == promremote.MatchNotRegexp {
			return index.Not{E: e}, nil
		}
		return e, nil
	}
	return nil, fmt.Errorf("%w: matcher type %d", httpapi.ErrBadRequest, m.Type)
}

// promSeries scans the "value" columns of collection c and hands each series to fn.
func (b *Backend) promSeries(ctx context.Context, c *meta.Collection, filter index.Expr, minT, maxT int64, fn func(ts *promremote.TimeSeries) error) error {
	var (
		cur    storage.SeriesID
		curSrc coordinator.Source
		ts     promremote.TimeSeries
		has    bool
		sorted = true
	)
	flush := func() error {
		if !has {
			return nil
		}
		has = false
		key, ok := curSrc.SeriesKey(cur)
		if !ok {
			return fmt.Errorf("series %d of %s.%s has no key", cur, c.DB, c.Name)
		}
		ts.Labels = append(ts.Labels[:0], promremote.Label{Name: "__name__", Value: c.Name})
		for _, t := range key.Tags {
			name, ok := strings.CutPrefix(t.Key, lineproto.MetaField+".")
			if !ok || t.Value.Type != storage.TypeString {
				continue
			}
			ts.Labels = append(ts.Labels, promremote.Label{Name: name, Value: string(t.Value.Raw)})
		}
		slices.SortFunc(ts.Labels, func(a, b promremote.Label) int { return strings.Compare(a.Name, b.Name) })
		if !sorted { // a value stored with two types: two columns
			slices.SortStableFunc(ts.Samples, func(a, b promremote.Sample) int { return cmp.Compare(a.TimestampMs, b.TimestampMs) })
		}
		var err error
		if len(ts.Samples) > 0 {
			err = fn(&ts)
		}
		ts.Samples, sorted = ts.Samples[:0], true
		return err
	}
	q := engine.ScanQuery{Filter: filter, MinTime: minT, MaxTime: maxT, Fields: []string{httpapi.PromValueField}}
	err := b.node.Scan(ctx, collTenant(ctx, c), c.DB, c.TableName(), q, func(src coordinator.Source, col *engine.ScanColumn) error {
		if src != curSrc || col.Series != cur {
			if err := flush(); err != nil {
				return err
			}
			curSrc, cur = src, col.Series
		} else if len(ts.Samples) > 0 {
			sorted = false
		}
		has = true
		p := col.Points
		for i, t := range p.Times {
			ms := t / 1_000_000
			if t < 0 && t%1_000_000 != 0 {
				ms--
			}
			var v float64
			switch p.Values.Type.Class() {
			case storage.ClassFloat:
				v = p.Values.Floats[i]
			case storage.ClassInt:
				v = float64(p.Values.Ints[i])
			default:
				continue
			}
			ts.Samples = append(ts.Samples, promremote.Sample{Value: v, TimestampMs: ms})
		}
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}
