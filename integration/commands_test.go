package integration

import (
	"errors"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chronogo/chronogo/integration/setup"
)

// The must rows of mongo-timeseries.md through the official Go driver against the real binary.

func requireCode(t *testing.T, err error, code int32) {
	t.Helper()
	require.Error(t, err)
	var ce mongo.CommandError
	if errors.As(err, &ce) {
		require.Equal(t, code, ce.Code, "error %v", err)
		return
	}
	var we mongo.WriteException
	if errors.As(err, &we) && len(we.WriteErrors) > 0 {
		require.Equal(t, int(code), we.WriteErrors[0].Code, "error %v", err)
		return
	}
	var bwe mongo.BulkWriteException
	if errors.As(err, &bwe) && len(bwe.WriteErrors) > 0 {
		require.Equal(t, int(code), bwe.WriteErrors[0].Code, "error %v", err)
		return
	}
	t.Fatalf("not a command or write error: %v (%T)", err, err)
}

func TestCommandsHandshakeAndAdmin(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	srv := setup.Start(t, "")
	admin := srv.Client().Database("admin")
	var hello bson.M
	require.NoError(t, admin.RunCommand(ctx, bson.D{{Key: "hello", Value: 1}}).Decode(&hello))
	require.Equal(t, true, hello["isWritablePrimary"])
	require.EqualValues(t, 25, hello["maxWireVersion"])
	require.EqualValues(t, 48000000, hello["maxMessageSizeBytes"])
	var bi bson.M
	require.NoError(t, admin.RunCommand(ctx, bson.D{{Key: "buildInfo", Value: 1}}).Decode(&bi))
	require.Regexp(t, `^8\.0\.`, bi["version"])
	requireCode(t, admin.RunCommand(ctx, bson.D{{Key: "atlasVersion", Value: 1}}).Err(), 59)
	requireCode(t, admin.RunCommand(ctx, bson.D{{Key: "noSuchCommand", Value: 1}}).Err(), 59)
	require.NoError(t, admin.RunCommand(ctx, bson.D{{Key: "ping", Value: 1}}).Err())
}

func createTS(t *testing.T, db *mongo.Database, name string) *mongo.Collection {
	t.Helper()
	require.NoError(t, db.CreateCollection(testCtx(t), name, options.CreateCollection().
		SetTimeSeriesOptions(options.TimeSeries().SetTimeField("ts").SetMetaField("meta").SetGranularity("minutes"))))
	return db.Collection(name)
}

func TestCommandsCreateValidation(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	srv := setup.Start(t, "")
	db := srv.Client().Database("v")
	run := func(cmd bson.D) error { return db.RunCommand(ctx, cmd).Err() }
	ts := func(fields ...bson.E) bson.D {
		return bson.D{{Key: "create", Value: "c"}, {Key: "timeseries", Value: bson.D(fields)}}
	}
	requireCode(t, run(ts(bson.E{Key: "metaField", Value: "m"})), 40414)
	requireCode(t, run(ts(bson.E{Key: "timeField", Value: 1})), 14)
	requireCode(t, run(ts(bson.E{Key: "timeField", Value: "a.b"})), 72)
	requireCode(t, run(ts(bson.E{Key: "timeField", Value: "t"}, bson.E{Key: "metaField", Value: "t"})), 72)
	requireCode(t, run(ts(bson.E{Key: "timeField", Value: "t"}, bson.E{Key: "granularity", Value: "days"})), 2)
	requireCode(t, run(ts(bson.E{Key: "timeField", Value: "t"}, bson.E{Key: "x", Value: 1})), 40415)
	requireCode(t, run(append(ts(bson.E{Key: "timeField", Value: "t"}), bson.E{Key: "expireAfterSeconds", Value: -1})), 72)
	// nothing was created by the failed attempts
	names, err := db.ListCollectionNames(ctx, bson.D{})
	require.NoError(t, err)
	require.Empty(t, names)
	require.NoError(t, run(ts(bson.E{Key: "timeField", Value: "t"})))
	require.NoError(t, run(ts(bson.E{Key: "timeField", Value: "t"})), "re-create with identical options succeeds")
	requireCode(t, run(ts(bson.E{Key: "timeField", Value: "u"})), 48)
}

func TestCommandsListCollectionsShape(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	srv := setup.Start(t, "")
	db := srv.Client().Database("shape")
	require.NoError(t, db.CreateCollection(ctx, "r", options.CreateCollection().
		SetTimeSeriesOptions(options.TimeSeries().SetTimeField("ts").SetMetaField("meta").SetGranularity("minutes")).
		SetExpireAfterSeconds(3600)))
	cur, err := db.ListCollections(ctx, bson.D{})
	require.NoError(t, err)
	var specs []bson.M
	require.NoError(t, cur.All(ctx, &specs))
	require.Len(t, specs, 1)
	require.Equal(t, "r", specs[0]["name"])
	require.Equal(t, "timeseries", specs[0]["type"])
	opts := specs[0]["options"].(bson.D)
	got := map[string]any{}
	for _, e := range opts {
		got[e.Key] = e.Value
	}
	require.EqualValues(t, 3600, got["expireAfterSeconds"])
	tsOpts := map[string]any{}
	for _, e := range got["timeseries"].(bson.D) {
		tsOpts[e.Key] = e.Value
	}
	require.Equal(t, "ts", tsOpts["timeField"])
	require.Equal(t, "meta", tsOpts["metaField"])
	require.Equal(t, "minutes", tsOpts["granularity"])
	require.EqualValues(t, 86400, tsOpts["bucketMaxSpanSeconds"])

	cur, err = db.ListCollections(ctx, bson.D{}, options.ListCollections().SetNameOnly(true))
	require.NoError(t, err)
	specs = nil
	require.NoError(t, cur.All(ctx, &specs))
	require.Equal(t, "timeseries", specs[0]["type"], "nameOnly keeps the type")
}

func TestCommandsInsertOrderedAndUnordered(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	srv := setup.Start(t, "")
	coll := createTS(t, srv.Client().Database("ins"), "m")
	now := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	docs := []any{
		bson.D{{Key: "ts", Value: now}, {Key: "v", Value: 1}},
		bson.D{{Key: "v", Value: 2}}, // no time field
		bson.D{{Key: "ts", Value: now.Add(time.Second)}, {Key: "v", Value: 3}},
		bson.D{{Key: "ts", Value: "yesterday"}, {Key: "v", Value: 4}}, // not a date
		bson.D{{Key: "ts", Value: now.Add(2 * time.Second)}, {Key: "v", Value: 5}},
	}
	_, err := coll.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	var bwe mongo.BulkWriteException
	require.ErrorAs(t, err, &bwe)
	require.Len(t, bwe.WriteErrors, 2)
	require.Equal(t, 1, bwe.WriteErrors[0].Index)
	require.Equal(t, 2, bwe.WriteErrors[0].Code)
	require.Equal(t, "'ts' must be present and contain a valid BSON UTC datetime value", bwe.WriteErrors[0].Message)
	require.Equal(t, 3, bwe.WriteErrors[1].Index)
	n, err := coll.CountDocuments(ctx, bson.D{})
	require.NoError(t, err)
	require.EqualValues(t, 3, n, "unordered: the good documents are kept")

	coll2 := createTS(t, srv.Client().Database("ins"), "o")
	_, err = coll2.InsertMany(ctx, docs) // ordered: stops at the first bad document
	require.ErrorAs(t, err, &bwe)
	require.Len(t, bwe.WriteErrors, 1)
	n, err = coll2.CountDocuments(ctx, bson.D{})
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
}

func TestCommandsFindCursorsAndTypes(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	srv := setup.Start(t, "")
	coll := createTS(t, srv.Client().Database("f"), "m")
	base := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	var docs []any
	for i := 0; i < 250; i++ {
		docs = append(docs, bson.D{{Key: "ts", Value: base.Add(time.Duration(i) * time.Minute)},
			{Key: "meta", Value: bson.D{{Key: "host", Value: []string{"a", "b", "c"}[i%3]}}},
			{Key: "i32", Value: int32(i)}, {Key: "i64", Value: int64(i) << 33}, {Key: "f", Value: float64(i) / 4},
			{Key: "s", Value: "x"}, {Key: "b", Value: i%2 == 0}, {Key: "sub", Value: bson.D{{Key: "k", Value: i}}}})
	}
	_, err := coll.InsertMany(ctx, docs)
	require.NoError(t, err)

	// sort + skip + limit + projection across getMore batches
	cur, err := coll.Find(ctx, bson.D{{Key: "meta.host", Value: "b"}}, options.Find().
		SetSort(bson.D{{Key: "ts", Value: -1}}).SetSkip(2).SetLimit(50).SetBatchSize(7).
		SetProjection(bson.D{{Key: "i32", Value: 1}, {Key: "_id", Value: 0}}))
	require.NoError(t, err)
	var got []int32
	for cur.Next(ctx) {
		require.Len(t, cur.Current, len(bson.Raw(mustMarshal(t, bson.D{{Key: "i32", Value: int32(0)}}))), "projection keeps only i32")
		got = append(got, cur.Current.Lookup("i32").Int32())
	}
	require.NoError(t, cur.Err())
	var want []int32
	for i := 249; i >= 0; i-- {
		if i%3 == 1 {
			want = append(want, int32(i))
		}
	}
	require.Equal(t, want[2:52], got)

	// BSON types come back as inserted
	var one bson.Raw
	require.NoError(t, coll.FindOne(ctx, bson.D{{Key: "i32", Value: 7}}).Decode(&one))
	require.Equal(t, bson.TypeInt32, one.Lookup("i32").Type)
	require.Equal(t, bson.TypeInt64, one.Lookup("i64").Type)
	require.Equal(t, int64(7)<<33, one.Lookup("i64").Int64())
	require.Equal(t, 1.75, one.Lookup("f").Double())
	require.Equal(t, bson.TypeEmbeddedDocument, one.Lookup("sub").Type)
	require.Equal(t, false, one.Lookup("b").Boolean())

	// count, distinct
	n, err := coll.CountDocuments(ctx, bson.D{{Key: "ts", Value: bson.D{{Key: "$gte", Value: base.Add(100 * time.Minute)}}}})
	require.NoError(t, err)
	require.EqualValues(t, 150, n)
	res := coll.Distinct(ctx, "meta.host", bson.D{})
	require.NoError(t, res.Err())
	var hosts []string
	require.NoError(t, res.Decode(&hosts))
	sort.Strings(hosts)
	require.Equal(t, []string{"a", "b", "c"}, hosts)

	// aggregate: $group by $dateTrunc hour and host
	cur, err = coll.Aggregate(ctx, mongo.Pipeline{
		{{Key: "$match", Value: bson.D{{Key: "meta.host", Value: "a"}}}},
		{{Key: "$group", Value: bson.D{{Key: "_id", Value: bson.D{{Key: "$dateTrunc", Value: bson.D{{Key: "date", Value: "$ts"}, {Key: "unit", Value: "hour"}}}}},
			{Key: "n", Value: bson.D{{Key: "$sum", Value: 1}}}, {Key: "max", Value: bson.D{{Key: "$max", Value: "$i32"}}}}}},
		{{Key: "$sort", Value: bson.D{{Key: "_id", Value: 1}}}},
	})
	require.NoError(t, err)
	var groups []bson.M
	require.NoError(t, cur.All(ctx, &groups))
	require.Len(t, groups, 5)                    // 250 minutes = hours 0..4
	require.EqualValues(t, 20, groups[0]["n"])   // i in 0..59 with i%3==0
	require.EqualValues(t, 57, groups[0]["max"]) // largest multiple of 3 below 60
}

func mustMarshal(t *testing.T, d bson.D) []byte {
	b, err := bson.Marshal(d)
	require.NoError(t, err)
	return b
}

func TestCommandsDeleteIndexesDrop(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	srv := setup.Start(t, "")
	db := srv.Client().Database("d")
	coll := createTS(t, db, "m")
	base := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	var docs []any
	for i := 0; i < 30; i++ {
		docs = append(docs, bson.D{{Key: "ts", Value: base.Add(time.Duration(i) * time.Second)}, {Key: "meta", Value: []string{"x", "y"}[i%2]}, {Key: "v", Value: i}})
	}
	_, err := coll.InsertMany(ctx, docs)
	require.NoError(t, err)
	res, err := coll.DeleteMany(ctx, bson.D{{Key: "meta", Value: "x"}, {Key: "ts", Value: bson.D{{Key: "$lt", Value: base.Add(10 * time.Second)}}}})
	require.NoError(t, err)
	require.EqualValues(t, 5, res.DeletedCount)
	n, err := coll.CountDocuments(ctx, bson.D{})
	require.NoError(t, err)
	require.EqualValues(t, 25, n)
	_, err = coll.DeleteMany(ctx, bson.D{{Key: "v", Value: 3}})
	requireCode(t, err, 72)

	// indexes: the automatic meta_1_ts_1 plus a user index
	_, err = coll.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: bson.D{{Key: "meta", Value: 1}, {Key: "ts", Value: -1}}})
	require.NoError(t, err)
	specs, err := coll.Indexes().ListSpecifications(ctx)
	require.NoError(t, err)
	var names []string
	for _, s := range specs {
		names = append(names, s.Name)
	}
	require.Contains(t, names, "meta_1_ts_1")
	require.Contains(t, names, "meta_1_ts_-1")

	require.NoError(t, coll.Drop(ctx))
	left, err := db.ListCollectionNames(ctx, bson.D{})
	require.NoError(t, err)
	require.Empty(t, left)
	n, err = db.Collection("m").CountDocuments(ctx, bson.D{})
	require.NoError(t, err)
	require.Zero(t, n)
	require.NoError(t, db.Drop(ctx))
	dbs, err := srv.Client().ListDatabaseNames(ctx, bson.D{})
	require.NoError(t, err)
	require.NotContains(t, dbs, "d")
}
