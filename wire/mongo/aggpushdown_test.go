package mongo

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// pushdownData inserts 30 hours of documents of five series (one without meta): v mixes int32,
// int64 and double; w, s and b are missing from some documents. No two series share a time.
func pushdownData(t *testing.T, e *testEnv, name string) int {
	t.Helper()
	coll := e.createTS(t, name)
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var docs []any
	for h := range 5 {
		for k := 0; k < 30*60/7; k++ {
			i := h*1000 + k
			ts := bson.NewDateTimeFromTime(t0.Add(time.Duration(k)*7*time.Minute + time.Duration(h)*13*time.Second))
			doc := d("ts", ts)
			if h < 4 {
				doc = append(doc, bson.E{Key: "meta", Value: d("host", []string{"h0", "h1", "h2", "h3"}[h], "region", []string{"r0", "r1"}[h%2])})
			}
			switch {
			case i%7 == 0:
				doc = append(doc, bson.E{Key: "v", Value: float64(i%50) + 0.5})
			case i%5 == 0:
				doc = append(doc, bson.E{Key: "v", Value: int64(i % 50)})
			default:
				doc = append(doc, bson.E{Key: "v", Value: int32(i%50) - 10})
			}
			if i%3 == 0 {
				doc = append(doc, bson.E{Key: "w", Value: float64(i%20) * 0.25})
			}
			if i%4 == 0 {
				doc = append(doc, bson.E{Key: "s", Value: []string{"x", "y", "z"}[i%3]})
			}
			if i%2 == 0 {
				doc = append(doc, bson.E{Key: "b", Value: i%6 == 0})
			}
			docs = append(docs, doc)
		}
	}
	_, err := coll.InsertMany(t.Context(), docs)
	require.NoError(t, err)
	// delete two hours of h1
	res, err := coll.DeleteMany(t.Context(), d("meta.host", "h1", "ts", d("$gte", bson.NewDateTimeFromTime(t0.Add(3*time.Hour)), "$lt", bson.NewDateTimeFromTime(t0.Add(5*time.Hour)))))
	require.NoError(t, err)
	require.Positive(t, res.DeletedCount)
	return len(docs) - int(res.DeletedCount)
}

// aggregateRaw runs a pipeline and returns its documents and whether it used the pushdown only.
func aggregateRaw(t *testing.T, e *testEnv, coll string, pipeline bson.A) ([]bson.Raw, bool) {
	t.Helper()
	e.b.mu.Lock()
	agg0, find0 := e.b.aggCalls, e.b.findCalls
	e.b.mu.Unlock()
	cur, err := e.db.Collection(coll).Aggregate(t.Context(), pipeline)
	require.NoError(t, err)
	var out []bson.Raw
	require.NoError(t, cur.All(t.Context(), &out))
	e.b.mu.Lock()
	defer e.b.mu.Unlock()
	return out, e.b.aggCalls > agg0 && e.b.findCalls == find0
}

func hoursAfter(h int) bson.DateTime {
	return bson.NewDateTimeFromTime(time.Date(2024, 1, 1, h, 0, 0, 0, time.UTC))
}

func TestGroupPushdownMatchesDocumentPath(t *testing.T) {
	e := newEnv(t)
	total := pushdownData(t, e, "pd")
	stats := d("n", d("$sum", 1), "c", d("$count", d()), "sv", d("$sum", "$v"), "av", d("$avg", "$v"),
		"mnv", d("$min", "$v"), "mxv", d("$max", "$v"), "sw", d("$sum", "$w"), "aw", d("$avg", "$w"),
		"mnw", d("$max", "$w"), "ss", d("$sum", "$s"), "as", d("$avg", "$s"), "mnb", d("$min", "$b"), "mxb", d("$max", "$b"),
		"mint", d("$min", "$ts"), "maxt", d("$max", "$ts"))
	group := func(id any, extra ...any) bson.D { return append(d("_id", id), append(stats, d(extra...)...)...) }
	hour := d("$dateTrunc", d("date", "$ts", "unit", "hour"))
	cases := []struct {
		name     string
		pipeline bson.A
		push     bool
	}{
		{"null key", bson.A{d("$group", group(nil))}, true},
		{"constant key", bson.A{d("$group", group("all"))}, true},
		{"meta path", bson.A{d("$group", group("$meta.host"))}, true},
		{"whole meta", bson.A{d("$group", group("$meta"))}, true},
		{"host and hour", bson.A{d("$group", group(d("h", "$meta.host", "hour", hour))), d("$sort", d("_id.h", 1, "_id.hour", 1))}, true},
		{"5h bins over buckets", bson.A{d("$group", group(d("$dateTrunc", d("date", "$ts", "unit", "hour", "binSize", 5, "timezone", "UTC"))))}, true},
		{"90 s bins", bson.A{d("$match", d("ts", d("$lt", hoursAfter(2)))), d("$group", group(d("$dateTrunc", d("date", "$ts", "unit", "second", "binSize", 90))))}, true},
		{"day and later stages", bson.A{d("$match", d("ts", d("$gte", hoursAfter(1), "$lt", hoursAfter(28)))),
			d("$group", group(d("r", "$meta.region", "day", d("$dateTrunc", d("date", "$ts", "unit", "day"))))),
			d("$project", d("n", 1, "av", 1)), d("$sort", d("n", -1, "_id.r", 1)), d("$limit", 3)}, true},
		{"meta $in and time range", bson.A{d("$match", d("meta.host", d("$in", bson.A{"h1", "h3"}))),
			d("$match", d("ts", d("$gte", hoursAfter(2), "$lte", hoursAfter(20)))), d("$group", group(d("h", "$meta.host", "m", hour)))}, true},
		{"meta regex", bson.A{d("$match", d("meta.region", bson.Regex{Pattern: "1$"})), d("$group", group("$meta.region"))}, true},
		{"last point of every host", bson.A{d("$sort", d("meta.host", 1, "ts", -1)),
			d("$group", d("_id", "$meta.host", "ts", d("$first", "$ts"), "v", d("$first", "$v"), "w", d("$first", "$w"), "s", d("$first", "$s"), "b", d("$first", "$b"), "old", d("$last", "$v"))),
			d("$sort", d("_id", 1))}, true},
		{"first and last by time", bson.A{d("$sort", d("ts", 1)),
			d("$group", d("_id", d("r", "$meta.region", "hour", hour), "f", d("$first", "$v"), "l", d("$last", "$s"), "lt", d("$last", "$ts"), "fs", d("$first", "$s")))}, true},
		{"timeWindow", bson.A{d("$timeWindow", d("window", "2h", "offset", "15m", "partitionBy", "$meta.region", "output", stats))}, true},
		{"timeWindow unpartitioned", bson.A{d("$timeWindow", d("timestamp", "$ts", "window", "45m", "output", d("n", d("$sum", 1), "mx", d("$max", "$v"))))}, true},
		{"empty range", bson.A{d("$match", d("ts", d("$lt", hoursAfter(-5)))), d("$group", group(nil))}, true},
		// value fields only: bins where w or b is missing from every document still make groups
		{"max of a sparse field per 10 min", bson.A{d("$group", d("_id", d("$dateTrunc", d("date", "$ts", "unit", "minute", "binSize", 10)), "mx", d("$max", "$w"))), d("$sort", d("_id", 1))}, true},
		{"sum, avg, min of sparse fields by host and 5 min", bson.A{d("$match", d("ts", d("$lt", hoursAfter(3)))),
			d("$group", d("_id", d("h", "$meta.host", "t", d("$dateTrunc", d("date", "$ts", "unit", "minute", "binSize", 5))),
				"sw", d("$sum", "$w"), "aw", d("$avg", "$w"), "mb", d("$min", "$b")))}, true},
		// {$sort: {_id: 1}} after the group is left out of the plan: the groups come in _id order
		{"sorted by _id", bson.A{d("$group", group("$meta.region")), d("$sort", d("_id", 1))}, true},
		{"sorted by compound _id, limited", bson.A{d("$group", group(d("h", "$meta.host", "hour", hour))), d("$sort", d("_id", 1)), d("$limit", 7)}, true},
		{"sorted by _id descending", bson.A{d("$group", group(hour)), d("$sort", d("_id", -1))}, true},
		{"timeWindow of a sparse field", bson.A{d("$timeWindow", d("window", "20m", "partitionBy", "$meta.host", "output", d("aw", d("$avg", "$w"))))}, true},
		// shapes that must not push down
		{"group by measurement", bson.A{d("$group", group("$b"))}, false},
		{"month", bson.A{d("$group", group(d("$dateTrunc", d("date", "$ts", "unit", "month"))))}, false},
		{"week", bson.A{d("$group", group(d("$dateTrunc", d("date", "$ts", "unit", "week"))))}, false},
		{"first without sort", bson.A{d("$group", d("_id", "$meta.host", "f", d("$first", "$v")))}, false},
		{"first under sort by host only", bson.A{d("$sort", d("meta.host", 1, "ts", 1)), d("$group", d("_id", nil, "f", d("$first", "$v")))}, false},
		{"min of strings falls back", bson.A{d("$group", d("_id", "$meta.host", "m", d("$min", "$s")))}, false},
		{"match on measurement", bson.A{d("$match", d("v", d("$gt", 3))), d("$group", group("$meta.host"))}, false},
		{"timezone", bson.A{d("$group", group(d("$dateTrunc", d("date", "$ts", "unit", "hour", "timezone", "Asia/Kolkata"))))}, false},
		{"push accumulator", bson.A{d("$group", d("_id", nil, "p", d("$push", "$v")))}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, pushed := aggregateRaw(t, e, "pd", tc.pipeline)
			require.Equal(t, tc.push, pushed, "pushdown used")
			if strings.Contains(tc.name, "sparse field") {
				require.NotNil(t, e.b.valueFields, "the pushdown asked for value fields only")
			}
			ref := append(bson.A{d("$match", d("$expr", true))}, tc.pipeline...)
			want, refPushed := aggregateRaw(t, e, "pd", ref)
			require.False(t, refPushed)
			last := tc.pipeline[len(tc.pipeline)-1].(bson.D)[0].Key
			sorted := last == "$limit" || last == "$sort" // every such case sorts by a unique key
			if !sorted {
				less := func(a, b bson.Raw) int { return bytes.Compare(a, b) }
				slices.SortFunc(got, less)
				slices.SortFunc(want, less)
			}
			require.Equal(t, len(want), len(got))
			for i := range want {
				require.Equal(t, want[i].String(), got[i].String(), "group %d", i)
			}
		})
	}

	// independent check: the counts add up to the documents left after the delete
	got, pushed := aggregateRaw(t, e, "pd", bson.A{d("$group", d("_id", "$meta.host", "n", d("$sum", 1)))})
	require.True(t, pushed)
	var n int64
	for _, g := range got {
		n += g.Lookup("n").AsInt64()
	}
	require.EqualValues(t, total, n)
	require.Len(t, got, 5)
}
