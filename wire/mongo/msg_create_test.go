package mongo

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
)

func TestCreateOptions(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name string
		opts bson.D // the create command after {create: name}
		code int32  // 0: success
		ts   bson.D // expected options.timeseries on success
	}{
		{"defaults", d("timeseries", d("timeField", "t")), 0, d("timeField", "t", "granularity", "seconds", "bucketMaxSpanSeconds", int32(3600))},
		{"meta minutes", d("timeseries", d("timeField", "t", "metaField", "m", "granularity", "minutes")), 0,
			d("timeField", "t", "metaField", "m", "granularity", "minutes", "bucketMaxSpanSeconds", int32(86400))},
		{"hours", d("timeseries", d("timeField", "t", "granularity", "hours")), 0,
			d("timeField", "t", "granularity", "hours", "bucketMaxSpanSeconds", int32(2592000))},
		{"custom bucketing", d("timeseries", d("timeField", "t", "bucketMaxSpanSeconds", 500, "bucketRoundingSeconds", int64(500))), 0,
			d("timeField", "t", "bucketRoundingSeconds", int32(500), "bucketMaxSpanSeconds", int32(500))},
		{"custom double truncated", d("timeseries", d("timeField", "t", "bucketMaxSpanSeconds", 500.7, "bucketRoundingSeconds", 500)), 0,
			d("timeField", "t", "bucketRoundingSeconds", int32(500), "bucketMaxSpanSeconds", int32(500))},
		{"granularity with default span", d("timeseries", d("timeField", "t", "granularity", "minutes", "bucketMaxSpanSeconds", 86400)), 0,
			d("timeField", "t", "granularity", "minutes", "bucketMaxSpanSeconds", int32(86400))},
		{"ignored options", d("timeseries", d("timeField", "t"), "collation", d("locale", "simple"), "writeConcern", d("w", 1), "comment", "c"), 0,
			d("timeField", "t", "granularity", "seconds", "bucketMaxSpanSeconds", int32(3600))},

		{"timeField missing", d("timeseries", d("metaField", "m")), 40414, nil},
		{"timeField not string", d("timeseries", d("timeField", 1)), 14, nil},
		{"metaField not string", d("timeseries", d("timeField", "t", "metaField", true)), 14, nil},
		{"granularity not string", d("timeseries", d("timeField", "t", "granularity", 1)), 14, nil},
		{"timeseries not object", d("timeseries", "t"), 14, nil},
		{"ttl not number", d("timeseries", d("timeField", "t"), "expireAfterSeconds", "x"), 14, nil},
		{"timeField dotted", d("timeseries", d("timeField", "a.b")), 72, nil},
		{"timeField NUL", d("timeseries", d("timeField", "a\x00b")), 2, nil},
		{"metaField dotted", d("timeseries", d("timeField", "t", "metaField", "m.x")), 72, nil},
		{"metaField equals timeField", d("timeseries", d("timeField", "t", "metaField", "t")), 72, nil},
		{"metaField _id", d("timeseries", d("timeField", "t", "metaField", "_id")), 72, nil},
		{"unknown granularity", d("timeseries", d("timeField", "t", "granularity", "days")), 2, nil},
		{"span without rounding", d("timeseries", d("timeField", "t", "bucketMaxSpanSeconds", 100)), 72, nil},
		{"rounding without span", d("timeseries", d("timeField", "t", "bucketRoundingSeconds", 100)), 72, nil},
		{"span unequal rounding", d("timeseries", d("timeField", "t", "bucketMaxSpanSeconds", 100, "bucketRoundingSeconds", 50)), 72, nil},
		{"granularity with rounding", d("timeseries", d("timeField", "t", "granularity", "seconds", "bucketRoundingSeconds", 60)), 72, nil},
		{"granularity with other span", d("timeseries", d("timeField", "t", "granularity", "seconds", "bucketMaxSpanSeconds", 100)), 72, nil},
		{"span out of range", d("timeseries", d("timeField", "t", "bucketMaxSpanSeconds", 31536001, "bucketRoundingSeconds", 31536001)), 2, nil},
		{"span zero", d("timeseries", d("timeField", "t", "bucketMaxSpanSeconds", 0, "bucketRoundingSeconds", 0)), 2, nil},
		{"negative ttl", d("timeseries", d("timeField", "t"), "expireAfterSeconds", -1), 72, nil},
		{"capped", d("timeseries", d("timeField", "t"), "capped", true, "size", 100), 72, nil},
		{"validator", d("timeseries", d("timeField", "t"), "validator", d("a", 1)), 72, nil},
		{"viewOn", d("timeseries", d("timeField", "t"), "viewOn", "x"), 72, nil},
		{"clusteredIndex", d("timeseries", d("timeField", "t"), "clusteredIndex", d("key", d("_id", 1), "unique", true)), 72, nil},
		{"unknown timeseries field", d("timeseries", d("timeField", "t", "x", 1)), 40415, nil},
		{"plain collection, capped", d("capped", true, "size", 100), 72, nil},
		{"plain collection, expireAfterSeconds", d("expireAfterSeconds", 10), 72, nil},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			name := "c" + string(rune('a'+i))
			cmd := append(d("create", name), tc.opts...)
			_, err := run(t, e.db, cmd)
			list := mustRun(t, e.db, d("listCollections", 1, "filter", d("name", name)))
			batch := field(t, list.Lookup("cursor").Document(), "firstBatch").(bson.A)
			if tc.code != 0 {
				requireCode(t, err, tc.code)
				require.Empty(t, batch, "a failed create leaves nothing behind")
				return
			}
			require.NoError(t, err)
			require.Len(t, batch, 1)
			got := batch[0].(bson.D)
			require.Equal(t, d("name", name, "type", "timeseries", "options", d("timeseries", tc.ts), "info", d("readOnly", false)), got)
		})
	}
}

func TestCreateIdempotentAndConflicts(t *testing.T) {
	e := newEnv(t)
	create := d("create", "r", "timeseries", d("timeField", "ts", "metaField", "meta"), "expireAfterSeconds", 3600)
	mustRun(t, e.db, create)
	mustRun(t, e.db, create) // identical: succeeds

	_, err := run(t, e.db, d("create", "r", "timeseries", d("timeField", "ts", "metaField", "other")))
	requireCode(t, err, 48)
	_, err = run(t, e.db, d("create", "r"))
	requireCode(t, err, 48)

	list := mustRun(t, e.db, d("listCollections", 1))
	batch := field(t, list.Lookup("cursor").Document(), "firstBatch").(bson.A)
	require.Equal(t, d("timeseries", d("timeField", "ts", "metaField", "meta", "granularity", "seconds", "bucketMaxSpanSeconds", int32(3600)),
		"expireAfterSeconds", int64(3600)), batch[0].(bson.D)[2].Value)
}

func TestListCollectionsShape(t *testing.T) {
	e := newEnv(t)
	e.createTS(t, "b")
	e.createTS(t, "a")
	r := mustRun(t, e.db, d("listCollections", 1, "nameOnly", true))
	cur := r.Lookup("cursor").Document()
	require.Equal(t, "testdb.$cmd.listCollections", cur.Lookup("ns").StringValue())
	require.EqualValues(t, 0, cur.Lookup("id").Int64())
	require.Equal(t, bson.A{d("name", "a", "type", "timeseries"), d("name", "b", "type", "timeseries")}, field(t, cur, "firstBatch"))

	r = mustRun(t, e.db, d("listCollections", 1, "filter", d("type", "timeseries", "name", "b")))
	batch := field(t, r.Lookup("cursor").Document(), "firstBatch").(bson.A)
	require.Len(t, batch, 1)
	require.Equal(t, "b", batch[0].(bson.D)[0].Value)

	r = mustRun(t, e.db, d("listCollections", 1, "filter", d("type", "collection")))
	require.Empty(t, field(t, r.Lookup("cursor").Document(), "firstBatch"))

	names, err := e.db.ListCollectionNames(t.Context(), bson.D{})
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b"}, names)

	// a cursor over listCollections with batchSize 1 continues with getMore
	r = mustRun(t, e.db, d("listCollections", 1, "cursor", d("batchSize", 1)))
	cur = r.Lookup("cursor").Document()
	id := cur.Lookup("id").Int64()
	require.NotZero(t, id)
	r = mustRun(t, e.db, d("getMore", id, "collection", "$cmd.listCollections"))
	next := field(t, r.Lookup("cursor").Document(), "nextBatch").(bson.A)
	require.Len(t, next, 1)
	require.Equal(t, "b", next[0].(bson.D)[0].Value)
}

func TestListDatabasesDropAndDropDatabase(t *testing.T) {
	e := newEnv(t)
	e.createTS(t, "x")
	other := e.client.Database("otherdb")
	mustRun(t, other, d("create", "y", "timeseries", d("timeField", "ts")))

	r := mustRun(t, e.client.Database("admin"), d("listDatabases", 1, "nameOnly", true))
	require.Equal(t, bson.A{d("name", "otherdb"), d("name", "testdb")}, field(t, r, "databases"))
	r = mustRun(t, e.client.Database("admin"), d("listDatabases", 1, "filter", d("name", "otherdb")))
	dbs := field(t, r, "databases").(bson.A)
	require.Len(t, dbs, 1)
	require.Equal(t, d("name", "otherdb", "sizeOnDisk", int64(0), "empty", true), dbs[0])
	names, err := e.client.ListDatabaseNames(t.Context(), bson.D{})
	require.NoError(t, err)
	require.Equal(t, []string{"otherdb", "testdb"}, names)

	r = mustRun(t, e.db, d("drop", "x"))
	require.Equal(t, "testdb.x", r.Lookup("ns").StringValue())
	require.EqualValues(t, 1, r.Lookup("nIndexesWas").Int32(), "the automatic meta/time index")
	mustRun(t, e.db, d("drop", "x")) // MongoDB 7.0+: dropping a missing collection succeeds
	_, err = run(t, e.db, d("listIndexes", "x"))
	requireCode(t, err, 26)

	r = mustRun(t, other, d("dropDatabase", 1))
	require.Equal(t, "otherdb", r.Lookup("dropped").StringValue())
	names, err = other.ListCollectionNames(t.Context(), bson.D{})
	require.NoError(t, err)
	require.Empty(t, names)
}
