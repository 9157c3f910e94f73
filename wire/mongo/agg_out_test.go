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

// TestMergeOnFields: $merge joins on fields with a unique index (51183 without one), merges,
// replaces or runs a whenMatched pipeline with $$new, and results that meet the same target
// document one after the other each apply. The expected totals are summed in the test.
func TestMergeOnFields(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	src := e.db.Collection("events")
	type ev struct {
		site, dev string
		v         int32
	}
	var evs []ev
	var docs []any
	for i := range 40 {
		x := ev{site: []string{"ams", "fra"}[i%2], dev: []string{"d1", "d2", "d3"}[i%3], v: int32(i)}
		evs = append(evs, x)
		docs = append(docs, d("_id", i, "site", x.site, "dev", x.dev, "v", x.v))
	}
	_, err := src.InsertMany(ctx, docs)
	require.NoError(t, err)
	reg := e.db.Collection("registry")
	_, err = reg.InsertOne(ctx, d("_id", "r1", "site", "ams", "dev", "d1", "owner", "ann", "total", int32(1000)))
	require.NoError(t, err)
	merge := func(spec bson.D) error {
		_, err := run(t, e.db, d("aggregate", "events", "pipeline", bson.A{d("$sort", d("_id", 1)), d("$project", d("_id", 0, "site", 1, "dev", 1, "v", 1)), d("$merge", spec)}, "cursor", d()))
		return err
	}
	requireCode(t, merge(d("into", "registry", "on", bson.A{"site", "dev"})), 51183)
	mustRun(t, e.db, d("createIndexes", "registry", "indexes", bson.A{d("key", d("site", 1, "dev", 1), "name", "site_dev", "unique", true)}))

	// a pipeline adds every event's v to its device's total, in order
	require.NoError(t, merge(d("into", "registry", "on", bson.A{"dev", "site"},
		"whenMatched", bson.A{d("$set", d("total", d("$add", bson.A{"$total", "$$new.v"}), "last", "$$new.v"))})))
	want := map[[2]string][2]int32{{"ams", "d1"}: {1000, 0}}
	seen := map[[2]string]bool{{"ams", "d1"}: true}
	for _, x := range evs {
		k := [2]string{x.site, x.dev}
		cur := want[k]
		if !seen[k] { // inserted as the event itself: total missing, v set
			seen[k] = true
			want[k] = [2]int32{-1, x.v}
			continue
		}
		if cur[0] >= 0 {
			cur[0] += x.v
		}
		want[k] = [2]int32{cur[0], x.v}
	}
	cur, err := reg.Find(ctx, d())
	require.NoError(t, err)
	var got []bson.M
	require.NoError(t, cur.All(ctx, &got))
	require.Len(t, got, len(want))
	for _, g := range got {
		k := [2]string{g["site"].(string), g["dev"].(string)}
		w := want[k]
		if w[0] >= 0 {
			require.Equal(t, w[0], g["total"], "%v", k)
			require.Equal(t, w[1], g["last"], "%v", k)
		} else {
			require.Nil(t, g["total"], "%v", k)
			require.NotNil(t, g["v"], "%v", k)
		}
	}
	var owner bson.M
	require.NoError(t, reg.FindOne(ctx, d("_id", "r1")).Decode(&owner))
	require.Equal(t, "ann", owner["owner"], "the pipeline keeps the document's other fields")

	// replace keeps the target's _id
	require.NoError(t, merge(d("into", "registry", "on", bson.A{"site", "dev"}, "whenMatched", "replace")))
	owner = nil
	require.NoError(t, reg.FindOne(ctx, d("_id", "r1")).Decode(&owner))
	require.Nil(t, owner["owner"], "%v", owner)
	require.Equal(t, "ams", owner["site"])

	requireCode(t, merge(d("into", "registry", "on", "site", "let", d("x", 1))), 51199)
	_, err = run(t, e.db, d("aggregate", "events", "pipeline", bson.A{d("$project", d("_id", 0, "dev", 1)), d("$merge", d("into", "registry", "on", bson.A{"site", "dev"}))}, "cursor", d()))
	requireCode(t, err, 51132)
}

// TestOutIsAtomic: a $out whose results break the target's unique index fails with 11000 and
// leaves the target as it was; one that succeeds replaces the documents and keeps the index.
func TestOutIsAtomic(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	target := e.db.Collection("current")
	_, err := target.InsertMany(ctx, []any{d("_id", 1, "k", "a"), d("_id", 2, "k", "b")})
	require.NoError(t, err)
	mustRun(t, e.db, d("createIndexes", "current", "indexes", bson.A{d("key", d("k", 1), "name", "k_1", "unique", true)}))
	src := e.db.Collection("src")
	_, err = src.InsertMany(ctx, []any{d("_id", 10, "k", "x"), d("_id", 11, "k", "x"), d("_id", 12, "k", "y")})
	require.NoError(t, err)
	all := func() []bson.D {
		cur, err := target.Find(ctx, d(), options.Find().SetSort(d("_id", 1)))
		require.NoError(t, err)
		var out []bson.D
		require.NoError(t, cur.All(ctx, &out))
		return out
	}
	before := all()
	_, err = run(t, e.db, d("aggregate", "src", "pipeline", bson.A{d("$out", "current")}, "cursor", d()))
	requireCode(t, err, 11000)
	require.NotContains(t, err.Error(), "\x00", "the error names the target")
	require.Equal(t, before, all(), "a failed $out changes nothing")
	mustRun(t, e.db, d("aggregate", "src", "pipeline", bson.A{d("$match", d("_id", d("$ne", 11))), d("$out", "current")}, "cursor", d()))
	require.Equal(t, []bson.D{d("_id", int32(10), "k", "x"), d("_id", int32(12), "k", "y")}, all())
	_, err = target.InsertOne(ctx, d("_id", 13, "k", "y"))
	require.Error(t, err, "the unique index stayed")
	names, err := e.db.ListCollectionNames(ctx, d())
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"current", "src"}, names)
}

// TestOutIntoTimeSeriesChecksFirst: a $out into an existing time series whose results include a
// document that is no measurement (no time field, a time that is no date) fails with BadValue, as
// an insert of it would, and leaves the target's documents as they were.
func TestOutIntoTimeSeriesChecksFirst(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	ts := e.createTS(t, "m")
	_, err := ts.InsertMany(ctx, []any{d("ts", at(1), "meta", "a", "v", 1), d("ts", at(2), "meta", "b", "v", 2)})
	require.NoError(t, err)
	mustRun(t, e.db, d("aggregate", "m", "pipeline", bson.A{d("$out", d("coll", "copy", "timeseries", d("timeField", "ts", "metaField", "meta")))}, "cursor", d()))
	all := func() []bson.D {
		cur, err := e.db.Collection("copy").Find(ctx, d(), options.Find().SetSort(d("ts", 1)).SetProjection(d("_id", 0)))
		require.NoError(t, err)
		var out []bson.D
		require.NoError(t, cur.All(ctx, &out))
		return out
	}
	before := all()
	require.Len(t, before, 2)
	for name, bad := range map[string]bson.D{
		"no time":         d("$set", d("ts", "$$REMOVE")),
		"time not a date": d("$set", d("ts", "yesterday")),
	} {
		// the first result is good, the second is not: nothing of the $out may show
		pipeline := bson.A{d("$sort", d("ts", 1)), d("$set", d("ts", d("$cond", bson.A{d("$eq", bson.A{"$meta", "a"}), "$ts", bad[0].Value.(bson.D)[0].Value}))),
			d("$out", "copy")}
		_, err := run(t, e.db, d("aggregate", "m", "pipeline", pipeline, "cursor", d()))
		requireCode(t, err, 2)
		require.Equal(t, before, all(), "%s: the target is as it was", name)
	}
}

// TestOutKindsNeverMix: a $out with timeseries into an existing plain collection is refused
// (7268700) and changes nothing; a $out without timeseries into a time series keeps it a time
// series (replaced in one step, never dropped and refilled as a plain collection).
func TestOutKindsNeverMix(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	ts := e.createTS(t, "m")
	_, err := ts.InsertMany(ctx, []any{d("ts", at(1), "meta", "a", "v", 1), d("ts", at(2), "meta", "b", "v", 2)})
	require.NoError(t, err)
	_, err = e.db.Collection("registry").InsertOne(ctx, d("_id", "x"))
	require.NoError(t, err)
	_, err = run(t, e.db, d("aggregate", "m", "pipeline", bson.A{d("$out", d("coll", "registry", "timeseries", d("timeField", "ts", "metaField", "meta")))}, "cursor", d()))
	requireCode(t, err, 7268700)
	n, err := e.db.Collection("registry").CountDocuments(ctx, d())
	require.NoError(t, err)
	require.EqualValues(t, 1, n, "the plain collection is as it was")

	mustRun(t, e.db, d("aggregate", "m", "pipeline", bson.A{d("$out", d("coll", "copy", "timeseries", d("timeField", "ts", "metaField", "meta")))}, "cursor", d()))
	mustRun(t, e.db, d("aggregate", "m", "pipeline", bson.A{d("$match", d("meta", "a")), d("$out", "copy")}, "cursor", d()))
	specs, err := e.db.ListCollectionSpecifications(ctx, d("name", "copy"))
	require.NoError(t, err)
	require.Len(t, specs, 1)
	require.Equal(t, "timeseries", specs[0].Type, "still a time series")
	n, err = e.db.Collection("copy").CountDocuments(ctx, d())
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
}
