package mongo

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

const badTimeMsg = "'ts' must be present and contain a valid BSON UTC datetime value"

func TestInsertOrderedUnordered(t *testing.T) {
	e := newEnv(t)
	docs := []any{
		d("ts", at(0), "meta", "a", "v", 1),
		d("meta", "a", "v", 2), // no time
		d("ts", at(2), "meta", "a", "v", 3),
		d("ts", "2024-01-01", "v", 4), // not a date
		d("ts", at(4), "v", int64(5)),
	}
	cases := []struct {
		name      string
		ordered   bool
		wantN     int
		badIdx    []int
		wantStore int
	}{
		{"ordered", true, 1, []int{1}, 1},
		{"unordered", false, 3, []int{1, 3}, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			coll := e.createTS(t, tc.name)
			_, err := coll.InsertMany(t.Context(), docs, options.InsertMany().SetOrdered(tc.ordered))
			var be mongo.BulkWriteException
			require.True(t, errors.As(err, &be), "%v", err)
			var idx []int
			for _, we := range be.WriteErrors {
				require.Equal(t, 2, we.Code)
				require.Equal(t, badTimeMsg, we.Message)
				idx = append(idx, we.Index)
			}
			require.Equal(t, tc.badIdx, idx)
			require.Equal(t, tc.wantStore, e.b.count("testdb", tc.name))

			// the raw reply carries n
			r, err := run(t, e.db, d("insert", tc.name, "documents", bson.A{docs[0], docs[1]}, "ordered", tc.ordered))
			require.ErrorAs(t, err, new(mongo.WriteException))
			require.EqualValues(t, 1, r.Lookup("n").Int32())
			require.Len(t, field(t, r, "writeErrors").(bson.A), 1)
		})
	}
}

func TestInsertKeepsDocumentsAndDuplicateIDs(t *testing.T) {
	e := newEnv(t)
	coll := e.createTS(t, "m")
	doc := d("_id", 7, "ts", at(1), "meta", d("k", "x"), "i32", int32(1), "i64", int64(2), "f", 1.5, "s", "str")
	_, err := coll.InsertOne(t.Context(), doc)
	require.NoError(t, err)
	_, err = coll.InsertOne(t.Context(), doc) // no unique _id index on time series
	require.NoError(t, err)
	r := mustRun(t, e.db, d("insert", "m", "documents", bson.A{d("ts", at(2))})) // no _id: the server adds one
	require.EqualValues(t, 1, r.Lookup("n").Int32())

	cur, err := coll.Find(t.Context(), bson.D{})
	require.NoError(t, err)
	var got []bson.Raw
	require.NoError(t, cur.All(t.Context(), &got))
	require.Len(t, got, 3)
	want, err := bson.Marshal(doc)
	require.NoError(t, err)
	require.Equal(t, bson.Raw(want), got[0])
	require.Equal(t, bson.TypeObjectID, got[2].Lookup("_id").Type)

	// an insert into a collection that does not exist creates a plain one, as in MongoDB
	r = mustRun(t, e.db, d("insert", "nope", "documents", bson.A{d("ts", at(1))}))
	require.EqualValues(t, 1, r.Lookup("n").Int32())
	list := mustRun(t, e.db, d("listCollections", 1, "filter", d("name", "nope")))
	batch := field(t, list.Lookup("cursor").Document(), "firstBatch").(bson.A)
	require.Len(t, batch, 1)
	require.Equal(t, bson.E{Key: "type", Value: "collection"}, batch[0].(bson.D)[1])
}

func TestInsertBackendFailure(t *testing.T) {
	e := newEnv(t)
	e.createTS(t, "f")
	e.b.failInsert = "boom"
	r, err := run(t, e.db, d("insert", "f", "ordered", false, "documents", bson.A{
		d("_id", "ok1", "ts", at(1)), d("_id", "boom", "ts", at(2)), d("_id", "bad"),
	}))
	require.ErrorAs(t, err, new(mongo.WriteException))
	require.EqualValues(t, 0, r.Lookup("n").Int32())
	errs := field(t, r, "writeErrors").(bson.A)
	require.Len(t, errs, 3, "the failed batch held documents 0 and 1; document 2 has no time")
	for i, code := range []int32{112, 112, 2} {
		we := errs[i].(bson.D)
		require.EqualValues(t, i, we[0].Value)
		require.Equal(t, code, we[1].Value)
	}
}

// fill inserts n measurements v=0..n-1, one minute apart, meta alternating "a"/"b".
func fill(t *testing.T, coll *mongo.Collection, n int) {
	t.Helper()
	docs := make([]any, n)
	for i := range docs {
		docs[i] = d("ts", at(i), "meta", []string{"a", "b"}[i%2], "v", int32(i))
	}
	_, err := coll.InsertMany(t.Context(), docs)
	require.NoError(t, err)
}

func values(t *testing.T, docs []bson.Raw) []int32 {
	t.Helper()
	var out []int32
	for _, doc := range docs {
		out = append(out, doc.Lookup("v").Int32())
	}
	return out
}

func TestFindSortSkipLimitProjection(t *testing.T) {
	e := newEnv(t)
	coll := e.createTS(t, "q")
	fill(t, coll, 10)

	cur, err := coll.Find(t.Context(), d("meta", "a", "v", d("$gte", 2)),
		options.Find().SetSort(d("v", -1)).SetSkip(1).SetLimit(2).SetProjection(d("v", 1, "_id", 0)))
	require.NoError(t, err)
	var got []bson.Raw
	require.NoError(t, cur.All(t.Context(), &got))
	require.Equal(t, []int32{6, 4}, values(t, got)) // a: 2,4,6,8 descending, skip 8
	require.Equal(t, bson.Raw(mustMarshal(t, d("v", int32(6)))), got[0])

	// time range filter
	n, err := coll.CountDocuments(t.Context(), d("ts", d("$gte", at(3), "$lt", at(7))))
	require.NoError(t, err)
	require.EqualValues(t, 4, n)
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := bson.Marshal(v)
	require.NoError(t, err)
	return b
}

func TestFindGetMoreBatches(t *testing.T) {
	e := newEnv(t)
	coll := e.createTS(t, "g")
	fill(t, coll, 25)

	r := mustRun(t, e.db, d("find", "g", "sort", d("ts", 1), "batchSize", 10))
	cur := r.Lookup("cursor").Document()
	require.Equal(t, "testdb.g", cur.Lookup("ns").StringValue())
	id := cur.Lookup("id").Int64()
	require.NotZero(t, id)
	require.Len(t, field(t, cur, "firstBatch").(bson.A), 10)

	r = mustRun(t, e.db, d("getMore", id, "collection", "g", "batchSize", 10))
	cur = r.Lookup("cursor").Document()
	require.Equal(t, id, cur.Lookup("id").Int64())
	next := field(t, cur, "nextBatch").(bson.A)
	require.Len(t, next, 10)
	require.Equal(t, int32(10), next[0].(bson.D)[3].Value)

	_, err := run(t, e.db, d("getMore", id, "collection", "other"))
	requireCode(t, err, 13)

	r = mustRun(t, e.db, d("getMore", id, "collection", "g"))
	cur = r.Lookup("cursor").Document()
	require.Zero(t, cur.Lookup("id").Int64(), "exhausted")
	require.Len(t, field(t, cur, "nextBatch").(bson.A), 5)

	_, err = run(t, e.db, d("getMore", id, "collection", "g"))
	requireCode(t, err, 43)

	// the driver iterates across batches
	c, err := coll.Find(t.Context(), bson.D{}, options.Find().SetBatchSize(4).SetSort(d("v", 1)))
	require.NoError(t, err)
	var all []bson.Raw
	require.NoError(t, c.All(t.Context(), &all))
	require.Len(t, all, 25)
	require.Equal(t, int32(24), all[24].Lookup("v").Int32())

	// singleBatch closes the cursor
	r = mustRun(t, e.db, d("find", "g", "batchSize", 3, "singleBatch", true))
	require.Zero(t, r.Lookup("cursor", "id").Int64())

	// a missing collection is an empty result
	r = mustRun(t, e.db, d("find", "nothing"))
	require.Empty(t, field(t, r.Lookup("cursor").Document(), "firstBatch"))
}

func TestKillCursors(t *testing.T) {
	e := newEnv(t)
	coll := e.createTS(t, "k")
	fill(t, coll, 5)
	r := mustRun(t, e.db, d("find", "k", "batchSize", 1))
	id := r.Lookup("cursor", "id").Int64()
	require.NotZero(t, id)
	r = mustRun(t, e.db, d("killCursors", "k", "cursors", bson.A{id, int64(12345)}))
	require.Equal(t, bson.A{id}, field(t, r, "cursorsKilled"))
	require.Equal(t, bson.A{int64(12345)}, field(t, r, "cursorsNotFound"))
	_, err := run(t, e.db, d("getMore", id, "collection", "k"))
	requireCode(t, err, 43)
}

func TestCountDistinct(t *testing.T) {
	e := newEnv(t)
	coll := e.createTS(t, "cd")
	fill(t, coll, 9)
	_, err := coll.InsertOne(t.Context(), d("ts", at(100), "meta", "c", "v", 1.0, "tags", bson.A{"x", "y"}))
	require.NoError(t, err)
	_, err = coll.InsertOne(t.Context(), d("ts", at(101), "meta", "c", "v", int64(1), "tags", bson.A{"y", "z"}))
	require.NoError(t, err)

	r := mustRun(t, e.db, d("count", "cd", "query", d("meta", "a")))
	require.EqualValues(t, 5, r.Lookup("n").AsInt64())
	r = mustRun(t, e.db, d("count", "cd", "query", d("meta", "a"), "skip", 1, "limit", 3))
	require.EqualValues(t, 3, r.Lookup("n").AsInt64())
	r = mustRun(t, e.db, d("count", "missing"))
	require.EqualValues(t, 0, r.Lookup("n").AsInt64())
	n, err := coll.EstimatedDocumentCount(t.Context())
	require.NoError(t, err)
	require.EqualValues(t, 11, n)

	r = mustRun(t, e.db, d("distinct", "cd", "key", "meta"))
	require.Equal(t, bson.A{"a", "b", "c"}, field(t, r, "values"))
	r = mustRun(t, e.db, d("distinct", "cd", "key", "v", "query", d("meta", "c")))
	require.Len(t, field(t, r, "values").(bson.A), 1, "1.0 and int64 1 are equal under BSON comparison")
	r = mustRun(t, e.db, d("distinct", "cd", "key", "tags"))
	require.Equal(t, bson.A{"x", "y", "z"}, field(t, r, "values"))
}

func TestDeleteAndUpdate(t *testing.T) {
	e := newEnv(t)
	coll := e.createTS(t, "del")
	fill(t, coll, 10)

	res, err := coll.DeleteMany(t.Context(), d("meta", "a"))
	require.NoError(t, err)
	require.EqualValues(t, 5, res.DeletedCount)
	require.Equal(t, 5, e.b.count("testdb", "del"))

	_, err = coll.DeleteMany(t.Context(), d("v", d("$gt", 3)))
	var we mongo.WriteException
	require.True(t, errors.As(err, &we), "%v", err)
	require.Equal(t, 72, we.WriteErrors[0].Code)
	require.Contains(t, we.WriteErrors[0].Message, "not the metaField 'meta'")

	// deleteOne (MongoDB 7.0) takes any filter and removes one document.
	res, err = coll.DeleteOne(t.Context(), d("meta", "b"))
	require.NoError(t, err)
	require.EqualValues(t, 1, res.DeletedCount)
	require.Equal(t, 4, e.b.count("testdb", "del"))
	res, err = coll.DeleteOne(t.Context(), d("meta", "zz"))
	require.NoError(t, err)
	require.EqualValues(t, 0, res.DeletedCount, "nothing matches")
	res, err = coll.DeleteOne(t.Context(), d("v", int32(9))) // a measurement field
	require.NoError(t, err)
	require.EqualValues(t, 1, res.DeletedCount)
	require.Equal(t, 3, e.b.count("testdb", "del"))
	n, err := coll.CountDocuments(t.Context(), d("v", int32(9)))
	require.NoError(t, err)
	require.Zero(t, n, "the matching document is the one removed")

	_, err = coll.UpdateMany(t.Context(), d("meta", "b"), d("$set", d("v", 1)))
	require.True(t, errors.As(err, &we), "%v", err)
	require.Equal(t, 72, we.WriteErrors[0].Code)
	require.Contains(t, we.WriteErrors[0].Message, "updates a field that is not the metaField 'meta'")
	_, err = coll.UpdateOne(t.Context(), d("meta", "b"), d("$set", d("x", 1)))
	require.True(t, errors.As(err, &we), "%v", err)
	require.Equal(t, 72, we.WriteErrors[0].Code)
	require.Contains(t, we.WriteErrors[0].Message, "non-multi update")
	require.Equal(t, 3, e.b.count("testdb", "del"))

	res, err = coll.DeleteMany(t.Context(), bson.D{})
	require.NoError(t, err)
	require.EqualValues(t, 3, res.DeletedCount)
}
