package mongo

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// TestPlainCollections: create without timeseries makes a plain collection whose documents keep
// their _id unique (MongoDB's equal numbers included), read back through find, count and
// aggregate, and go with deletes and drop. The store is meta/plain's state machine, applied
// directly; the integration tests run it under Raft.
func TestPlainCollections(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	mustRun(t, e.db, d("create", "devices"))
	mustRun(t, e.db, d("create", "devices")) // again: nothing changes
	list := mustRun(t, e.db, d("listCollections", 1, "filter", d("name", "devices")))
	batch := field(t, list.Lookup("cursor").Document(), "firstBatch").(bson.A)
	require.Len(t, batch, 1)
	require.Equal(t, d("name", "devices", "type", "collection", "options", d(), "info", d("readOnly", false),
		"idIndex", d("v", int32(2), "key", d("_id", int32(1)), "name", "_id_")), batch[0])
	_, err := run(t, e.db, d("create", "devices", "timeseries", d("timeField", "t")))
	requireCode(t, err, 48)

	coll := e.db.Collection("devices")
	docs := []any{
		d("_id", 1, "site", "a", "model", "x1"),
		d("_id", "dev-2", "site", "b", "model", "x2"),
		d("_id", 1.0, "site", "c"),    // equals 1
		d("site", "a", "model", "x3"), // gets an ObjectId
		d("_id", int64(3), "site", "b", "tags", bson.A{"r", "s"}),
	}
	_, err = coll.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	var bwe mongo.BulkWriteException
	require.True(t, errors.As(err, &bwe), "%v", err)
	require.Len(t, bwe.WriteErrors, 1)
	we := bwe.WriteErrors[0]
	require.Equal(t, 2, we.Index)
	require.Equal(t, 11000, we.Code)
	require.Contains(t, we.Message, "E11000 duplicate key error collection: testdb.devices index: _id_ dup key")
	raw := we.Raw
	require.Equal(t, bson.Raw(mustMarshal(t, d("_id", int32(1)))), raw.Lookup("keyPattern").Document())
	require.Equal(t, 1.0, raw.Lookup("keyValue", "_id").Double())

	// ordered: stops at the duplicate
	_, err = coll.InsertMany(ctx, []any{d("_id", 9), d("_id", "dev-2"), d("_id", 10)})
	require.True(t, errors.As(err, &bwe), "%v", err)
	require.Len(t, bwe.WriteErrors, 1)
	require.Equal(t, 1, bwe.WriteErrors[0].Index)
	require.ErrorIs(t, coll.FindOne(ctx, d("_id", 10)).Err(), mongo.ErrNoDocuments, "not inserted after the error")
	_, err = coll.DeleteOne(ctx, d("_id", 9))
	require.NoError(t, err)

	n, err := coll.CountDocuments(ctx, d("site", "a"))
	require.NoError(t, err)
	require.EqualValues(t, 2, n)
	cur, err := coll.Find(ctx, d("site", d("$in", bson.A{"a", "b"})), options.Find().SetSort(d("site", 1, "model", -1)).SetProjection(d("_id", 0, "model", 1)))
	require.NoError(t, err)
	var got []bson.D
	require.NoError(t, cur.All(ctx, &got))
	require.Equal(t, []bson.D{d("model", "x3"), d("model", "x1"), d("model", "x2"), d()}, got)
	var one bson.D
	require.NoError(t, coll.FindOne(ctx, d("_id", int64(1))).Decode(&one), "_id 1 found as a long")
	require.Equal(t, d("_id", int32(1), "site", "a", "model", "x1"), one)

	agg, err := coll.Aggregate(ctx, bson.A{d("$group", d("_id", "$site", "n", d("$sum", 1))), d("$sort", d("_id", 1))})
	require.NoError(t, err)
	var groups []bson.D
	require.NoError(t, agg.All(ctx, &groups))
	require.Equal(t, []bson.D{d("_id", "a", "n", int32(2)), d("_id", "b", "n", int32(2))}, groups)

	// bad _ids
	_, err = coll.InsertOne(ctx, d("_id", bson.A{1}))
	var we2 mongo.WriteException
	require.True(t, errors.As(err, &we2), "%v", err)
	require.Equal(t, 2, we2.WriteErrors[0].Code)

	// deletes
	dr, err := coll.DeleteOne(ctx, d("site", "b"))
	require.NoError(t, err)
	require.EqualValues(t, 1, dr.DeletedCount)
	dr, err = coll.DeleteMany(ctx, d("site", d("$ne", "zzz")))
	require.NoError(t, err)
	require.EqualValues(t, 3, dr.DeletedCount)
	n, err = coll.CountDocuments(ctx, d())
	require.NoError(t, err)
	require.Zero(t, n)

	require.NoError(t, coll.Drop(ctx))
	list = mustRun(t, e.db, d("listCollections", 1, "filter", d("name", "devices")))
	require.Empty(t, field(t, list.Lookup("cursor").Document(), "firstBatch").(bson.A))
}

// TestPlainUpdates: updateOne, updateMany, replaceOne and upserts on a plain collection, with
// the counts and upserted ids MongoDB reports.
func TestPlainUpdates(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	coll := e.db.Collection("reg")
	_, err := coll.InsertMany(ctx, []any{d("_id", 1, "site", "a", "n", 1), d("_id", 2, "site", "a", "n", 2), d("_id", 3, "site", "b", "n", 3)})
	require.NoError(t, err)

	r, err := coll.UpdateMany(ctx, d("site", "a"), d("$inc", d("n", 10), "$set", d("seen", true)))
	require.NoError(t, err)
	require.EqualValues(t, 2, r.MatchedCount)
	require.EqualValues(t, 2, r.ModifiedCount)
	r, err = coll.UpdateOne(ctx, d("site", "a"), d("$set", d("seen", true))) // no change
	require.NoError(t, err)
	require.EqualValues(t, 1, r.MatchedCount)
	require.EqualValues(t, 0, r.ModifiedCount)
	r, err = coll.ReplaceOne(ctx, d("_id", 3), d("site", "c"))
	require.NoError(t, err)
	require.EqualValues(t, 1, r.ModifiedCount)
	r, err = coll.UpdateOne(ctx, d("_id", 7, "site", "z"), d("$set", d("n", 70), "$setOnInsert", d("new", true)), options.UpdateOne().SetUpsert(true))
	require.NoError(t, err)
	require.EqualValues(t, 0, r.MatchedCount)
	require.EqualValues(t, int32(7), r.UpsertedID)
	r, err = coll.UpdateOne(ctx, d("site", "q"), d("$set", d("n", 1)), options.UpdateOne().SetUpsert(true))
	require.NoError(t, err)
	require.IsType(t, bson.ObjectID{}, r.UpsertedID, "an upsert without _id in the query gets an ObjectId")
	_, err = coll.UpdateOne(ctx, d("_id", 1), d("$set", d("_id", 9)))
	var we mongo.WriteException
	require.True(t, errors.As(err, &we), "%v", err)
	require.Equal(t, 66, we.WriteErrors[0].Code)

	cur, err := coll.Find(ctx, d("_id", d("$lte", 7)), options.Find().SetSort(d("_id", 1)))
	require.NoError(t, err)
	var got []bson.D
	require.NoError(t, cur.All(ctx, &got))
	require.Equal(t, []bson.D{
		d("_id", int32(1), "site", "a", "n", int32(11), "seen", true),
		d("_id", int32(2), "site", "a", "n", int32(12), "seen", true),
		d("_id", int32(3), "site", "c"),
		d("_id", int32(7), "site", "z", "n", int32(70), "new", true),
	}, got)

	// an upsert into a collection that does not exist creates it
	r, err = e.db.Collection("fresh").UpdateOne(ctx, d("_id", "k"), d("$set", d("v", 1)), options.UpdateOne().SetUpsert(true))
	require.NoError(t, err)
	require.Equal(t, "k", r.UpsertedID)
}

// TestPlainFindAndModify: findOneAndUpdate/Replace/Delete return the document before or after,
// in sort order, and upsert; time series refuse it.
func TestPlainFindAndModify(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	coll := e.db.Collection("jobs")
	_, err := coll.InsertMany(ctx, []any{d("_id", 1, "state", "new", "pri", 2), d("_id", 2, "state", "new", "pri", 5), d("_id", 3, "state", "done", "pri", 9)})
	require.NoError(t, err)

	var got bson.D
	err = coll.FindOneAndUpdate(ctx, d("state", "new"), d("$set", d("state", "taken")),
		options.FindOneAndUpdate().SetSort(d("pri", -1)).SetReturnDocument(options.After).SetProjection(d("pri", 0))).Decode(&got)
	require.NoError(t, err)
	require.Equal(t, d("_id", int32(2), "state", "taken"), got, "the highest priority, after")
	err = coll.FindOneAndUpdate(ctx, d("state", "new"), d("$inc", d("pri", 1))).Decode(&got)
	require.NoError(t, err)
	require.Equal(t, d("_id", int32(1), "state", "new", "pri", int32(2)), got, "before, by default")
	err = coll.FindOneAndReplace(ctx, d("_id", 3), d("state", "archived"), options.FindOneAndReplace().SetReturnDocument(options.After)).Decode(&got)
	require.NoError(t, err)
	require.Equal(t, d("_id", int32(3), "state", "archived"), got)
	err = coll.FindOneAndDelete(ctx, d("_id", 1)).Decode(&got)
	require.NoError(t, err)
	require.Equal(t, d("_id", int32(1), "state", "new", "pri", int32(3)), got)
	require.ErrorIs(t, coll.FindOneAndDelete(ctx, d("_id", 1)).Err(), mongo.ErrNoDocuments)
	err = coll.FindOneAndUpdate(ctx, d("_id", 8), d("$set", d("state", "new")),
		options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After)).Decode(&got)
	require.NoError(t, err)
	require.Equal(t, d("_id", int32(8), "state", "new"), got)
	n, err := coll.CountDocuments(ctx, d())
	require.NoError(t, err)
	require.EqualValues(t, 3, n)

	_, err = run(t, e.db, d("findAndModify", "jobs", "remove", true, "update", d("$set", d("a", 1))))
	requireCode(t, err, 9)
	e.createTS(t, "ts")
	_, err = run(t, e.db, d("findAndModify", "ts", "remove", true))
	requireCode(t, err, 72)
}

// TestPlainOrderedInsertStopsAcrossBatches: an ordered insert larger than one proposal stops at
// its first duplicate; nothing of the later batches is written.
func TestPlainOrderedInsertStopsAcrossBatches(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	coll := e.db.Collection("big")
	docs := make([]any, 2*plainBatchItems+500)
	for i := range docs {
		docs[i] = d("_id", i)
	}
	docs[10] = d("_id", 0)
	_, err := coll.InsertMany(ctx, docs)
	var bwe mongo.BulkWriteException
	require.True(t, errors.As(err, &bwe), "%v", err)
	require.Len(t, bwe.WriteErrors, 1)
	require.Equal(t, 10, bwe.WriteErrors[0].Index)
	n, err := coll.CountDocuments(ctx, d())
	require.NoError(t, err)
	require.EqualValues(t, 10, n, "only the documents before the duplicate")
}

// TestPlainSecondaryIndexes: unique, compound and multikey indexes on a plain collection keep
// their constraints through inserts, updates and index builds (11000 with keyPattern and
// keyValue, 171 for parallel arrays), and the queries that read through them (explain shows
// which) return what a scan of the inserted documents in the test returns.
func TestPlainSecondaryIndexes(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	coll := e.db.Collection("devices")
	type dev struct {
		id     int
		serial string
		site   string
		rack   int
		tags   []string
	}
	var devs []dev
	var docs []any
	for i := range 60 {
		v := dev{id: i, serial: fmt.Sprintf("sn-%03d", i), site: []string{"ams", "fra", "par"}[i%3], rack: i % 7}
		for k := range i % 4 {
			v.tags = append(v.tags, []string{"gpu", "ssd", "edge"}[(i+k)%3])
		}
		devs = append(devs, v)
		tags := bson.A{}
		for _, x := range v.tags {
			tags = append(tags, x)
		}
		docs = append(docs, d("_id", v.id, "serial", v.serial, "site", v.site, "rack", v.rack, "tags", tags))
	}
	_, err := coll.InsertMany(ctx, docs)
	require.NoError(t, err)
	mustRun(t, e.db, d("createIndexes", "devices", "indexes", bson.A{
		d("key", d("serial", 1), "name", "serial_1", "unique", true),
		d("key", d("site", 1, "rack", -1), "name", "site_rack"),
		d("key", d("tags", 1), "name", "tags_1"),
		d("key", d("rack", 1), "name", "rack_1"),
	}))

	// a duplicate serial: 11000 naming the index, with keyPattern and keyValue
	_, err = coll.InsertOne(ctx, d("_id", 100, "serial", "sn-007"))
	var we mongo.WriteException
	require.True(t, errors.As(err, &we), "%v", err)
	require.Equal(t, 11000, we.WriteErrors[0].Code)
	require.Contains(t, we.WriteErrors[0].Message, "index: serial_1 dup key: { serial: \"sn-007\" }")
	require.Equal(t, bson.Raw(mustMarshal(t, d("serial", int32(1)))), we.WriteErrors[0].Raw.Lookup("keyPattern").Document())
	require.Equal(t, "sn-007", we.WriteErrors[0].Raw.Lookup("keyValue", "serial").StringValue())
	require.ErrorIs(t, coll.FindOne(ctx, d("_id", 100)).Err(), mongo.ErrNoDocuments, "nothing written")
	// an update to another device's serial fails; rewriting its own serial does not
	_, err = coll.UpdateOne(ctx, d("_id", 1), d("$set", d("serial", "sn-002")))
	require.True(t, errors.As(err, &we), "%v", err)
	require.Equal(t, 11000, we.WriteErrors[0].Code)
	_, err = coll.UpdateOne(ctx, d("_id", 1), d("$set", d("serial", "sn-001", "note", "same")))
	require.NoError(t, err)
	// parallel arrays in a compound index
	mustRun(t, e.db, d("createIndexes", "devices", "indexes", bson.A{d("key", d("tags", 1, "ports", 1), "name", "tags_ports")}))
	_, err = coll.InsertOne(ctx, d("_id", 101, "serial", "sn-101", "tags", bson.A{"a"}, "ports", bson.A{1, 2}))
	require.True(t, errors.As(err, &we), "%v", err)
	require.Equal(t, 171, we.WriteErrors[0].Code)
	mustRun(t, e.db, d("dropIndexes", "devices", "index", "tags_ports"))
	// a unique index over existing duplicates is refused and not listed
	_, err = run(t, e.db, d("createIndexes", "devices", "indexes", bson.A{d("key", d("site", 1), "name", "site_u", "unique", true)}))
	requireCode(t, err, 11000)
	list := mustRun(t, e.db, d("listIndexes", "devices"))
	require.Len(t, field(t, list.Lookup("cursor").Document(), "firstBatch"), 5)

	ids := func(filter bson.D) []int {
		cur, err := coll.Find(ctx, filter)
		require.NoError(t, err)
		var out []int
		for cur.Next(ctx) {
			out = append(out, int(cur.Current.Lookup("_id").Int32()))
		}
		require.NoError(t, cur.Err())
		sort.Ints(out)
		return out
	}
	want := func(keep func(dev) bool) []int {
		var out []int
		for _, v := range devs {
			if keep(v) {
				out = append(out, v.id)
			}
		}
		return out
	}
	plan := func(filter bson.D) bson.Raw {
		r := mustRun(t, e.db, d("explain", d("find", "devices", "filter", filter)))
		return r.Lookup("queryPlanner", "winningPlan").Document()
	}
	has := func(v dev, tag string) bool { return slices.Contains(v.tags, tag) }
	cases := []struct {
		filter bson.D
		keep   func(dev) bool
		stage  string
		index  string
	}{
		{d("serial", "sn-042"), func(v dev) bool { return v.serial == "sn-042" }, "FETCH", "serial_1"},
		{d("site", "fra", "rack", d("$in", bson.A{2, 5.0})), func(v dev) bool { return v.site == "fra" && (v.rack == 2 || v.rack == 5) }, "FETCH", "site_rack"},
		{d("tags", "gpu"), func(v dev) bool { return has(v, "gpu") }, "FETCH", "tags_1"},
		{d("tags", d("$in", bson.A{"gpu", "ssd"})), func(v dev) bool { return has(v, "gpu") || has(v, "ssd") }, "FETCH", "tags_1"},
		{d("rack", d("$gte", 2, "$lt", int64(5))), func(v dev) bool { return v.rack >= 2 && v.rack < 5 }, "FETCH", "rack_1"},
		{d("$and", bson.A{d("rack", d("$gt", 4.5)), d("site", "ams")}), func(v dev) bool { return v.rack > 4 && v.site == "ams" }, "FETCH", "site_rack"},
		{d("_id", d("$in", bson.A{3, 4.0, int64(5), 999})), func(v dev) bool { return v.id >= 3 && v.id <= 5 }, "IDHACK", ""},
		{d("site", d("$regex", "^a")), func(v dev) bool { return v.site == "ams" }, "COLLSCAN", ""},
	}
	for _, c := range cases {
		require.Equal(t, want(c.keep), ids(c.filter), "%v", c.filter)
		p := plan(c.filter)
		require.Equal(t, c.stage, p.Lookup("stage").StringValue(), "%v", c.filter)
		if c.index != "" {
			require.Equal(t, c.index, p.Lookup("inputStage", "indexName").StringValue(), "%v", c.filter)
		}
	}
	// deletes through an index leave the others
	res, err := coll.DeleteMany(ctx, d("tags", "edge"))
	require.NoError(t, err)
	require.EqualValues(t, len(want(func(v dev) bool { return has(v, "edge") })), res.DeletedCount)
	require.Empty(t, ids(d("tags", "edge")))
	require.Equal(t, want(func(v dev) bool { return has(v, "gpu") && !has(v, "edge") }), ids(d("tags", "gpu")))

	// after dropIndexes the duplicate goes in
	mustRun(t, e.db, d("dropIndexes", "devices", "index", "serial_1"))
	_, err = coll.InsertOne(ctx, d("_id", 100, "serial", "sn-007"))
	require.NoError(t, err)
	require.Equal(t, "COLLSCAN", plan(d("serial", "sn-007")).Lookup("stage").StringValue())
}

// TestPlainArrayUpdates: arrayFilters, the positional operators and the array operators through
// the Go driver's updateOne and findOneAndUpdate.
func TestPlainArrayUpdates(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	coll := e.db.Collection("sensors")
	_, err := coll.InsertOne(ctx, d("_id", 1, "ports", bson.A{d("n", 1, "state", "up"), d("n", 2, "state", "down"), d("n", 3, "state", "down")}, "readings", bson.A{3, 5, 6, 7, 8}))
	require.NoError(t, err)
	_, err = coll.UpdateOne(ctx, d("_id", 1), d("$set", d("ports.$[p].state", "repair")),
		options.UpdateOne().SetArrayFilters([]any{d("p.state", "down")}))
	require.NoError(t, err)
	_, err = coll.UpdateOne(ctx, d("_id", 1, "ports.n", 1), d("$set", d("ports.$.state", "off"), "$pull", d("readings", d("$gte", 7))))
	require.NoError(t, err)
	var got bson.M
	require.NoError(t, coll.FindOneAndUpdate(ctx, d("_id", 1), d("$push", d("readings", d("$each", bson.A{1, 2}, "$sort", 1, "$slice", -4))),
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&got))
	require.Equal(t, bson.M{"_id": int32(1),
		"ports":    bson.A{d("n", int32(1), "state", "off"), d("n", int32(2), "state", "repair"), d("n", int32(3), "state", "repair")},
		"readings": bson.A{int32(2), int32(3), int32(5), int32(6)}}, got)
	_, err = coll.UpdateOne(ctx, d("_id", 1), d("$set", d("ports.$[q].state", 1)), options.UpdateOne().SetArrayFilters([]any{d("p.state", "x")}))
	requireCode(t, err, 2)
}
