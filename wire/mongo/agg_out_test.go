package mongo

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// TestOutAndMerge: $out replaces a plain collection (or makes a time series with its timeseries
// option), $merge upserts into a plain one by _id as whenMatched/whenNotMatched say.
func TestOutAndMerge(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	ts := e.createTS(t, "m")
	_, err := ts.InsertMany(ctx, []any{d("ts", at(1), "meta", "a", "v", 1), d("ts", at(2), "meta", "a", "v", 2), d("ts", at(3), "meta", "b", "v", 5)})
	require.NoError(t, err)
	all := func(name string) []bson.D {
		cur, err := e.db.Collection(name).Find(ctx, d(), options.Find().SetSort(d("_id", 1)))
		require.NoError(t, err)
		var out []bson.D
		require.NoError(t, cur.All(ctx, &out))
		return out
	}
	group := d("$group", d("_id", "$meta", "total", d("$sum", "$v")))
	mustRun(t, e.db, d("aggregate", "m", "pipeline", bson.A{group, d("$out", "sums")}, "cursor", d()))
	require.Equal(t, []bson.D{d("_id", "a", "total", int32(3)), d("_id", "b", "total", int32(5))}, all("sums"))
	// again, with other results: replaced
	mustRun(t, e.db, d("aggregate", "m", "pipeline", bson.A{d("$match", d("meta", "b")), group, d("$out", "sums")}, "cursor", d()))
	require.Equal(t, []bson.D{d("_id", "b", "total", int32(5))}, all("sums"))

	// $merge: whenMatched merge (keeps other fields), whenNotMatched insert
	_, err = e.db.Collection("reg").InsertOne(ctx, d("_id", "a", "owner", "ann"))
	require.NoError(t, err)
	mustRun(t, e.db, d("aggregate", "m", "pipeline", bson.A{group, d("$merge", d("into", "reg"))}, "cursor", d()))
	require.Equal(t, []bson.D{d("_id", "a", "owner", "ann", "total", int32(3)), d("_id", "b", "total", int32(5))}, all("reg"))
	// whenMatched replace
	mustRun(t, e.db, d("aggregate", "m", "pipeline", bson.A{group, d("$project", d("n", "$total")), d("$merge", d("into", "reg", "whenMatched", "replace"))}, "cursor", d()))
	require.Equal(t, []bson.D{d("_id", "a", "n", int32(3)), d("_id", "b", "n", int32(5))}, all("reg"))
	// whenMatched fail
	_, err = run(t, e.db, d("aggregate", "m", "pipeline", bson.A{group, d("$merge", d("into", "reg", "whenMatched", "fail"))}, "cursor", d()))
	requireCode(t, err, 11000)
	// whenNotMatched discard: only existing documents change
	mustRun(t, e.db, d("aggregate", "m", "pipeline", bson.A{group, d("$set", d("_id", d("$concat", bson.A{"$_id", "x"}))),
		d("$merge", d("into", "reg", "whenNotMatched", "discard"))}, "cursor", d()))
	require.Len(t, all("reg"), 2)

	// $out into a new time series
	mustRun(t, e.db, d("aggregate", "m", "pipeline", bson.A{d("$match", d("meta", "a")), d("$project", d("_id", 0, "ts", 1, "meta", 1, "v2", d("$multiply", bson.A{"$v", 2}))),
		d("$out", d("coll", "doubled", "timeseries", d("timeField", "ts", "metaField", "meta")))}, "cursor", d()))
	list := mustRun(t, e.db, d("listCollections", 1, "filter", d("name", "doubled")))
	require.Equal(t, bson.E{Key: "type", Value: "timeseries"}, field(t, list.Lookup("cursor").Document(), "firstBatch").(bson.A)[0].(bson.D)[1])
	cur, err := e.db.Collection("doubled").Find(ctx, d(), options.Find().SetSort(d("ts", 1)).SetProjection(d("_id", 0, "v2", 1)))
	require.NoError(t, err)
	var got []bson.D
	require.NoError(t, cur.All(ctx, &got))
	require.Equal(t, []bson.D{d("v2", int32(2)), d("v2", int32(4))}, got)

	_, err = run(t, e.db, d("aggregate", "m", "pipeline", bson.A{d("$out", "x"), group}, "cursor", d()))
	requireCode(t, err, 40601)
	_, err = run(t, e.db, d("aggregate", "m", "pipeline", bson.A{group, d("$merge", d("into", "m"))}, "cursor", d()))
	requireCode(t, err, 115)
}
