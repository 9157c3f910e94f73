package mongo

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// TestStatsCommands: dbStats, collStats and $collStats count each collection's documents (plain
// ones from their shard's count, time series through storage) and report sizes; mongosh's
// db.stats() and db.c.stats() use them.
func TestStatsCommands(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	plainDocs := []any{d("_id", 1, "name", "a"), d("_id", 2, "name", "bb"), d("_id", 3, "name", "ccc")}
	_, err := e.db.Collection("reg").InsertMany(ctx, plainDocs)
	require.NoError(t, err)
	var plainBytes int64
	for _, pd := range plainDocs {
		plainBytes += int64(len(mustMarshal(t, pd)))
	}
	ts := e.createTS(t, "m")
	_, err = ts.InsertMany(ctx, []any{d("ts", at(1), "meta", "x", "v", 1), d("ts", at(2), "meta", "x", "v", 2),
		d("ts", at(3), "meta", "y", "v", 3), d("ts", at(4), "meta", "y", "v", 4)})
	require.NoError(t, err)

	r := mustRun(t, e.db, d("dbStats", 1))
	require.EqualValues(t, 2, r.Lookup("collections").AsInt64())
	require.EqualValues(t, 7, r.Lookup("objects").AsInt64())
	require.EqualValues(t, 1, r.Lookup("scaleFactor").AsFloat64())

	r = mustRun(t, e.db, d("collStats", "reg"))
	require.Equal(t, "testdb.reg", r.Lookup("ns").StringValue())
	require.EqualValues(t, 3, r.Lookup("count").AsInt64())
	require.EqualValues(t, plainBytes, r.Lookup("size").AsInt64())
	require.EqualValues(t, 1, r.Lookup("nindexes").AsInt64(), "the _id index")
	_, err = r.LookupErr("timeseries")
	require.Error(t, err, "a plain collection has no timeseries section")

	r = mustRun(t, e.db, d("aggregate", "m", "pipeline", bson.A{d("$collStats", d("storageStats", d(), "count", d()))}, "cursor", d()))
	doc := r.Lookup("cursor", "firstBatch").Array().Index(0).Document()
	require.EqualValues(t, 4, doc.Lookup("count", "count").AsInt64())
	require.EqualValues(t, 4, doc.Lookup("storageStats", "count").AsInt64())
	require.Equal(t, "testdb.system.buckets.m", doc.Lookup("storageStats", "timeseries", "bucketsNs").StringValue())

	_, err = run(t, e.db, d("aggregate", "m", "pipeline", bson.A{d("$match", d()), d("$collStats", d())}, "cursor", d()))
	requireCode(t, err, 40602)
	_, err = run(t, e.db, d("collStats", "nope"))
	requireCode(t, err, 26)
	_, err = run(t, e.db, d("dbStats", 1, "scale", 0))
	requireCode(t, err, 2)
}
