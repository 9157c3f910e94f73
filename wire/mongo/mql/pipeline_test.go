package mql

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/wire/mongoerr"
)

var stageInput = []string{
	`{"_id": 1, "k": "a", "v": 1, "arr": [1, 2]}`,
	`{"_id": 2, "k": "b", "v": 2.5, "arr": []}`,
	`{"_id": 3, "k": "a", "v": {"$numberLong": "3"}}`,
	`{"_id": 4, "k": "a", "v": null, "arr": "x"}`,
}

func TestStages(t *testing.T) {
	cases := []struct {
		name   string
		stages []string
		want   []string
	}{
		{"match", []string{`{"$match": {"k": "a", "v": {"$gte": 2}}}`}, []string{`{"_id": 3, "k": "a", "v": {"$numberLong": "3"}}`}},
		{"sort limit skip", []string{`{"$sort": {"_id": -1}}`, `{"$skip": 1}`, `{"$limit": 2}`, `{"$project": {"_id": 1}}`},
			[]string{`{"_id": 3}`, `{"_id": 2}`}},
		{"limit then sort", []string{`{"$limit": 2}`, `{"$sort": {"_id": -1}}`, `{"$project": {"_id": 1}}`}, []string{`{"_id": 2}`, `{"_id": 1}`}},
		{"group", []string{`{"$group": {"_id": "$k", "sum": {"$sum": "$v"}, "avg": {"$avg": "$v"}, "min": {"$min": "$v"},
			"max": {"$max": "$v"}, "first": {"$first": "$v"}, "last": {"$last": "$v"}, "n": {"$count": {}}, "p": {"$push": "$_id"},
			"ones": {"$sum": 1}}}`, `{"$sort": {"_id": 1}}`},
			[]string{`{"_id": "a", "sum": {"$numberLong": "4"}, "avg": 2.0, "min": 1, "max": {"$numberLong": "3"}, "first": 1, "last": null, "n": 3, "p": [1, 3, 4], "ones": 3}`,
				`{"_id": "b", "sum": 2.5, "avg": 2.5, "min": 2.5, "max": 2.5, "first": 2.5, "last": 2.5, "n": 1, "p": [2], "ones": 1}`}},
		{"group null and empty", []string{`{"$match": {"v": null}}`, `{"$group": {"_id": null, "s": {"$sum": "$v"}, "a": {"$avg": "$v"}, "m": {"$max": "$v"}}}`},
			[]string{`{"_id": null, "s": 0, "a": null, "m": null}`}},
		{"group doc key numbers merge", []string{`{"$group": {"_id": {"x": {"$cond": [{"$eq": ["$k", "a"]}, 1, 1.0]}}, "s": {"$addToSet": "$k"}}}`},
			[]string{`{"_id": {"x": 1}, "s": ["a", "b"]}`}},
		{"addFields set unset", []string{`{"$addFields": {"w": {"$multiply": ["$_id", 10]}, "o.p": 1}}`, `{"$set": {"_id": "$w"}}`, `{"$unset": ["k", "v", "arr", "w"]}`, `{"$limit": 1}`},
			[]string{`{"_id": 10, "o": {"p": 1}}`}},
		{"count", []string{`{"$match": {"k": "a"}}`, `{"$count": "n"}`}, []string{`{"n": 3}`}},
		{"count empty", []string{`{"$match": {"k": "zz"}}`, `{"$count": "n"}`}, nil},
		{"unwind", []string{`{"$unwind": "$arr"}`, `{"$project": {"arr": 1}}`}, []string{`{"_id": 1, "arr": 1}`, `{"_id": 1, "arr": 2}`, `{"_id": 4, "arr": "x"}`}},
		{"unwind preserve index", []string{`{"$unwind": {"path": "$arr", "preserveNullAndEmptyArrays": true, "includeArrayIndex": "i"}}`, `{"$project": {"arr": 1, "i": 1}}`},
			[]string{`{"_id": 1, "arr": 1, "i": {"$numberLong": "0"}}`, `{"_id": 1, "arr": 2, "i": {"$numberLong": "1"}}`, `{"_id": 2, "i": null}`, `{"_id": 3, "i": null}`, `{"_id": 4, "arr": "x", "i": null}`}},
		{"replaceRoot", []string{`{"$match": {"_id": 1}}`, `{"$replaceRoot": {"newRoot": {"id": "$_id", "k": "$k"}}}`}, []string{`{"id": 1, "k": "a"}`}},
		{"sortByCount", []string{`{"$sortByCount": "$k"}`}, []string{`{"_id": "a", "count": 3}`, `{"_id": "b", "count": 1}`}},
		{"sortByCount expression", []string{`{"$sortByCount": {"$gt": ["$_id", 3]}}`}, []string{`{"_id": false, "count": 3}`, `{"_id": true, "count": 1}`}},
		{"bucket", []string{`{"$bucket": {"groupBy": "$_id", "boundaries": [0, 2, 10]}}`}, []string{`{"_id": 0, "count": 1}`, `{"_id": 2, "count": 3}`}},
		{"bucket default output", []string{`{"$bucket": {"groupBy": "$v", "boundaries": [0, 2], "default": "other",
			"output": {"n": {"$sum": 1}, "ids": {"$push": "$_id"}}}}`},
			[]string{`{"_id": 0, "n": 1, "ids": [1]}`, `{"_id": "other", "n": 3, "ids": [2, 3, 4]}`}},
		{"n accumulators", []string{`{"$group": {"_id": "$k", "f": {"$firstN": {"input": "$_id", "n": 2}}, "l": {"$lastN": {"input": "$_id", "n": 2}},
			"mx": {"$maxN": {"input": "$v", "n": 2}}, "mn": {"$minN": {"input": "$v", "n": 5}},
			"t": {"$top": {"sortBy": {"v": -1}, "output": "$_id"}}, "bt": {"$bottom": {"sortBy": {"v": -1}, "output": "$_id"}},
			"tn": {"$topN": {"sortBy": {"_id": -1}, "output": "$_id", "n": 2}}, "bn": {"$bottomN": {"sortBy": {"_id": -1}, "output": "$_id", "n": 2.0}}}}`,
			`{"$sort": {"_id": 1}}`},
			[]string{`{"_id": "a", "f": [1, 3], "l": [3, 4], "mx": [{"$numberLong": "3"}, 1], "mn": [1, {"$numberLong": "3"}], "t": 3, "bt": 4, "tn": [4, 3], "bn": [3, 1]}`,
				`{"_id": "b", "f": [2], "l": [2], "mx": [2.5], "mn": [2.5], "t": 2, "bt": 2, "tn": [2], "bn": [2]}`}},
		{"facet", []string{`{"$facet": {"byK": [{"$sortByCount": "$k"}], "top": [{"$sort": {"_id": -1}}, {"$limit": 1}, {"$project": {"_id": 1}}],
			"n": [{"$count": "n"}], "none": [{"$match": {"k": "zz"}}]}}`},
			[]string{`{"byK": [{"_id": "a", "count": 3}, {"_id": "b", "count": 1}], "top": [{"_id": 4}], "n": [{"n": 4}], "none": []}`}},
		{"project computed", []string{`{"$match": {"_id": 2}}`, `{"$project": {"_id": 0, "k": 1, "twice": {"$multiply": ["$v", 2]}}}`}, []string{`{"k": "b", "twice": 5.0}`}},
	}
	for _, c := range cases {
		got, err := runPipeline(t, c.stages, stageInput, PipelineOptions{})
		require.NoError(t, err, c.name)
		require.Len(t, got, len(c.want), c.name)
		for i := range c.want {
			require.JSONEq(t, canon(t, c.want[i]), got[i], c.name)
		}
	}
}

func TestPipelineErrors(t *testing.T) {
	cases := []struct {
		stage string
		code  mongoerr.Code
	}{
		{`{"$foo": {}}`, 40324},
		{`{"$match": {}, "$sort": {"a": 1}}`, 40323},
		{`{"$limit": 0}`, 15958},
		{`{"$sort": {}}`, 15976},
		{`{"$sort": {"a": 0}}`, 15975},
		{`{"$group": {"s": {"$sum": 1}}}`, 15955},
		{`{"$group": {"_id": null, "s": {"$foo": 1}}}`, 15952},
		{`{"$group": {"_id": null, "s": 1}}`, 40234},
		{`{"$unwind": "arr"}`, 28818},
		{`{"$project": {"a": 1, "b": 0}}`, 31254},
		{`{"$timeWindow": {"window": "1y", "timestamp": "$t"}}`, mongoerr.FailedToParse},
		{`{"$sortByCount": "k"}`, 40148},
		{`{"$sortByCount": {"a": 1}}`, 40148},
		{`{"$sortByCount": 5}`, 40149},
		{`{"$bucket": 1}`, 40201},
		{`{"$bucket": {"groupBy": "$v"}}`, 40198},
		{`{"$bucket": {"groupBy": "$v", "boundaries": [1]}}`, 40192},
		{`{"$bucket": {"groupBy": "$v", "boundaries": [1, "a"]}}`, 40193},
		{`{"$bucket": {"groupBy": "$v", "boundaries": [2, 1]}}`, 40194},
		{`{"$bucket": {"groupBy": "$v", "boundaries": [0, 5], "default": 3}}`, 40199},
		{`{"$bucket": {"groupBy": "v", "boundaries": [0, 5]}}`, 40202},
		{`{"$bucket": {"groupBy": "$v", "boundaries": [0, 5], "x": 1}}`, 40197},
		{`{"$bucket": {"groupBy": "$v", "boundaries": 5}}`, 40200},
		{`{"$bucket": {"groupBy": "$v", "boundaries": [0, 5], "output": 1}}`, 40196},
		{`{"$sample": 1}`, 28745},
		{`{"$sample": {}}`, 28749},
		{`{"$sample": {"size": "a"}}`, 28746},
		{`{"$sample": {"size": -1}}`, 28747},
		{`{"$sample": {"size": 1, "x": 1}}`, 28748},
		{`{"$group": {"_id": 1, "x": {"$firstN": {"input": "$v"}}}}`, 5787906},
		{`{"$group": {"_id": 1, "x": {"$firstN": {"n": 1}}}}`, 5787907},
		{`{"$group": {"_id": 1, "x": {"$lastN": {"n": 1, "input": "$v", "y": 1}}}}`, 5787901},
		{`{"$group": {"_id": 1, "x": {"$top": {"output": "$v"}}}}`, 5788003},
		{`{"$group": {"_id": 1, "x": {"$topN": {"sortBy": {"v": 1}, "n": 2}}}}`, 5788004},
		{`{"$group": {"_id": 1, "x": {"$bottom": {"sortBy": {"v": 1}, "output": "$v", "n": 2}}}}`, 5788002},
		{`{"$group": {"_id": 1, "x": {"$maxN": 5}}}`, 5787801},
		{`{"$facet": 1}`, 15947},
		{`{"$facet": {}}`, 40169},
		{`{"$facet": {"a": 1}}`, 40170},
		{`{"$facet": {"a": []}}`, 40171},
		{`{"$facet": {"a": [{"$facet": {"b": [{"$limit": 1}]}}]}}`, 40600},
		{`{"$facet": {"$a": [{"$limit": 1}]}}`, 16410},
		{`{"$facet": {"a.b": [{"$limit": 1}]}}`, 16412},
		{`{"$facet": {"a": [{"$nope": 1}]}}`, 40324},
	}
	for _, c := range cases {
		_, err := CompilePipeline([]bson.Raw{doc(t, c.stage)}, PipelineOptions{})
		var me *mongoerr.Error
		require.True(t, errors.As(err, &me), "%s: %v", c.stage, err)
		require.Equal(t, c.code, me.Code, c.stage)
	}
	_, err := CompilePipeline([]bson.Raw{doc(t, `{"$foo": 1}`)}, PipelineOptions{})
	require.EqualError(t, err, "Location40324 (40324): Unrecognized pipeline stage name: '$foo'")
}

// TestNAccumulatorBadN: n is checked on a group's first document: a positive integer.
func TestNAccumulatorBadN(t *testing.T) {
	for n, code := range map[string]mongoerr.Code{`0`: 5787908, `-2`: 5787908, `"a"`: 5787902, `1.5`: 5787902} {
		_, err := runPipeline(t, []string{`{"$group": {"_id": null, "x": {"$firstN": {"input": "$v", "n": ` + n + `}}}}`}, stageInput, PipelineOptions{})
		var me *mongoerr.Error
		require.True(t, errors.As(err, &me), "n %s: %v", n, err)
		require.Equal(t, code, me.Code, "n %s", n)
	}
}

// TestPercentiles: $percentile and $median give the nearest-rank value (approximate, discrete)
// or interpolate (continuous), ignore non-numbers, and are null for a group without numbers.
func TestPercentiles(t *testing.T) {
	var in []string
	for i := 1; i <= 10; i++ {
		in = append(in, fmt.Sprintf(`{"g": 1, "v": %d}`, 11-i))
	}
	in = append(in, `{"g": 1, "v": "x"}`, `{"g": 2, "v": null}`)
	got, err := runPipeline(t, []string{`{"$group": {"_id": "$g",
		"p": {"$percentile": {"input": "$v", "p": [0, 0.5, 0.9, 1], "method": "approximate"}},
		"pc": {"$percentile": {"input": "$v", "p": [0.9], "method": "continuous"}},
		"m": {"$median": {"input": "$v", "method": "approximate"}}}}`, `{"$sort": {"_id": 1}}`}, in, PipelineOptions{})
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.JSONEq(t, canon(t, `{"_id": 1, "p": [1.0, 5.0, 9.0, 10.0], "pc": [9.1], "m": 5.0}`), roundFloats(t, got[0]))
	require.JSONEq(t, canon(t, `{"_id": 2, "p": [null, null, null, null], "pc": [null], "m": null}`), got[1])
	for stage, code := range map[string]mongoerr.Code{
		`{"$group": {"_id": 1, "p": {"$percentile": {"input": "$v", "p": [1.5], "method": "approximate"}}}}`: 7750301,
		`{"$group": {"_id": 1, "p": {"$percentile": {"input": "$v", "p": 0.5, "method": "approximate"}}}}`:   7750301,
		`{"$group": {"_id": 1, "p": {"$percentile": {"input": "$v", "method": "approximate"}}}}`:             mongoerr.IDLFailedToParse,
		`{"$group": {"_id": 1, "m": {"$median": {"input": "$v"}}}}`:                                          mongoerr.IDLFailedToParse,
		`{"$group": {"_id": 1, "m": {"$median": {"input": "$v", "method": "tdigest"}}}}`:                     mongoerr.BadValue,
		`{"$group": {"_id": 1, "m": {"$median": {"input": "$v", "method": "approximate", "p": [0.5]}}}}`:     mongoerr.IDLUnknownField,
	} {
		_, err := CompilePipeline([]bson.Raw{doc(t, stage)}, PipelineOptions{})
		var me *mongoerr.Error
		require.True(t, errors.As(err, &me), "%s: %v", stage, err)
		require.Equal(t, code, me.Code, stage)
	}
}

// roundFloats rounds the doubles of an extended JSON document to 9 decimals (9.1 computed by
// interpolation is 9.099999999999999).
func roundFloats(t *testing.T, ej string) string {
	t.Helper()
	re := regexp.MustCompile(`"\$numberDouble":"([0-9.eE+-]+)"`)
	return re.ReplaceAllStringFunc(ej, func(m string) string {
		f, err := strconv.ParseFloat(re.FindStringSubmatch(m)[1], 64)
		require.NoError(t, err)
		out := strconv.FormatFloat(math.Round(f*1e9)/1e9, 'g', -1, 64)
		if !strings.ContainsAny(out, ".eE") {
			out += ".0"
		}
		return `"$numberDouble":"` + out + `"`
	})
}

// TestBucketAuto: documents sorted by groupBy split into buckets of about equal counts, equal
// values never split, the last bucket taking the rest; max is the next bucket's min.
func TestBucketAuto(t *testing.T) {
	var in []string
	for _, v := range []int{5, 2, 1, 6, 2, 4, 2, 3} {
		in = append(in, fmt.Sprintf(`{"v": %d}`, v))
	}
	cases := []struct {
		stage string
		input []string
		want  []string
	}{
		{`{"$bucketAuto": {"groupBy": "$v", "buckets": 3}}`, in, []string{`{"_id": {"min": 1, "max": 3}, "count": 4}`,
			`{"_id": {"min": 3, "max": 6}, "count": 3}`, `{"_id": {"min": 6, "max": 6}, "count": 1}`}},
		{`{"$bucketAuto": {"groupBy": "$v", "buckets": 2, "output": {"s": {"$sum": "$v"}}}}`, in,
			[]string{`{"_id": {"min": 1, "max": 3}, "s": 7}`, `{"_id": {"min": 3, "max": 6}, "s": 18}`}},
		{`{"$bucketAuto": {"groupBy": "$v", "buckets": 10}}`, in[:3], []string{`{"_id": {"min": 1, "max": 2}, "count": 1}`,
			`{"_id": {"min": 2, "max": 5}, "count": 1}`, `{"_id": {"min": 5, "max": 5}, "count": 1}`}},
	}
	for _, c := range cases {
		got, err := runPipeline(t, []string{c.stage}, c.input, PipelineOptions{})
		require.NoError(t, err, c.stage)
		require.Len(t, got, len(c.want), "%s: %v", c.stage, got)
		for i := range c.want {
			require.JSONEq(t, canon(t, c.want[i]), got[i], c.stage)
		}
	}
	for stage, code := range map[string]mongoerr.Code{
		`{"$bucketAuto": 1}`:                                                    40240,
		`{"$bucketAuto": {"groupBy": "$v"}}`:                                    40246,
		`{"$bucketAuto": {"groupBy": "v", "buckets": 2}}`:                       40239,
		`{"$bucketAuto": {"groupBy": "$v", "buckets": "a"}}`:                    40241,
		`{"$bucketAuto": {"groupBy": "$v", "buckets": 0}}`:                      40243,
		`{"$bucketAuto": {"groupBy": "$v", "buckets": 2, "x": 1}}`:              40245,
		`{"$bucketAuto": {"groupBy": "$v", "buckets": 2, "output": 1}}`:         40244,
		`{"$bucketAuto": {"groupBy": "$v", "buckets": 2, "granularity": "R7"}}`: 40257,
		`{"$bucketAuto": {"groupBy": "$v", "buckets": 2, "granularity": 5}}`:    40261,
	} {
		_, err := CompilePipeline([]bson.Raw{doc(t, stage)}, PipelineOptions{})
		var me *mongoerr.Error
		require.True(t, errors.As(err, &me), "%s: %v", stage, err)
		require.Equal(t, code, me.Code, stage)
	}
}

// TestSubPipelineDepth: sub-pipelines nest 20 deep at most ($unionWith in $unionWith, $facet in
// $unionWith...), so a small request cannot make the server read a collection without end.
func TestSubPipelineDepth(t *testing.T) {
	nest := func(depth int) string {
		stage := `{"$limit": 1}`
		for range depth {
			stage = `{"$unionWith": {"coll": "c", "pipeline": [` + stage + `]}}`
		}
		return stage
	}
	_, err := CompilePipeline([]bson.Raw{doc(t, nest(20))}, PipelineOptions{})
	require.NoError(t, err, "20 levels")
	_, err = CompilePipeline([]bson.Raw{doc(t, nest(21))}, PipelineOptions{})
	var me *mongoerr.Error
	require.True(t, errors.As(err, &me), "21 levels: %v", err)
	require.Contains(t, me.Msg, "Maximum number of nested sub-pipelines exceeded")
	_, err = CompilePipeline([]bson.Raw{doc(t, `{"$facet": {"a": [`+nest(20)+`]}}`)}, PipelineOptions{})
	require.True(t, errors.As(err, &me), "a $facet around 20 levels: %v", err)
}

// TestBucketOutsideBoundaries: without a default, a value outside every bucket fails the
// aggregation as MongoDB's $bucket does (its $switch finds no branch: 40066).
func TestBucketOutsideBoundaries(t *testing.T) {
	_, err := runPipeline(t, []string{`{"$bucket": {"groupBy": "$_id", "boundaries": [0, 3]}}`}, stageInput, PipelineOptions{})
	var me *mongoerr.Error
	require.True(t, errors.As(err, &me), "%v", err)
	require.EqualValues(t, 40066, me.Code)
}

// TestSample: $sample returns size distinct input documents (all of them when there are fewer),
// each input document equally likely: over 4000 runs of size 1 on 4 documents each comes out
// 1000 times give or take 150 (more than 5 standard deviations).
func TestSample(t *testing.T) {
	got, err := runPipeline(t, []string{`{"$sample": {"size": 10}}`}, stageInput, PipelineOptions{})
	require.NoError(t, err)
	require.Len(t, got, 4, "all of the fewer documents")
	got, err = runPipeline(t, []string{`{"$sample": {"size": 2}}`, `{"$project": {"_id": 1}}`}, stageInput, PipelineOptions{})
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.NotEqual(t, got[0], got[1], "distinct documents")
	got, err = runPipeline(t, []string{`{"$sample": {"size": 0}}`}, stageInput, PipelineOptions{})
	require.NoError(t, err)
	require.Empty(t, got)
	counts := map[string]int{}
	for range 4000 {
		got, err := runPipeline(t, []string{`{"$sample": {"size": 1}}`, `{"$project": {"_id": 1}}`}, stageInput, PipelineOptions{})
		require.NoError(t, err)
		require.Len(t, got, 1)
		counts[got[0]]++
	}
	require.Len(t, counts, 4)
	for id, n := range counts {
		require.InDelta(t, 1000, n, 150, "document %s", id)
	}
	_, err = runPipeline(t, []string{`{"$sample": {"size": 4}}`}, stageInput, PipelineOptions{Sort: SortLimits{Memory: 10}})
	var me *mongoerr.Error
	require.True(t, errors.As(err, &me), "%v", err)
	require.Equal(t, mongoerr.QueryExceededMemoryLimitNoDiskUseAllowed, me.Code)
}

func TestLeadingMatch(t *testing.T) {
	p, err := CompilePipeline([]bson.Raw{doc(t, `{"$match": {"a": 1}}`), doc(t, `{"$match": {"b": 2}}`), doc(t, `{"$limit": 1}`), doc(t, `{"$match": {"c": 3}}`)}, PipelineOptions{})
	require.NoError(t, err)
	require.JSONEq(t, canon(t, `{"$and": [{"a": 1}, {"b": 2}]}`), ej(t, p.LeadingMatch()))
	p, err = CompilePipeline([]bson.Raw{doc(t, `{"$match": {"a": 1}}`)}, PipelineOptions{})
	require.NoError(t, err)
	require.JSONEq(t, canon(t, `{"a": 1}`), ej(t, p.LeadingMatch()))
	p, err = CompilePipeline([]bson.Raw{doc(t, `{"$limit": 1}`), doc(t, `{"$match": {"a": 1}}`)}, PipelineOptions{})
	require.NoError(t, err)
	require.Nil(t, p.LeadingMatch())
}

func TestLimitStopsInput(t *testing.T) {
	p, err := CompilePipeline([]bson.Raw{doc(t, `{"$limit": 2}`)}, PipelineOptions{})
	require.NoError(t, err)
	produced, got := 0, 0
	err = p.Run(func(yield func(bson.Raw) error) error {
		for i := 0; i < 1000; i++ {
			produced++
			if err := yield(doc(t, `{"a": 1}`)); err != nil {
				return err
			}
		}
		return nil
	}, func(bson.Raw) error { got++; return nil })
	require.NoError(t, err)
	require.Equal(t, 2, got)
	require.Equal(t, 2, produced)
}

// The seed's example: hourly averages and maxima for room1 on 2023-03-09, sorted by window.
func TestTimeWindowSeedExample(t *testing.T) {
	input := []string{
		`{"timestamp": {"$date": "2023-03-09T00:10:00Z"}, "tags": {"location": "room1"}, "temperature": 20.0}`,
		`{"timestamp": {"$date": "2023-03-09T00:50:00Z"}, "tags": {"location": "room1"}, "temperature": 22.0}`,
		`{"timestamp": {"$date": "2023-03-09T12:00:00Z"}, "tags": {"location": "room1"}, "temperature": 25.3}`,
		`{"timestamp": {"$date": "2023-03-09T12:59:59.999Z"}, "tags": {"location": "room1"}, "temperature": 26}`,
		`{"timestamp": {"$date": "2023-03-09T12:30:00Z"}, "tags": {"location": "room2"}, "temperature": 99.0}`,
		`{"timestamp": {"$date": "2023-03-10T00:00:00Z"}, "tags": {"location": "room1"}, "temperature": 99.0}`,
		`{"timestamp": {"$date": "2023-03-09T05:00:00Z"}, "tags": {"location": "room1"}}`,
	}
	stages := []string{
		`{"$match": {"tags.location": "room1", "timestamp": {"$gte": {"$date": "2023-03-09T00:00:00Z"}, "$lt": {"$date": "2023-03-10T00:00:00Z"}}}}`,
		`{"$timeWindow": {"timestamp": "$timestamp", "window": "1h", "output": {"avgTemp": {"$avg": "$temperature"}, "maxTemp": {"$max": "$temperature"}}}}`,
		`{"$sort": {"_id.timestamp": 1}}`,
	}
	got, err := runPipeline(t, stages, input, PipelineOptions{TimeField: "timestamp", MetaField: "tags"})
	require.NoError(t, err)
	want := []string{
		`{"_id": {"timestamp": {"$date": "2023-03-09T00:00:00Z"}}, "avgTemp": 21.0, "maxTemp": 22.0}`,
		`{"_id": {"timestamp": {"$date": "2023-03-09T05:00:00Z"}}, "avgTemp": null, "maxTemp": null}`,
		`{"_id": {"timestamp": {"$date": "2023-03-09T12:00:00Z"}}, "avgTemp": 25.65, "maxTemp": 26}`,
	}
	require.Len(t, got, len(want))
	for i := range want {
		require.JSONEq(t, canon(t, want[i]), got[i])
	}
}

func TestTimeWindowPartitionOffset(t *testing.T) {
	input := []string{
		`{"t": {"$date": "2023-03-09T00:20:00Z"}, "m": {"r": "b"}, "x": 1}`,
		`{"t": {"$date": "2023-03-09T00:10:00Z"}, "m": {"r": "a"}, "x": 2}`,
		`{"t": {"$date": "2023-03-09T00:14:59Z"}, "m": {"r": "a"}, "x": 3}`,
		`{"t": {"$date": "2023-03-09T00:15:00Z"}, "m": {"r": "a"}, "x": 4}`,
	}
	got, err := runPipeline(t, []string{`{"$timeWindow": {"window": "30m", "offset": "15m", "partitionBy": "$m.r", "output": {"s": {"$sum": "$x"}, "n": {"$count": {}}}}}`},
		input, PipelineOptions{TimeField: "t", MetaField: "m"})
	require.NoError(t, err)
	want := []string{
		`{"_id": {"timestamp": {"$date": "2023-03-08T23:45:00Z"}, "partition": "a"}, "s": 5, "n": 2}`,
		`{"_id": {"timestamp": {"$date": "2023-03-09T00:15:00Z"}, "partition": "a"}, "s": 4, "n": 1}`,
		`{"_id": {"timestamp": {"$date": "2023-03-09T00:15:00Z"}, "partition": "b"}, "s": 1, "n": 1}`,
	}
	require.Len(t, got, len(want))
	for i := range want {
		require.JSONEq(t, canon(t, want[i]), got[i])
	}
	for s, ms := range map[string]int64{"1h30m": 5400000, "90s": 90000, "-15m": -900000, "2d": 172800000, "1w": 604800000, "250ms": 250, "1.5h": 5400000} {
		n, ok := parseDuration(vString(s))
		require.True(t, ok, s)
		require.Equal(t, ms, n, s)
	}
}

func FuzzCompilePipeline(f *testing.F) {
	for _, s := range []string{`{"$match": {"a": 1}}`, `{"$group": {"_id": "$a", "n": {"$sum": 1}}}`,
		`{"$timeWindow": {"window": "1h", "output": {"a": {"$avg": "$v"}}}}`, `{"$project": {"x": {"$dateTrunc": {"date": "$t", "unit": "week"}}}}`,
		`{"$unwind": {"path": "$arr", "preserveNullAndEmptyArrays": true}}`, `{"$addFields": {"y": {"$dateToString": {"date": "$t", "format": "%Y"}}}}`,
		`{"$sortByCount": "$a"}`, `{"$bucket": {"groupBy": "$v", "boundaries": [0, 1, 3], "default": "x"}}`, `{"$sample": {"size": 1}}`,
		`{"$facet": {"a": [{"$count": "n"}], "b": [{"$limit": 1}]}}`,
		`{"$group": {"_id": null, "t": {"$topN": {"sortBy": {"v": 1}, "output": "$a", "n": 2}}, "f": {"$firstN": {"input": "$v", "n": 1}}}}`,
		`{"$setWindowFields": {"sortBy": {"t": 1}, "output": {"s": {"$sum": "$v", "window": {"range": [-1, 0], "unit": "hour"}}, "d": {"$derivative": {"input": "$v", "unit": "second"}, "window": {"documents": [-1, 0]}}}}}`,
		`{"$fill": {"sortBy": {"t": 1}, "output": {"v": {"method": "linear"}}}}`,
		`{"$densify": {"field": "v", "range": {"step": 0.5, "bounds": [0, 3]}}}`,
		`{"$bucketAuto": {"groupBy": "$v", "buckets": 2, "output": {"m": {"$median": {"input": "$v", "method": "approximate"}}}}}`,
		`{"$unionWith": {"coll": "x", "pipeline": [{"$limit": 1}]}}`} {
		f.Add([]byte(doc(f, s)))
	}
	input := []bson.Raw{doc(f, `{"t": {"$date": "2023-01-01T00:00:00Z"}, "a": [1, {"b": 2}], "v": 2.5, "arr": [1, 2]}`), doc(f, `{"a": "x"}`)}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := CompilePipeline([]bson.Raw{b}, PipelineOptions{TimeField: "t", MetaField: "m"})
		if err != nil {
			return
		}
		_ = p.Run(func(yield func(bson.Raw) error) error {
			for _, d := range input {
				if err := yield(d); err != nil {
					return err
				}
			}
			return nil
		}, func(bson.Raw) error { return nil })
	})
}

// TestBucketAutoGranularity: boundaries from a preferred number series, worked out by hand from
// MongoDB's rules (each bucket takes its share, then the values below its last value rounded up;
// the first minimum is rounded down; a bucket of zeros ends at the next value rounded down).
func TestBucketAutoGranularity(t *testing.T) {
	seq := func(vals ...string) []string {
		var out []string
		for _, v := range vals {
			out = append(out, `{"v": `+v+`}`)
		}
		return out
	}
	ten := seq("3", "1", "2", "10", "4", "5", "6", "7", "8", "9")
	cases := []struct {
		stage string
		input []string
		want  []string
	}{
		{`{"$bucketAuto": {"groupBy": "$v", "buckets": 3, "granularity": "R5"}}`, ten, []string{
			`{"_id": {"min": 0.63, "max": 4.0}, "count": 3}`, `{"_id": {"min": 4.0, "max": 6.3}, "count": 3}`,
			`{"_id": {"min": 6.3, "max": 16.0}, "count": 4}`}},
		{`{"$bucketAuto": {"groupBy": "$v", "buckets": 2, "granularity": "POWERSOF2"}}`, ten, []string{
			`{"_id": {"min": 0.5, "max": 8.0}, "count": 7}`, `{"_id": {"min": 8.0, "max": 16.0}, "count": 3}`}},
		{`{"$bucketAuto": {"groupBy": "$v", "buckets": 2, "granularity": "R5"}}`, seq("0", "5", "0", "5", "0", "5"), []string{
			`{"_id": {"min": 0.0, "max": 4.0}, "count": 3}`, `{"_id": {"min": 4.0, "max": 6.3}, "count": 3}`}},
		{`{"$bucketAuto": {"groupBy": "$v", "buckets": 2, "granularity": "1-2-5"}}`, seq("12", "30", "75", "160"), []string{
			`{"_id": {"min": 10.0, "max": 50.0}, "count": 2}`, `{"_id": {"min": 50.0, "max": 200.0}, "count": 2}`}},
	}
	for _, c := range cases {
		got, err := runPipeline(t, []string{c.stage}, c.input, PipelineOptions{})
		require.NoError(t, err, c.stage)
		require.Len(t, got, len(c.want), "%s: %v", c.stage, got)
		for i := range c.want {
			require.JSONEq(t, canon(t, c.want[i]), got[i], c.stage)
		}
	}
	for input, code := range map[string]mongoerr.Code{`{"v": "a"}`: 40258, `{"v": -1}`: 40260} {
		_, err := runPipeline(t, []string{`{"$bucketAuto": {"groupBy": "$v", "buckets": 2, "granularity": "E12"}}`}, []string{input}, PipelineOptions{})
		var me *mongoerr.Error
		require.True(t, errors.As(err, &me), "%s: %v", input, err)
		require.Equal(t, code, me.Code, input)
	}
}

// TestPreferredSeries: every series is strictly increasing in [1, 10) with its standard length,
// and rounding is strict on both sides, across powers of ten.
func TestPreferredSeries(t *testing.T) {
	lengths := map[string]int{"R5": 5, "R10": 10, "R20": 20, "R40": 40, "R80": 80, "1-2-5": 3, "E6": 6, "E12": 12, "E24": 24, "E48": 48, "E96": 96, "E192": 192}
	require.Len(t, preferredSeries, len(lengths))
	for name, s := range preferredSeries {
		require.Len(t, s, lengths[name], name)
		for i, v := range s {
			require.True(t, v >= 1 && v < 10, "%s[%d] = %v", name, i, v)
			if i > 0 {
				require.Greater(t, v, s[i-1], "%s[%d]", name, i)
			}
		}
		r := rounderFor(name)
		for _, x := range []float64{0.013, 0.7, 1, 3.3, 9.99, 10, 47, 1234.5} {
			up, down := r.roundUp(x), r.roundDown(x)
			require.Greater(t, up, x, "%s roundUp(%v)", name, x)
			require.Less(t, down, x, "%s roundDown(%v)", name, x)
			require.Less(t, r.roundDown(up), up, name)
		}
	}
	r5 := rounderFor("R5")
	for _, c := range [][3]float64{{3, 4, 2.5}, {4, 6.3, 2.5}, {6.3, 10, 4}, {1, 1.6, 0.63}, {25, 40, 16}, {0.07, 0.1, 0.063}, {0, 0, 0}} {
		require.Equal(t, c[1], r5.roundUp(c[0]), "roundUp(%v)", c[0])
		require.Equal(t, c[2], r5.roundDown(c[0]), "roundDown(%v)", c[0])
	}
	p2 := rounderFor("POWERSOF2")
	for _, c := range [][3]float64{{4, 8, 2}, {5, 8, 4}, {0.3, 0.5, 0.25}, {1, 2, 0.5}, {0, 0, 0}} {
		require.Equal(t, c[1], p2.roundUp(c[0]), "roundUp(%v)", c[0])
		require.Equal(t, c[2], p2.roundDown(c[0]), "roundDown(%v)", c[0])
	}
}
