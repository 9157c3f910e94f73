package mongo

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// TestBulkWrite: the Go driver's Client.BulkWrite (MongoDB 8.0's bulkWrite command) writes to
// plain and time-series collections of two databases in one call, with per-op results; an
// ordered bulk stops at its first error and an unordered one goes on, each error at its op.
func TestBulkWrite(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.createTS(t, "ts")
	other := e.client.Database("otherdb")
	writes := []mongo.ClientBulkWrite{
		{Database: "testdb", Collection: "devices", Model: mongo.NewClientInsertOneModel().SetDocument(d("_id", 1, "site", "a"))},
		{Database: "testdb", Collection: "devices", Model: mongo.NewClientInsertOneModel().SetDocument(d("_id", 2, "site", "b"))},
		{Database: "testdb", Collection: "ts", Model: mongo.NewClientInsertOneModel().SetDocument(d("ts", at(1), "m", "x", "v", 1.5))},
		{Database: "otherdb", Collection: "settings", Model: mongo.NewClientInsertOneModel().SetDocument(d("_id", "k", "v", 1))},
		{Database: "testdb", Collection: "devices", Model: mongo.NewClientUpdateOneModel().SetFilter(d("_id", 1)).SetUpdate(d("$set", d("site", "z")))},
		{Database: "testdb", Collection: "devices", Model: mongo.NewClientUpdateOneModel().SetFilter(d("_id", 3)).SetUpdate(d("$set", d("site", "c"))).SetUpsert(true)},
		{Database: "testdb", Collection: "devices", Model: mongo.NewClientReplaceOneModel().SetFilter(d("_id", 2)).SetReplacement(d("site", "r"))},
		{Database: "otherdb", Collection: "settings", Model: mongo.NewClientDeleteOneModel().SetFilter(d("_id", "k"))},
	}
	res, err := e.client.BulkWrite(ctx, writes, options.ClientBulkWrite().SetVerboseResults(true))
	require.NoError(t, err)
	require.EqualValues(t, 4, res.InsertedCount)
	require.EqualValues(t, 2, res.MatchedCount)
	require.EqualValues(t, 2, res.ModifiedCount)
	require.EqualValues(t, 1, res.UpsertedCount)
	require.EqualValues(t, 1, res.DeletedCount)
	require.EqualValues(t, 3, res.UpdateResults[5].UpsertedID)
	require.EqualValues(t, 1, res.UpdateResults[4].ModifiedCount)
	require.EqualValues(t, 1, res.DeleteResults[7].DeletedCount)

	devices := e.db.Collection("devices")
	var got []bson.M
	cur, err := devices.Find(ctx, d(), options.Find().SetSort(d("_id", 1)))
	require.NoError(t, err)
	require.NoError(t, cur.All(ctx, &got))
	require.Equal(t, []bson.M{{"_id": int32(1), "site": "z"}, {"_id": int32(2), "site": "r"}, {"_id": int32(3), "site": "c"}}, got)
	n, err := e.db.Collection("ts").CountDocuments(ctx, d())
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	n, err = other.Collection("settings").CountDocuments(ctx, d())
	require.NoError(t, err)
	require.Zero(t, n)

	// ordered: the duplicate stops the bulk; unordered: the next op still runs
	dup := []mongo.ClientBulkWrite{
		{Database: "testdb", Collection: "devices", Model: mongo.NewClientInsertOneModel().SetDocument(d("_id", 1))},
		{Database: "testdb", Collection: "devices", Model: mongo.NewClientInsertOneModel().SetDocument(d("_id", 10))},
	}
	_, err = e.client.BulkWrite(ctx, dup)
	var bwe mongo.ClientBulkWriteException
	require.True(t, errors.As(err, &bwe), "%v", err)
	require.Len(t, bwe.WriteErrors, 1)
	require.Equal(t, 11000, bwe.WriteErrors[0].Code)
	require.ErrorIs(t, devices.FindOne(ctx, d("_id", 10)).Err(), mongo.ErrNoDocuments)
	_, err = e.client.BulkWrite(ctx, dup, options.ClientBulkWrite().SetOrdered(false))
	require.True(t, errors.As(err, &bwe), "%v", err)
	require.Len(t, bwe.WriteErrors, 1)
	require.NoError(t, devices.FindOne(ctx, d("_id", 10)).Err())
}

// TestBulkWriteArguments: bad bulkWrite commands fail as mongod's do, before anything runs.
func TestBulkWriteArguments(t *testing.T) {
	e := newEnv(t)
	admin := e.client.Database("admin")
	ns := bson.A{d("ns", "testdb.c")}
	cases := []struct {
		name string
		cmd  bson.D
		code int32
	}{
		{"not admin", d("bulkWrite", 1, "ops", bson.A{d("insert", 0, "document", d())}, "nsInfo", ns), 13},
		{"no ops", d("bulkWrite", 1, "nsInfo", ns), 40414},
		{"empty ops", d("bulkWrite", 1, "ops", bson.A{}, "nsInfo", ns), 16},
		{"no nsInfo", d("bulkWrite", 1, "ops", bson.A{d("insert", 0, "document", d())}), 40414},
		{"bad ns", d("bulkWrite", 1, "ops", bson.A{d("insert", 0, "document", d())}, "nsInfo", bson.A{d("ns", "nodot")}), 73},
		{"ns index out of range", d("bulkWrite", 1, "ops", bson.A{d("insert", 1, "document", d())}, "nsInfo", ns), 2},
		{"unknown op", d("bulkWrite", 1, "ops", bson.A{d("upsert", 0)}, "nsInfo", ns), 9},
		{"unknown op field", d("bulkWrite", 1, "ops", bson.A{d("delete", 0, "filter", d(), "bogus", 1)}, "nsInfo", ns), 40415},
		{"update without updateMods", d("bulkWrite", 1, "ops", bson.A{d("update", 0, "filter", d())}, "nsInfo", ns), 40414},
		{"unknown field", d("bulkWrite", 1, "ops", bson.A{d("insert", 0, "document", d())}, "nsInfo", ns, "bogus", 1), 40415},
	}
	for _, c := range cases {
		db := admin
		if c.name == "not admin" {
			db = e.db
		}
		_, err := run(t, db, c.cmd)
		requireCode(t, err, c.code)
	}
	n, err := e.db.Collection("c").CountDocuments(t.Context(), d())
	require.NoError(t, err)
	require.Zero(t, n, "nothing ran")
}
