package integration

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chronogo/chronogo/integration/setup"
)

// TestUpdateMetaSurvivesRestart: updateMany on the meta field through the Go driver renames the
// matching series; the result survives SIGKILL (the copies and the tombstones are durable when
// the command answers), and writes after the update to the old meta value stay where they are.
func TestUpdateMetaSurvivesRestart(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	srv := setup.Start(t, "")
	db := srv.Client().Database("upd")
	require.NoError(t, db.CreateCollection(ctx, "m", options.CreateCollection().
		SetTimeSeriesOptions(options.TimeSeries().SetTimeField("t").SetMetaField("tags"))))
	coll := db.Collection("m")
	base := time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)
	var docs []any
	for i := range 300 {
		docs = append(docs, bson.D{{Key: "t", Value: base.Add(time.Duration(i) * time.Minute)},
			{Key: "tags", Value: bson.D{{Key: "host", Value: fmt.Sprintf("h%d", i%3)}, {Key: "dc", Value: "old"}}},
			{Key: "v", Value: int64(i)}})
	}
	_, err := coll.InsertMany(ctx, docs)
	require.NoError(t, err)
	// flush part of the data to files so the rename reads files and memory
	srv.Stop()
	srv.Restart()
	coll = srv.Client().Database("upd").Collection("m")
	_, err = coll.InsertOne(ctx, bson.D{{Key: "t", Value: base.Add(-time.Hour)},
		{Key: "tags", Value: bson.D{{Key: "host", Value: "h0"}, {Key: "dc", Value: "old"}}}, {Key: "v", Value: int64(-1)}})
	require.NoError(t, err)

	res, err := coll.UpdateMany(ctx, bson.D{{Key: "tags.host", Value: bson.D{{Key: "$in", Value: bson.A{"h0", "h1"}}}}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "tags.dc", Value: "new"}}}})
	require.NoError(t, err)
	require.EqualValues(t, 201, res.MatchedCount)
	require.EqualValues(t, 201, res.ModifiedCount)

	// a field inside a scalar tag: MongoDB's PathNotViable, and nothing changes
	_, err = coll.UpdateMany(ctx, bson.D{{Key: "tags.host", Value: "h2"}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "tags.host.x", Value: 1}}}})
	var we mongo.WriteException
	require.True(t, errors.As(err, &we), "%v", err)
	require.Equal(t, 28, we.WriteErrors[0].Code)
	require.Equal(t, "Cannot create field 'x' in element {host: \"h2\"}", we.WriteErrors[0].Message)

	// after the update: a write to the old meta value is a new document there
	_, err = coll.InsertOne(ctx, bson.D{{Key: "t", Value: base.Add(-2 * time.Hour)},
		{Key: "tags", Value: bson.D{{Key: "host", Value: "h0"}, {Key: "dc", Value: "old"}}}, {Key: "v", Value: int64(-2)}})
	require.NoError(t, err)

	srv.Kill()
	srv.Restart()
	coll = srv.Client().Database("upd").Collection("m")
	count := func(filter bson.D) int64 {
		n, err := coll.CountDocuments(ctx, filter)
		require.NoError(t, err)
		return n
	}
	require.EqualValues(t, 302, count(bson.D{}), "no document lost or duplicated")
	require.EqualValues(t, 201, count(bson.D{{Key: "tags.dc", Value: "new"}}))
	require.EqualValues(t, 100, count(bson.D{{Key: "tags.dc", Value: "old"}, {Key: "tags.host", Value: "h2"}}))
	require.EqualValues(t, 1, count(bson.D{{Key: "tags.dc", Value: "old"}, {Key: "tags.host", Value: "h0"}}))
	// values moved with their documents
	var doc bson.M
	require.NoError(t, coll.FindOne(ctx, bson.D{{Key: "v", Value: int64(-1)}}).Decode(&doc))
	require.Equal(t, bson.D{{Key: "dc", Value: "new"}, {Key: "host", Value: "h0"}}, doc["tags"])
}
