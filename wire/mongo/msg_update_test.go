package mongo

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// TestUpdateMetaField: updateMany with $set/$unset on the metaField changes the meta value of the
// matching documents; n counts the matched documents, nModified those that changed.
func TestUpdateMetaField(t *testing.T) {
	e := newEnv(t)
	coll := e.createTS(t, "um")
	var docs []any
	for i := range 6 {
		host := []string{"a", "b", "c"}[i%3]
		docs = append(docs, d("ts", at(i), "meta", d("host", host, "rack", int32(i%2)), "v", int64(i)))
	}
	_, err := coll.InsertMany(t.Context(), docs)
	require.NoError(t, err)

	res, err := coll.UpdateMany(t.Context(), d("meta.host", "a"), d("$set", d("meta.region", "eu")))
	require.NoError(t, err)
	require.EqualValues(t, 2, res.MatchedCount)
	require.EqualValues(t, 2, res.ModifiedCount)
	n, err := coll.CountDocuments(t.Context(), d("meta.region", "eu"))
	require.NoError(t, err)
	require.EqualValues(t, 2, n)

	// setting what is already there matches without modifying
	res, err = coll.UpdateMany(t.Context(), d("meta.host", "a"), d("$set", d("meta.region", "eu")))
	require.NoError(t, err)
	require.EqualValues(t, 2, res.MatchedCount)
	require.EqualValues(t, 0, res.ModifiedCount)

	res, err = coll.UpdateMany(t.Context(), d("meta.host", d("$in", bson.A{"b", "c"})), d("$unset", d("meta.rack", "")))
	require.NoError(t, err)
	require.EqualValues(t, 4, res.MatchedCount)
	require.EqualValues(t, 4, res.ModifiedCount)
	var got []bson.M
	cur, err := coll.Find(t.Context(), d("meta.host", "b"), options.Find().SetProjection(d("_id", 0)))
	require.NoError(t, err)
	require.NoError(t, cur.All(t.Context(), &got))
	require.Len(t, got, 2)
	for _, g := range got {
		require.Equal(t, bson.D{{Key: "host", Value: "b"}}, g["meta"])
	}

	// the whole meta value replaced, with an empty filter (every document)
	res, err = coll.UpdateMany(t.Context(), d(), d("$set", d("meta", d("site", "x"))))
	require.NoError(t, err)
	require.EqualValues(t, 6, res.MatchedCount)
	n, err = coll.CountDocuments(t.Context(), d("meta", d("site", "x")))
	require.NoError(t, err)
	require.EqualValues(t, 6, n)
}

// TestUpdateRefusals: MongoDB 5.1's restrictions on time-series updates, with its codes.
func TestUpdateRefusals(t *testing.T) {
	e := newEnv(t)
	coll := e.createTS(t, "ur")
	_, err := coll.InsertMany(t.Context(), []any{d("ts", at(1), "meta", d("host", "a"), "v", 1), d("ts", at(2), "meta", "scalar", "v", 2)})
	require.NoError(t, err)
	cases := []struct {
		name   string
		filter bson.D
		update any
		code   int
		msg    string
	}{
		{"time in the query", d("ts", d("$gte", at(0))), d("$set", d("meta.x", 1)), 72, "querying on a field that is not the metaField"},
		{"measurement in the query", d("v", 1), d("$set", d("meta.x", 1)), 72, "querying on a field that is not the metaField"},
		{"measurement modified", d("meta.host", "a"), d("$set", d("v", 5)), 72, "updates a field that is not the metaField 'meta'"},
		{"pipeline", d("meta.host", "a"), bson.A{d("$set", d("meta.x", 1))}, 72, "updates a field that is not the metaField"},
		{"unsupported operator", d("meta.host", "a"), d("$inc", d("meta.n", 1)), 72, "$inc on the metaField"},
		{"unknown operator", d("meta.host", "a"), d("$frob", d("meta.n", 1)), 9, "Unknown modifier: $frob"},
		{"conflicting paths", d("meta.host", "a"), d("$set", d("meta.a", 1), "$unset", d("meta.a.b", "")), 40, "would create a conflict at 'meta.a'"},
		{"field inside a scalar", d("meta", "scalar"), d("$set", d("meta.x", 1)), 28, "Cannot create field 'x' in element {meta: "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := coll.UpdateMany(t.Context(), tc.filter, tc.update)
			var we mongo.WriteException
			require.True(t, errors.As(err, &we), "%v", err)
			require.Equal(t, tc.code, we.WriteErrors[0].Code, we.WriteErrors[0].Message)
			require.Contains(t, we.WriteErrors[0].Message, tc.msg)
		})
	}
	_, err = coll.UpdateMany(t.Context(), d("meta.host", "a"), d("$set", d("meta.x", 1)), options.UpdateMany().SetUpsert(true))
	var we mongo.WriteException
	require.True(t, errors.As(err, &we), "%v", err)
	require.Equal(t, 72, we.WriteErrors[0].Code)
	require.Contains(t, we.WriteErrors[0].Message, "upsert")

	// a replacement document (the driver refuses to send one: use the command)
	_, err = run(t, e.db, d("update", "ur", "updates", bson.A{d("q", d("meta.host", "a"), "u", d("meta", d("host", "b")), "multi", true)}))
	require.ErrorContains(t, err, "updates a field that is not the metaField")

	// nothing changed
	var docs []bson.M
	cur, err := coll.Find(t.Context(), d(), options.Find().SetProjection(d("_id", 0, "meta", 1)).SetSort(d("ts", 1)))
	require.NoError(t, err)
	require.NoError(t, cur.All(t.Context(), &docs))
	require.Equal(t, []bson.M{{"meta": bson.D{{Key: "host", Value: "a"}}}, {"meta": "scalar"}}, docs)
}
