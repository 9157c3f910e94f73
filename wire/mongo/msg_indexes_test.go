package mongo

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

func TestIndexes(t *testing.T) {
	e := newEnv(t)
	coll := e.createTS(t, "ix")

	name, err := coll.Indexes().CreateOne(t.Context(), mongo.IndexModel{Keys: d("meta.site", 1, "ts", -1)})
	require.NoError(t, err)
	require.Equal(t, "meta.site_1_ts_-1", name)
	_, err = coll.Indexes().CreateOne(t.Context(), mongo.IndexModel{Keys: d("temp", 1), Options: options.Index().SetName("by_temp")})
	require.NoError(t, err)
	r := mustRun(t, e.db, d("createIndexes", "ix", "indexes", bson.A{d("key", d("temp", 1), "name", "by_temp")}))
	require.Equal(t, "all indexes already exist", r.Lookup("note").StringValue())
	require.EqualValues(t, 3, r.Lookup("numIndexesBefore").Int32())

	r = mustRun(t, e.db, d("listIndexes", "ix"))
	require.Equal(t, bson.A{
		d("v", int32(2), "key", d("meta", int32(1), "ts", int32(1)), "name", "meta_1_ts_1"),
		d("v", int32(2), "key", d("meta.site", int32(1), "ts", int32(-1)), "name", "meta.site_1_ts_-1"),
		d("v", int32(2), "key", d("temp", int32(1)), "name", "by_temp"),
	}, field(t, r.Lookup("cursor").Document(), "firstBatch"))

	cases := []struct {
		name string
		spec bson.D
		code int32
	}{
		{"unique", d("key", d("meta", 1), "name", "u", "unique", true), 72},
		{"text", d("key", d("note", "text"), "name", "t"), 72},
		{"2d", d("key", d("loc", "2d"), "name", "g"), 67},
		{"same name other key", d("key", d("other", 1), "name", "by_temp"), 86},
		{"same key other name", d("key", d("temp", 1), "name", "other"), 85},
		{"no key", d("name", "x"), 40414},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := run(t, e.db, d("createIndexes", "ix", "indexes", bson.A{tc.spec}))
			requireCode(t, err, tc.code)
		})
	}
	_, err = coll.Indexes().CreateOne(t.Context(), mongo.IndexModel{Keys: d("loc", "2dsphere")})
	require.NoError(t, err)

	r = mustRun(t, e.db, d("dropIndexes", "ix", "index", "by_temp"))
	require.EqualValues(t, 4, r.Lookup("nIndexesWas").Int32())
	_, err = run(t, e.db, d("dropIndexes", "ix", "index", "by_temp"))
	requireCode(t, err, 27)
	mustRun(t, e.db, d("dropIndexes", "ix", "index", "*"))
	r = mustRun(t, e.db, d("listIndexes", "ix"))
	require.Len(t, field(t, r.Lookup("cursor").Document(), "firstBatch").(bson.A), 1, "only the automatic index stays")

	// no metaField: no automatic index
	mustRun(t, e.db, d("create", "nometa", "timeseries", d("timeField", "ts")))
	r = mustRun(t, e.db, d("listIndexes", "nometa"))
	require.Empty(t, field(t, r.Lookup("cursor").Document(), "firstBatch"))
	// createIndexes creates a missing collection, a plain one, as MongoDB does
	mustRun(t, e.db, d("createIndexes", "missing", "indexes", bson.A{d("key", d("a", 1), "name", "a_1")}))
	r = mustRun(t, e.db, d("listIndexes", "missing"))
	require.Equal(t, bson.A{d("v", int32(2), "key", d("_id", int32(1)), "name", "_id_"), d("v", int32(2), "key", d("a", int32(1)), "name", "a_1")},
		field(t, r.Lookup("cursor").Document(), "firstBatch"))
	_, err = run(t, e.db, d("dropIndexes", "missing", "index", "_id_"))
	requireCode(t, err, 72)
	mustRun(t, e.db, d("createIndexes", "missing", "indexes", bson.A{d("key", d("b", 1), "name", "b_1", "unique", true)}))
	for _, bad := range []bson.D{
		d("key", d("h", "hashed")), d("key", d("$**", 1)), d("key", d("t", 1), "expireAfterSeconds", 10),
		d("key", d("p", 1), "partialFilterExpression", d("p", d("$gt", 1))),
	} {
		_, err = run(t, e.db, d("createIndexes", "missing", "indexes", bson.A{bad}))
		requireCode(t, err, 67)
	}
}

func TestCollMod(t *testing.T) {
	e := newEnv(t)
	e.createTS(t, "cm")
	options := func() bson.D {
		r := mustRun(t, e.db, d("listCollections", 1, "filter", d("name", "cm")))
		return field(t, r.Lookup("cursor").Document(), "firstBatch").(bson.A)[0].(bson.D)[2].Value.(bson.D)
	}
	mustRun(t, e.db, d("collMod", "cm", "expireAfterSeconds", 60))
	require.Equal(t, int64(60), options()[1].Value)
	mustRun(t, e.db, d("collMod", "cm", "expireAfterSeconds", "off"))
	require.Len(t, options(), 1)
	mustRun(t, e.db, d("collMod", "cm", "timeseries", d("granularity", "hours")))
	require.Equal(t, d("timeField", "ts", "metaField", "meta", "granularity", "hours", "bucketMaxSpanSeconds", int32(2592000)), options()[0].Value)

	for _, tc := range []struct {
		name string
		cmd  bson.D
		code int32
	}{
		{"shrink granularity", d("collMod", "cm", "timeseries", d("granularity", "seconds")), 72},
		{"timeField immutable", d("collMod", "cm", "timeseries", d("timeField", "x")), 40415},
		{"validator", d("collMod", "cm", "validator", d("a", 1)), 72},
		{"negative ttl", d("collMod", "cm", "expireAfterSeconds", -5), 72},
		{"ttl wrong type", d("collMod", "cm", "expireAfterSeconds", true), 14},
		{"missing collection", d("collMod", "nope", "expireAfterSeconds", 5), 26},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := run(t, e.db, tc.cmd)
			requireCode(t, err, tc.code)
		})
	}
}
