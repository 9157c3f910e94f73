package mql

import (
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/wire/mongoerr"
)

// windowInput is two series, a (t 1..5, no v at t 3) and b (t 1..2), in no particular order.
var windowInput = []string{
	`{"_id": 1, "h": "a", "t": 1, "v": 1}`, `{"_id": 2, "h": "b", "t": 2, "v": 200}`, `{"_id": 3, "h": "a", "t": 3}`,
	`{"_id": 4, "h": "a", "t": 2, "v": 2}`, `{"_id": 5, "h": "a", "t": 5, "v": 10}`, `{"_id": 6, "h": "b", "t": 1, "v": 100}`,
	`{"_id": 7, "h": "a", "t": 4, "v": 4}`,
}

// TestSetWindowFields: window functions over partitions sorted by sortBy, with expectations
// worked out by hand (partition a in t order is _id 1, 4, 3, 7, 5 with v 1, 2, -, 4, 10).
func TestSetWindowFields(t *testing.T) {
	cases := []struct {
		name  string
		stage string
		input []string
		want  []string
	}{
		{"documents window, number, shift", `{"$setWindowFields": {"partitionBy": "$h", "sortBy": {"t": 1}, "output": {
			"sum2": {"$sum": "$v", "window": {"documents": [-1, 0]}}, "n": {"$documentNumber": {}},
			"prev": {"$shift": {"output": "$v", "by": -1, "default": -1}}}}}`, windowInput,
			[]string{`{"_id": 1, "sum2": 1, "n": 1, "prev": -1}`, `{"_id": 4, "sum2": 3, "n": 2, "prev": 1}`, `{"_id": 3, "sum2": 2, "n": 3, "prev": 2}`,
				`{"_id": 7, "sum2": 4, "n": 4, "prev": null}`, `{"_id": 5, "sum2": 14, "n": 5, "prev": 4}`,
				`{"_id": 6, "sum2": 100, "n": 1, "prev": -1}`, `{"_id": 2, "sum2": 300, "n": 2, "prev": 100}`}},
		{"fills, whole partition, range", `{"$setWindowFields": {"partitionBy": "$h", "sortBy": {"t": 1}, "output": {
			"filled": {"$linearFill": "$v"}, "locf": {"$locf": "$v"}, "total": {"$sum": "$v"},
			"rng": {"$count": {}, "window": {"range": [-1, 1]}}}}}`, windowInput,
			[]string{`{"_id": 1, "filled": 1, "locf": 1, "total": 17, "rng": 2}`, `{"_id": 4, "filled": 2, "locf": 2, "total": 17, "rng": 3}`,
				`{"_id": 3, "filled": 3.0, "locf": 2, "total": 17, "rng": 3}`, `{"_id": 7, "filled": 4, "locf": 4, "total": 17, "rng": 3}`,
				`{"_id": 5, "filled": 10, "locf": 10, "total": 17, "rng": 2}`,
				`{"_id": 6, "filled": 100, "locf": 100, "total": 300, "rng": 2}`, `{"_id": 2, "filled": 200, "locf": 200, "total": 300, "rng": 2}`}},
		{"rates and moving average", `{"$setWindowFields": {"partitionBy": "$h", "sortBy": {"t": 1}, "output": {
			"d": {"$derivative": {"input": "$v"}, "window": {"documents": [-1, 0]}},
			"i": {"$integral": {"input": "$v"}, "window": {"documents": ["unbounded", "current"]}},
			"ema": {"$expMovingAvg": {"input": "$v", "alpha": 0.5}}}}}`, windowInput,
			[]string{`{"_id": 1, "d": null, "i": 0.0, "ema": 1.0}`, `{"_id": 4, "d": 1.0, "i": 1.5, "ema": 1.5}`, `{"_id": 3, "d": null, "i": 1.5, "ema": null}`,
				`{"_id": 7, "d": null, "i": 1.5, "ema": 2.75}`, `{"_id": 5, "d": 6.0, "i": 8.5, "ema": 6.375}`,
				`{"_id": 6, "d": null, "i": 0.0, "ema": 100.0}`, `{"_id": 2, "d": 100.0, "i": 150.0, "ema": 150.0}`}},
		{"ranks with ties, no partition", `{"$setWindowFields": {"sortBy": {"h": 1}, "output": {
			"r": {"$rank": {}}, "dr": {"$denseRank": {}}, "n": {"$documentNumber": {}}}}}`, windowInput,
			[]string{`{"_id": 1, "r": 1, "dr": 1, "n": 1}`, `{"_id": 3, "r": 1, "dr": 1, "n": 2}`, `{"_id": 4, "r": 1, "dr": 1, "n": 3}`,
				`{"_id": 5, "r": 1, "dr": 1, "n": 4}`, `{"_id": 7, "r": 1, "dr": 1, "n": 5}`, `{"_id": 2, "r": 6, "dr": 2, "n": 6}`, `{"_id": 6, "r": 6, "dr": 2, "n": 7}`}},
		{"dates: range in seconds, rate per second", `{"$setWindowFields": {"sortBy": {"t": 1}, "output": {
			"rate": {"$derivative": {"input": "$v", "unit": "second"}, "window": {"range": [-2, 0], "unit": "second"}},
			"last2s": {"$max": "$v", "window": {"range": [-2, 0], "unit": "second"}}}}}`,
			[]string{`{"_id": 1, "t": {"$date": "1970-01-01T00:00:00Z"}, "v": 0}`, `{"_id": 2, "t": {"$date": "1970-01-01T00:00:02Z"}, "v": 10}`,
				`{"_id": 3, "t": {"$date": "1970-01-01T00:00:05Z"}, "v": 4}`},
			[]string{`{"_id": 1, "rate": null, "last2s": 0}`, `{"_id": 2, "rate": 5.0, "last2s": 10}`, `{"_id": 3, "rate": null, "last2s": 4}`}},
	}
	for _, c := range cases {
		got, err := runPipeline(t, []string{c.stage, `{"$project": {"h": 0, "t": 0, "v": 0}}`}, c.input, PipelineOptions{})
		require.NoError(t, err, c.name)
		require.Len(t, got, len(c.want), c.name)
		for i := range c.want {
			require.JSONEq(t, canon(t, c.want[i]), got[i], "%s: document %d", c.name, i)
		}
	}
}

// TestFill: $fill fills the missing v of partition a's t 3 by the last value, linearly between
// its neighbours, or with a constant, and leaves the present values as they are.
func TestFill(t *testing.T) {
	for _, c := range []struct {
		stage string
		v3    string
	}{
		{`{"$fill": {"partitionBy": "$h", "sortBy": {"t": 1}, "output": {"v": {"method": "locf"}}}}`, `2`},
		{`{"$fill": {"partitionByFields": ["h"], "sortBy": {"t": 1}, "output": {"v": {"method": "linear"}}}}`, `3.0`},
		{`{"$fill": {"output": {"v": {"value": 0}}}}`, `0`},
	} {
		got, err := runPipeline(t, []string{c.stage, `{"$match": {"h": "a"}}`, `{"$sort": {"t": 1}}`, `{"$project": {"_id": 0, "v": 1}}`}, windowInput, PipelineOptions{})
		require.NoError(t, err, c.stage)
		want := []string{`{"v": 1}`, `{"v": 2}`, `{"v": ` + c.v3 + `}`, `{"v": 4}`, `{"v": 10}`}
		require.Len(t, got, len(want), c.stage)
		for i := range want {
			require.JSONEq(t, canon(t, want[i]), got[i], c.stage)
		}
	}
	for stage, code := range map[string]mongoerr.Code{
		`{"$fill": {"sortBy": {"t": 1}}}`: mongoerr.IDLFailedToParse,
		`{"$fill": {"partitionBy": "$h", "partitionByFields": ["h"], "output": {"v": {"value": 0}}}}`: 6050204,
		`{"$fill": {"output": {"v": {"method": "locf"}}}}`:                                            6050201,
		`{"$fill": {"sortBy": {"t": 1}, "output": {"v": {"method": "spline"}}}}`:                      6050202,
		`{"$fill": {"output": {"v": {"value": 0, "method": "locf"}}}}`:                                6050203,
		`{"$fill": {"output": {"v": {"value": 0}}, "x": 1}}`:                                          mongoerr.IDLUnknownField,
	} {
		_, err := runPipeline(t, []string{stage}, windowInput, PipelineOptions{})
		var me *mongoerr.Error
		require.True(t, errors.As(err, &me), "%s: %v", stage, err)
		require.Equal(t, code, me.Code, stage)
	}
}

// TestSetWindowFieldsErrors: malformed specifications are refused before anything runs.
func TestSetWindowFieldsErrors(t *testing.T) {
	for _, stage := range []string{
		`{"$setWindowFields": 1}`,
		`{"$setWindowFields": {"sortBy": {"t": 1}}}`,
		`{"$setWindowFields": {"x": 1, "output": {}}}`,
		`{"$setWindowFields": {"output": {"a": {"$nope": "$v"}}}}`,
		`{"$setWindowFields": {"output": {"a": {"$documentNumber": {}}}}}`,
		`{"$setWindowFields": {"sortBy": {"t": 1}, "output": {"a": {"$sum": "$v", "window": {"documents": [1, -1]}}}}}`,
		`{"$setWindowFields": {"sortBy": {"t": 1}, "output": {"a": {"$sum": "$v", "window": {"documents": [0.5, 1]}}}}}`,
		`{"$setWindowFields": {"sortBy": {"t": 1}, "output": {"a": {"$sum": "$v", "window": {"documents": [0]}}}}}`,
		`{"$setWindowFields": {"sortBy": {"t": 1}, "output": {"a": {"$sum": "$v", "window": {"range": [0, 1], "unit": "year"}}}}}`,
		`{"$setWindowFields": {"sortBy": {"t": 1}, "output": {"a": {"$derivative": {"input": "$v"}}}}}`,
		`{"$setWindowFields": {"sortBy": {"t": 1}, "output": {"a": {"$expMovingAvg": {"input": "$v", "N": 2, "alpha": 0.5}}}}}`,
		`{"$setWindowFields": {"sortBy": {"t": 1}, "output": {"a": {"$shift": {"output": "$v", "by": 1.5}}}}}`,
		`{"$setWindowFields": {"sortBy": {"t": 1, "h": 1}, "output": {"a": {"$sum": "$v", "window": {"range": [0, 1]}}}}}`,
		`{"$setWindowFields": {"sortBy": {"t": 1}, "output": {"a": {"$sum": "$v", "$max": "$v"}}}}`,
	} {
		_, err := runPipeline(t, []string{stage}, windowInput, PipelineOptions{})
		var me *mongoerr.Error
		require.True(t, errors.As(err, &me), "%s: %v", stage, err)
	}
	// a partition larger than the memory allowed is refused, not held
	_, err := runPipeline(t, []string{`{"$setWindowFields": {"output": {"a": {"$sum": "$v"}}}}`}, windowInput, PipelineOptions{Sort: SortLimits{Memory: 50}})
	var me *mongoerr.Error
	require.True(t, errors.As(err, &me), "%v", err)
	require.Equal(t, mongoerr.QueryExceededMemoryLimitNoDiskUseAllowed, me.Code)
}

// TestDensify: gaps are filled with documents holding the field and the partition fields,
// within each partition's range, the whole input's, or given bounds (upper excluded); documents
// off the step grid and documents without the field pass through.
func TestDensify(t *testing.T) {
	in := []string{`{"h": "a", "x": 1}`, `{"h": "b", "x": 2}`, `{"h": "a", "x": 4}`, `{"h": "b", "x": 3}`, `{"h": "a"}`}
	cases := []struct {
		stage string
		input []string
		want  []string
	}{
		{`{"$densify": {"field": "x", "partitionByFields": ["h"], "range": {"step": 1, "bounds": "partition"}}}`, in,
			[]string{`{"h": "a", "x": 1}`, `{"x": 2, "h": "a"}`, `{"x": 3, "h": "a"}`, `{"h": "a", "x": 4}`, `{"h": "a"}`,
				`{"h": "b", "x": 2}`, `{"h": "b", "x": 3}`}},
		{`{"$densify": {"field": "x", "partitionByFields": ["h"], "range": {"step": 1, "bounds": "full"}}}`, in,
			[]string{`{"h": "a", "x": 1}`, `{"x": 2, "h": "a"}`, `{"x": 3, "h": "a"}`, `{"h": "a", "x": 4}`, `{"h": "a"}`,
				`{"x": 1, "h": "b"}`, `{"h": "b", "x": 2}`, `{"h": "b", "x": 3}`, `{"x": 4, "h": "b"}`}},
		{`{"$densify": {"field": "x", "range": {"step": 2, "bounds": [0, 5]}}}`, []string{`{"x": 1.5}`, `{"x": 4}`, `{"y": 1}`},
			[]string{`{"x": 0}`, `{"x": 1.5}`, `{"x": 2}`, `{"x": 4}`, `{"y": 1}`}},
		{`{"$densify": {"field": "t", "range": {"step": 1, "unit": "minute", "bounds": "full"}}}`,
			[]string{`{"t": {"$date": "2024-01-01T00:03:00Z"}, "v": 3}`, `{"t": {"$date": "2024-01-01T00:00:00Z"}, "v": 0}`},
			[]string{`{"t": {"$date": "2024-01-01T00:00:00Z"}, "v": 0}`, `{"t": {"$date": "2024-01-01T00:01:00Z"}}`,
				`{"t": {"$date": "2024-01-01T00:02:00Z"}}`, `{"t": {"$date": "2024-01-01T00:03:00Z"}, "v": 3}`}},
	}
	for _, c := range cases {
		got, err := runPipeline(t, []string{c.stage}, c.input, PipelineOptions{})
		require.NoError(t, err, c.stage)
		require.Len(t, got, len(c.want), "%s: %v", c.stage, got)
		for i := range c.want {
			require.JSONEq(t, canon(t, c.want[i]), got[i], "%s: document %d", c.stage, i)
		}
	}
	for _, stage := range []string{
		`{"$densify": {"range": {"step": 1, "bounds": "full"}}}`,
		`{"$densify": {"field": "x"}}`,
		`{"$densify": {"field": "x", "range": {"step": 0, "bounds": "full"}}}`,
		`{"$densify": {"field": "x", "range": {"step": 1, "bounds": "all"}}}`,
		`{"$densify": {"field": "x", "range": {"step": 1, "bounds": [5, 1]}}}`,
		`{"$densify": {"field": "x", "range": {"step": 1, "unit": "month", "bounds": "full"}}}`,
		`{"$densify": {"field": "$x", "range": {"step": 1, "bounds": "full"}}}`,
	} {
		_, err := runPipeline(t, []string{stage}, in, PipelineOptions{})
		var me *mongoerr.Error
		require.True(t, errors.As(err, &me), "%s: %v", stage, err)
	}
	_, err := runPipeline(t, []string{`{"$densify": {"field": "h", "range": {"step": 1, "bounds": "full"}}}`}, in, PipelineOptions{})
	var me *mongoerr.Error
	require.True(t, errors.As(err, &me), "a string field: %v", err)
	require.EqualValues(t, 5733201, me.Code)
	_, err = runPipeline(t, []string{`{"$densify": {"field": "x", "range": {"step": 0.0001, "bounds": [0, 1000]}}}`}, in, PipelineOptions{})
	require.True(t, errors.As(err, &me), "ten million documents: %v", err)
	require.EqualValues(t, 5897900, me.Code, "refused past 500000 added documents")
}

// TestSetWindowFieldsModel checks window sums against a direct computation in the test, on random
// data, for cumulative, sliding document and range windows in both sort directions.
func TestSetWindowFieldsModel(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	var input []string
	type row struct{ x, v int }
	var rows []row
	for i := range 300 {
		x, v := r.IntN(100), r.IntN(50)-10
		rows = append(rows, row{x, v})
		input = append(input, fmt.Sprintf(`{"_id": %d, "x": %d, "v": %d}`, i, x, v))
	}
	for _, c := range []struct {
		dir    int
		window string
		in     func(rows []row, i, j int) bool // whether sorted row j is in sorted row i's window
	}{
		{1, `{"documents": ["unbounded", "current"]}`, func(_ []row, i, j int) bool { return j <= i }},
		{-1, `{"documents": [-3, 2]}`, func(_ []row, i, j int) bool { return j >= i-3 && j <= i+2 }},
		{1, `{"range": [-5, 3]}`, func(rs []row, i, j int) bool { return rs[j].x >= rs[i].x-5 && rs[j].x <= rs[i].x+3 }},
		{-1, `{"range": [-5, 3]}`, func(rs []row, i, j int) bool { return rs[j].x >= rs[i].x-5 && rs[j].x <= rs[i].x+3 }},
		{1, `{"range": ["unbounded", 0]}`, func(rs []row, i, j int) bool { return rs[j].x <= rs[i].x }},
	} {
		stage := fmt.Sprintf(`{"$setWindowFields": {"sortBy": {"x": %d}, "output": {"s": {"$sum": "$v", "window": %s}}}}`, c.dir, c.window)
		got, err := runPipeline(t, []string{stage}, input, PipelineOptions{})
		require.NoError(t, err, stage)
		sorted := slices.Clone(rows)
		idx := make([]int, len(rows))
		for i := range idx {
			idx[i] = i
		}
		slices.SortStableFunc(idx, func(a, b int) int { return c.dir * cmp.Compare(rows[a].x, rows[b].x) })
		for i, j := range idx {
			sorted[i] = rows[j]
		}
		for i := range sorted {
			want := 0
			for j := range sorted {
				if c.in(sorted, i, j) {
					want += sorted[j].v
				}
			}
			var d bson.M
			require.NoError(t, bson.UnmarshalExtJSON([]byte(got[i]), false, &d))
			require.EqualValues(t, idx[i], d["_id"], "%s: order", stage)
			require.EqualValues(t, want, d["s"], "%s: document %d", stage, i)
		}
	}
}
