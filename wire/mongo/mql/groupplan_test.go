package mql

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
)

func TestPlanGroupPushdownShapes(t *testing.T) {
	o := PipelineOptions{TimeField: "time", MetaField: "tags"}
	cases := []struct {
		pipeline       string
		ok             bool
		window, origin int64
	}{
		{`[{"$group": {"_id": null, "n": {"$sum": 1}}}]`, true, 0, 0},
		{`[{"$group": {"_id": "$tags.host", "m": {"$max": "$u"}, "a": {"$avg": "$u"}}}]`, true, 0, 0},
		{`[{"$group": {"_id": {"$dateTrunc": {"date": "$time", "unit": "hour"}}, "m": {"$min": "$u"}}}]`, true, 3_600_000, dateTruncOrigin % 3_600_000},
		{`[{"$group": {"_id": {"$dateTrunc": {"date": "$time", "unit": "minute", "binSize": 7}}, "c": {"$count": {}}}}]`, true, 420_000, dateTruncOrigin % 420_000},
		{`[{"$match": {"tags.host": "a", "time": {"$gte": {"$date": "2024-01-01T00:00:00Z"}}}}, {"$group": {"_id": {"h": "$tags.host", "d": {"$dateTrunc": {"date": "$time", "unit": "day"}}}, "s": {"$sum": "$u"}}}, {"$sort": {"_id": 1}}]`, true, 86_400_000, 0},
		{`[{"$sort": {"tags.host": 1, "time": -1}}, {"$group": {"_id": "$tags.host", "t": {"$first": "$time"}, "u": {"$first": "$u"}}}]`, true, 0, 0},
		{`[{"$timeWindow": {"window": "1h", "offset": "15m", "partitionBy": "$tags.host", "output": {"n": {"$sum": 1}}}}]`, true, 3_600_000, 900_000},
		{`[{"$group": {"_id": "$u", "n": {"$sum": 1}}}]`, false, 0, 0},
		{`[{"$group": {"_id": {"$dateTrunc": {"date": "$time", "unit": "month"}}, "n": {"$sum": 1}}}]`, false, 0, 0},
		{`[{"$group": {"_id": {"$dateTrunc": {"date": "$time", "unit": "hour", "timezone": "Europe/Paris"}}, "n": {"$sum": 1}}}]`, false, 0, 0},
		{`[{"$group": {"_id": {"a": {"$dateTrunc": {"date": "$time", "unit": "hour"}}, "b": {"$dateTrunc": {"date": "$time", "unit": "minute"}}}, "n": {"$sum": 1}}}]`, false, 0, 0},
		{`[{"$group": {"_id": "$tags.host", "f": {"$first": "$u"}}}]`, false, 0, 0},
		{`[{"$sort": {"time": 1, "tags.host": 1}}, {"$group": {"_id": "$tags.host", "f": {"$first": "$u"}}}]`, false, 0, 0},
		{`[{"$sort": {"tags.host": 1, "time": 1}}, {"$group": {"_id": null, "f": {"$last": "$u"}}}]`, false, 0, 0},
		{`[{"$match": {"u": {"$gt": 1}}}, {"$group": {"_id": null, "n": {"$sum": 1}}}]`, false, 0, 0},
		{`[{"$group": {"_id": null, "n": {"$sum": 2}}}]`, false, 0, 0},
		{`[{"$group": {"_id": null, "n": {"$sum": "$a.b"}}}]`, false, 0, 0},
		{`[{"$group": {"_id": null, "p": {"$push": "$u"}}}]`, false, 0, 0},
		{`[{"$project": {"u": 1}}, {"$group": {"_id": null, "n": {"$sum": 1}}}]`, false, 0, 0},
	}
	for _, tc := range cases {
		stages := parseStages(t, tc.pipeline)
		_, err := CompilePipeline(stages, o)
		require.NoError(t, err, tc.pipeline)
		p := PlanGroupPushdown(stages, o)
		require.Equal(t, tc.ok, p != nil, tc.pipeline)
		if p != nil {
			require.Equal(t, tc.window, p.Window, tc.pipeline)
			require.Equal(t, tc.origin, p.Origin, tc.pipeline)
		}
	}
}

// A $sort by _id ascending right after the pushed-down $group is dropped (Finish orders the
// groups so); any other sort stays.
func TestPlanGroupPushdownDropsSortByID(t *testing.T) {
	o := PipelineOptions{TimeField: "time", MetaField: "tags"}
	cases := []struct {
		pipeline     string
		rest, limits int
	}{
		{`[{"$group": {"_id": "$tags.host", "n": {"$sum": 1}}}, {"$sort": {"_id": 1}}]`, 0, 0},
		{`[{"$group": {"_id": "$tags.host", "n": {"$sum": 1}}}, {"$sort": {"_id": 1}}, {"$limit": 3}]`, 1, 1},
		{`[{"$group": {"_id": "$tags.host", "n": {"$sum": 1}}}, {"$sort": {"_id": -1}}]`, 1, 0},
		{`[{"$group": {"_id": "$tags.host", "n": {"$sum": 1}}}, {"$sort": {"_id": 1, "n": 1}}]`, 1, 0},
		{`[{"$group": {"_id": {"h": "$tags.host"}, "n": {"$sum": 1}}}, {"$sort": {"_id.h": 1}}]`, 1, 0},
		{`[{"$group": {"_id": "$tags.host", "n": {"$sum": 1}}}, {"$sort": {"n": 1}}]`, 1, 0},
		{`[{"$timeWindow": {"window": "1h", "partitionBy": "$tags.host", "output": {"n": {"$sum": 1}}}}, {"$sort": {"_id": 1}}]`, 1, 0},
	}
	for _, tc := range cases {
		stages := parseStages(t, tc.pipeline)
		p := PlanGroupPushdown(stages, o)
		require.NotNil(t, p, tc.pipeline)
		require.Len(t, p.rest.stages, tc.rest, tc.pipeline)
		sorts := 0
		for _, st := range p.rest.stages {
			if _, ok := st.(sortSpec); ok {
				sorts++
			}
		}
		require.Equal(t, tc.rest-tc.limits, sorts, tc.pipeline)
	}
}

// parseStages is a pipeline in extended JSON as its stages.
func parseStages(t *testing.T, pipeline string) []bson.Raw {
	t.Helper()
	var arr bson.A
	require.NoError(t, bson.UnmarshalExtJSON([]byte(`{"p": `+pipeline+`}`), false, &struct{ P *bson.A }{&arr}))
	var stages []bson.Raw
	for _, s := range arr {
		b, err := bson.Marshal(s)
		require.NoError(t, err)
		stages = append(stages, b)
	}
	return stages
}
