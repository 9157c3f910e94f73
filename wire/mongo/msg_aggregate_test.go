package mongo

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
)

func TestAggregate(t *testing.T) {
	e := newEnv(t)
	coll := e.createTS(t, "ag")
	fill(t, coll, 120) // two hours, one point a minute

	cur, err := coll.Aggregate(t.Context(), bson.A{
		d("$match", d("meta", "a")),
		d("$group", d("_id", d("$dateTrunc", d("date", "$ts", "unit", "hour")), "n", d("$sum", 1), "max", d("$max", "$v"))),
		d("$sort", d("_id", 1)),
	})
	require.NoError(t, err)
	var got []bson.Raw
	require.NoError(t, cur.All(t.Context(), &got))
	require.Len(t, got, 2)
	h0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	require.Equal(t, h0.UnixMilli(), got[0].Lookup("_id").DateTime())
	require.EqualValues(t, 30, got[0].Lookup("n").AsInt64())
	require.EqualValues(t, 58, got[0].Lookup("max").AsInt64())
	require.EqualValues(t, 118, got[1].Lookup("max").AsInt64())

	// $count and batches through getMore
	r := mustRun(t, e.db, d("aggregate", "ag", "pipeline", bson.A{d("$match", d("meta", "b")), d("$count", "n")}, "cursor", d()))
	require.Equal(t, bson.A{d("n", int32(60))}, field(t, r.Lookup("cursor").Document(), "firstBatch"))
	r = mustRun(t, e.db, d("aggregate", "ag", "pipeline", bson.A{d("$sort", d("v", 1))}, "cursor", d("batchSize", 100)))
	id := r.Lookup("cursor", "id").Int64()
	require.NotZero(t, id)
	r = mustRun(t, e.db, d("getMore", id, "collection", "ag"))
	require.Len(t, field(t, r.Lookup("cursor").Document(), "nextBatch").(bson.A), 20)

	// mongosh's admin.atlascli probe: a missing collection gives an empty result
	r = mustRun(t, e.client.Database("admin"), d("aggregate", "atlascli", "pipeline",
		bson.A{d("$match", d("atlascli", d("$exists", true))), d("$group", d("_id", nil, "n", d("$sum", 1)))}, "cursor", d()))
	require.Empty(t, field(t, r.Lookup("cursor").Document(), "firstBatch"))

	_, err = run(t, e.db, d("aggregate", "ag", "pipeline", bson.A{}))
	requireCode(t, err, 9)
}

func TestAggregateTimeWindow(t *testing.T) {
	e := newEnv(t)
	coll := e.createTS(t, "tw")
	fill(t, coll, 30)
	cur, err := coll.Aggregate(t.Context(), bson.A{
		d("$match", d("ts", d("$gte", at(0)))),
		d("$timeWindow", d("window", "10m", "output", d("avg", d("$avg", "$v"), "n", d("$sum", 1)))),
	})
	require.NoError(t, err)
	var got []bson.Raw
	require.NoError(t, cur.All(t.Context(), &got))
	require.Len(t, got, 3)
	for i, doc := range got {
		require.Equal(t, at(10*i), bson.DateTime(doc.Lookup("_id", "timestamp").DateTime()))
		require.EqualValues(t, 10, doc.Lookup("n").AsInt64())
		require.InDelta(t, float64(10*i)+4.5, doc.Lookup("avg").Double(), 1e-9)
	}
}

// TestAggregateWindowFunctions: through the driver, a moving average per series
// ($setWindowFields) and the latest values per series ($group with $topN) come back as MongoDB
// computes them. fill writes v = i at minute i, alternating series a and b.
func TestAggregateWindowFunctions(t *testing.T) {
	e := newEnv(t)
	coll := e.createTS(t, "wf")
	fill(t, coll, 20)
	cur, err := coll.Aggregate(t.Context(), bson.A{
		d("$match", d("meta", "a")),
		d("$setWindowFields", d("partitionBy", "$meta", "sortBy", d("ts", 1),
			"output", d("avg3", d("$avg", "$v", "window", d("documents", bson.A{-2, 0}))))),
	})
	require.NoError(t, err)
	var got []bson.Raw
	require.NoError(t, cur.All(t.Context(), &got))
	require.Len(t, got, 10)
	// a holds v = 0, 2, 4, ...: the average of the last three (fewer at the start)
	for i, doc := range got {
		lo := max(0, i-2)
		want := 0.0
		for j := lo; j <= i; j++ {
			want += float64(2 * j)
		}
		want /= float64(i - lo + 1)
		require.InDelta(t, want, doc.Lookup("avg3").Double(), 1e-9, "document %d", i)
	}

	cur, err = coll.Aggregate(t.Context(), bson.A{
		d("$group", d("_id", "$meta", "last2", d("$topN", d("sortBy", d("ts", -1), "output", "$v", "n", 2)))),
		d("$sort", d("_id", 1)),
	})
	require.NoError(t, err)
	got = nil
	require.NoError(t, cur.All(t.Context(), &got))
	require.Len(t, got, 2)
	require.Equal(t, bson.A{int32(18), int32(16)}, field(t, got[0], "last2"))
	require.Equal(t, bson.A{int32(19), int32(17)}, field(t, got[1], "last2"))
}

// TestAggregateUnionWith: $unionWith adds another collection's documents (through its own
// pipeline) after the pipeline's own; a collection that does not exist adds nothing; a malformed
// sub-pipeline is refused before anything runs.
func TestAggregateUnionWith(t *testing.T) {
	e := newEnv(t)
	fill(t, e.createTS(t, "u1"), 4)  // v 0..3
	fill(t, e.createTS(t, "u2"), 10) // v 0..9
	coll := e.db.Collection("u1")
	cur, err := coll.Aggregate(t.Context(), bson.A{
		d("$match", d("meta", "a")),
		d("$unionWith", d("coll", "u2", "pipeline", bson.A{d("$match", d("v", d("$gte", 7))), d("$project", d("_id", 0, "v", 1))})),
		d("$unionWith", "nothing"),
		d("$group", d("_id", nil, "vs", d("$push", "$v"))),
	})
	require.NoError(t, err)
	var got []bson.Raw
	require.NoError(t, cur.All(t.Context(), &got))
	require.Len(t, got, 1)
	vs := field(t, got[0], "vs").(bson.A)
	require.ElementsMatch(t, bson.A{int32(0), int32(2), int32(7), int32(8), int32(9)}, vs)

	_, err = coll.Aggregate(t.Context(), bson.A{d("$unionWith", d("coll", "u2", "pipeline", bson.A{d("$nope", 1)}))})
	requireCode(t, err, 40324)
	_, err = coll.Aggregate(t.Context(), bson.A{d("$unionWith", d("pipeline", bson.A{}))})
	requireCode(t, err, 40414)
	_, err = coll.Aggregate(t.Context(), bson.A{d("$unionWith", 5)})
	requireCode(t, err, 9)
}

// TestExplain: explain shows the storage pushdown of find, count and aggregate and, with
// executionStats, what storage returned and what came out.
func TestExplain(t *testing.T) {
	e := newEnv(t)
	fill(t, e.createTS(t, "ex"), 20) // v = i at minute i, series a and b alternating
	explain := func(cmd bson.D, verbosity string) bson.Raw {
		return mustRun(t, e.db, d("explain", cmd, "verbosity", verbosity))
	}
	r := explain(d("find", "ex", "filter", d("meta", "a", "ts", d("$gte", at(10)))), "executionStats")
	plan := r.Lookup("queryPlanner", "winningPlan").Document()
	require.Equal(t, "CHRONOGO_STORAGE_SCAN", plan.Lookup("stage").StringValue())
	require.Equal(t, time.Time(at(10).Time()).UTC().Format(time.RFC3339Nano), plan.Lookup("timeRange", "min").StringValue())
	require.Equal(t, "+inf", plan.Lookup("timeRange", "max").StringValue())
	require.Contains(t, plan.Lookup("metaFilter").StringValue(), "a")
	require.EqualValues(t, 5, r.Lookup("executionStats", "nReturned").AsInt64(), "a at minutes 10, 12, ..., 18")
	require.GreaterOrEqual(t, r.Lookup("executionStats", "totalDocsExamined").AsInt64(), int64(5))
	require.Equal(t, "ex", r.Lookup("command", "find").StringValue())

	r = explain(d("aggregate", "ex", "pipeline", bson.A{d("$match", d("meta", "b")), d("$group", d("_id", "$meta", "n", d("$sum", 1)))}, "cursor", d()), "executionStats")
	require.EqualValues(t, 1, r.Lookup("executionStats", "nReturned").AsInt64())
	require.Equal(t, "CHRONOGO_STORAGE_SCAN", r.Lookup("queryPlanner", "winningPlan", "stage").StringValue())
	_, grp := r.Lookup("queryPlanner", "winningPlan", "groupOnBlockAggregates").BooleanOK()
	require.True(t, grp, "the answer says whether the group runs on block aggregates")

	r = explain(d("count", "nope"), "queryPlanner")
	require.Equal(t, "EOF", r.Lookup("queryPlanner", "winningPlan", "stage").StringValue())
	_, hasStats := r.LookupErr("executionStats")
	require.Error(t, hasStats, "queryPlanner does not run the query")

	_, err := run(t, e.db, d("explain", d("delete", "ex", "deletes", bson.A{})))
	requireCode(t, err, 115)
	_, err = run(t, e.db, d("explain", d("find", "ex"), "verbosity", "everything"))
	requireCode(t, err, 2)
}
