package mql

import (
	"fmt"
	"math"
	"math/rand"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/index"
	"github.com/chronogo/chronogo/wire/mongo/tsdoc"
)

func ms(t testing.TB, iso string) int64 { return val(t, `{"$date": "`+iso+`"}`).DateTime() }

func tagStr(s string) storage.TagValue { return storage.StringTag(s) }

func tagOf(t testing.TB, js string) storage.TagValue { return tsdoc.TagValueOf(val(t, js)) }

func TestPushdownTable(t *testing.T) {
	day := ms(t, "2023-03-09T00:00:00Z")
	next := ms(t, "2023-03-10T00:00:00Z")
	isArr := func(k string) index.Expr { return typeMatch(k, storage.TypeArray) }
	cases := []struct {
		name     string
		filter   string
		scalar   bool
		min, max int64
		meta     index.Expr
		exact    bool
	}{
		{"empty", `{}`, false, math.MinInt64, math.MaxInt64, nil, true},
		{"time range", `{"t": {"$gte": {"$date": "2023-03-09T00:00:00Z"}, "$lt": {"$date": "2023-03-10T00:00:00Z"}}}`, false, day, next - 1, nil, true},
		{"time strict", `{"t": {"$gt": {"$date": "2023-03-09T00:00:00Z"}, "$lte": {"$date": "2023-03-10T00:00:00Z"}}}`, false, day + 1, next, nil, true},
		{"time eq and $and", `{"$and": [{"t": {"$date": "2023-03-09T00:00:00Z"}}, {"t": {"$lte": {"$date": "2023-03-10T00:00:00Z"}}}]}`, false, day, day, nil, true},
		{"time non-date", `{"t": {"$gt": 5}}`, false, math.MinInt64, math.MaxInt64, nil, false},
		{"time in $or", `{"$or": [{"t": {"$date": "2023-03-09T00:00:00Z"}}, {"m.a": "x"}]}`, false, math.MinInt64, math.MaxInt64, nil, false},
		{"other field", `{"v": 1, "t": {"$gte": {"$date": "2023-03-09T00:00:00Z"}}}`, false, day, math.MaxInt64, nil, false},
		{"scalar meta eq", `{"m": "x"}`, false, math.MinInt64, math.MaxInt64,
			index.Or{index.Match{Key: "m", Op: index.OpEq, Value: tagStr("x")}, index.Match{Key: "m", Op: index.OpEq, Value: storage.TagValue{Type: 0x0E, Raw: val(t, `"x"`).Value}}}, false},
		{"scalar meta eq, ScalarMeta", `{"m": "x"}`, true, math.MinInt64, math.MaxInt64, index.Match{Key: "m", Op: index.OpEq, Value: tagStr("x")}, true},
		{"path eq conservative", `{"m.a": "x", "t": {"$lt": {"$date": "2023-03-10T00:00:00Z"}}}`, false, math.MinInt64, next - 1,
			index.Or{index.Match{Key: "m.a", Op: index.OpEq, Value: tagStr("x")}, isArr("m.a"), index.Match{Key: "m.a", Op: index.OpEq, Value: storage.TagValue{Type: 0x0E, Raw: val(t, `"x"`).Value}}}, false},
		{"path eq ScalarMeta", `{"m.a": "x", "t": {"$lt": {"$date": "2023-03-10T00:00:00Z"}}}`, true, math.MinInt64, next - 1,
			index.Match{Key: "m.a", Op: index.OpEq, Value: tagStr("x")}, true},
		{"numeric eq", `{"m.a": 1}`, true, math.MinInt64, math.MaxInt64,
			index.Match{Key: "m.a", Op: index.OpIn, Values: []storage.TagValue{tagOf(t, `1`), tagOf(t, `{"$numberLong": "1"}`), tagOf(t, `1.0`)}}, true},
		{"fractional eq", `{"m.a": 1.5}`, true, math.MinInt64, math.MaxInt64, index.Match{Key: "m.a", Op: index.OpEq, Value: tagOf(t, `1.5`)}, true},
		{"ne", `{"m.a": {"$ne": "x"}}`, true, math.MinInt64, math.MaxInt64, index.Not{E: index.Match{Key: "m.a", Op: index.OpEq, Value: tagStr("x")}}, true},
		{"in and or", `{"$or": [{"m.a": {"$in": ["x", "y"]}}, {"m.b": true}]}`, true, math.MinInt64, math.MaxInt64,
			index.Or{index.Match{Key: "m.a", Op: index.OpEq, Value: tagStr("x")}, index.Match{Key: "m.a", Op: index.OpEq, Value: tagStr("y")},
				index.Match{Key: "m.b", Op: index.OpEq, Value: tagOf(t, `true`)}}, true},
		{"string range", `{"m.a": {"$gte": "b"}}`, true, math.MinInt64, math.MaxInt64, index.Match{Key: "m.a", Op: index.OpGte, Value: tagStr("b")}, true},
		{"exists", `{"m.a": {"$exists": true}}`, true, math.MinInt64, math.MaxInt64, nil, false},
		{"not exists", `{"m.a": {"$exists": false}}`, true, math.MinInt64, math.MaxInt64, index.Not{E: index.Match{Key: "m.a", Op: index.OpExists}}, false},
		{"null", `{"m.a": null}`, true, math.MinInt64, math.MaxInt64,
			index.Or{index.Match{Key: "m.a", Op: index.OpEq, Value: tagOf(t, `null`)}, index.Match{Key: "m.a", Op: index.OpNotExists}}, false},
		{"unsupported op", `{"m.a": {"$size": 1}}`, true, math.MinInt64, math.MaxInt64, nil, false},
		{"empty in", `{"m.a": {"$in": []}}`, true, math.MinInt64, math.MaxInt64, index.Or{}, true},
		{"nor", `{"$nor": [{"m.a": "x"}]}`, true, math.MinInt64, math.MaxInt64, index.Not{E: index.Match{Key: "m.a", Op: index.OpEq, Value: tagStr("x")}}, true},
	}
	for _, c := range cases {
		p, err := ExtractPushdownWith(doc(t, c.filter), "t", "m", PushdownOptions{ScalarMeta: c.scalar})
		require.NoError(t, err, c.name)
		require.Equal(t, c.min, p.MinTime, c.name)
		require.Equal(t, c.max, p.MaxTime, c.name)
		require.Equal(t, c.meta, p.Meta, c.name)
		require.Equal(t, c.exact, p.Exact, c.name)
	}
	// Numeric ranges cover every numeric tag type.
	p, err := ExtractPushdownWith(doc(t, `{"m.a": {"$gt": 2.5}}`), "t", "m", PushdownOptions{ScalarMeta: true})
	require.NoError(t, err)
	tags := map[string]storage.TagValue{}
	for js, want := range map[string]bool{`3`: true, `2`: false, `{"$numberLong": "3"}`: true, `2.6`: true, `2.5`: false, `"z"`: false,
		`{"$numberDouble": "NaN"}`: false, `{"$numberDouble": "Infinity"}`: true} {
		tags["m.a"] = tagOf(t, js)
		require.Equal(t, want, evalIndex(p.Meta, tags), js)
	}
	_, err = ExtractPushdown(doc(t, `{"m.a": {"$foo": 1}}`), "t", "m")
	require.Error(t, err)
}

// evalIndex evaluates an index expression on one series' tags with storage/index's own evaluator.
func evalIndex(e index.Expr, tags map[string]storage.TagValue) bool {
	key := storage.SeriesKey{}
	for k, v := range tags {
		key.Tags = append(key.Tags, storage.Tag{Key: k, Value: v})
	}
	return index.Matches(e, &key)
}

// flattenMeta names the leaves of a meta value as tsdoc does.
func flattenMeta(prefix string, v bson.RawValue, out map[string]storage.TagValue) {
	if v.Type == bson.TypeEmbeddedDocument && len(v.Value) > 5 {
		els, _ := elements(v.Value)
		for _, e := range els {
			flattenMeta(prefix+"."+e.key, e.val, out)
		}
		return
	}
	out[prefix] = tsdoc.TagValueOf(v)
}

var (
	propScalars = []string{`1`, `{"$numberLong": "1"}`, `1.0`, `2`, `2.5`, `-3`, `"x"`, `"y"`, `"xa"`, `null`, `true`, `false`,
		`{"$date": "2023-03-09T00:00:00Z"}`, `{"$numberDouble": "NaN"}`}
	propExotic = []string{`[1, "x"]`, `[]`, `[{"b": 1}]`, `{}`, `{"$numberDecimal": "1"}`}
	propOps    = []string{"$eq", "$ne", "$gt", "$gte", "$lt", "$lte"}
)

func randMeta(r *rand.Rand, scalar bool) string {
	pool := propScalars
	if !scalar {
		pool = append(append([]string(nil), propScalars...), propExotic...)
	}
	var parts []string
	if r.Intn(5) > 0 {
		parts = append(parts, `"a": `+pool[r.Intn(len(pool))])
	}
	if r.Intn(3) > 0 {
		parts = append(parts, `"b": {"c": `+pool[r.Intn(len(pool))]+`}`)
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func randCond(r *rand.Rand, depth int) string {
	paths := []string{"m.a", "m.b.c", "m.b", "m.a.b", "v"}
	path := paths[r.Intn(len(paths))]
	v := propScalars[r.Intn(len(propScalars))]
	switch k := r.Intn(12); {
	case k == 0 && depth < 2:
		return fmt.Sprintf(`{"$or": [%s, %s]}`, randCond(r, depth+1), randCond(r, depth+1))
	case k == 1 && depth < 2:
		return fmt.Sprintf(`{"$nor": [%s]}`, randCond(r, depth+1))
	case k == 2:
		return fmt.Sprintf(`{"%s": {"$in": [%s, %s]}}`, path, v, propScalars[r.Intn(len(propScalars))])
	case k == 3:
		return fmt.Sprintf(`{"%s": {"$nin": [%s]}}`, path, v)
	case k == 4:
		return fmt.Sprintf(`{"%s": {"$exists": %v}}`, path, r.Intn(2) == 0)
	case k == 5:
		return fmt.Sprintf(`{"%s": {"$regex": "^x"}}`, path)
	case k == 6:
		return fmt.Sprintf(`{"%s": {"$not": {"%s": %s}}}`, path, propOps[r.Intn(len(propOps))], v)
	case k == 7:
		return fmt.Sprintf(`{"t": {"%s": {"$date": "2023-03-09T00:00:0%dZ"}}}`, propOps[r.Intn(len(propOps))], r.Intn(4))
	}
	return fmt.Sprintf(`{"%s": {"%s": %s}}`, path, propOps[r.Intn(len(propOps))], v)
}

// TestPushdownNeverExcludesMatches: for random documents and filters, every document the filter
// matches is inside the pushdown; when the pushdown is Exact it accepts nothing else.
func TestPushdownNeverExcludesMatches(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for _, scalar := range []bool{false, true} {
		for i := 0; i < 3000; i++ {
			d := doc(t, fmt.Sprintf(`{"t": {"$date": "2023-03-09T00:00:0%dZ"}, "m": %s, "v": %s}`, r.Intn(4), randMeta(r, scalar), propScalars[r.Intn(len(propScalars))]))
			var conds []string
			for n := 1 + r.Intn(3); n > 0; n-- {
				conds = append(conds, randCond(r, 0))
			}
			fjs := `{"$and": [` + strings.Join(conds, ", ") + `]}`
			flt, err := CompileFilter(doc(t, fjs))
			require.NoError(t, err, fjs)
			matched, err := flt.Match(d)
			require.NoError(t, err)
			p, err := ExtractPushdownWith(doc(t, fjs), "t", "m", PushdownOptions{ScalarMeta: scalar})
			require.NoError(t, err, fjs)
			tags := map[string]storage.TagValue{}
			flattenMeta("m", d.Lookup("m"), tags)
			tm := d.Lookup("t").DateTime()
			accepted := tm >= p.MinTime && tm <= p.MaxTime && evalIndex(p.Meta, tags)
			if matched {
				require.True(t, accepted, "filter %s matches %s but pushdown %+v excludes it", fjs, ej(t, d), p)
			}
			if p.Exact {
				require.Equal(t, matched, accepted, "exact pushdown of %s disagrees on %s: %+v", fjs, ej(t, d), p)
			}
		}
	}
}
