package integration

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chronogo/chronogo/integration/setup"
)

// TestSeedReadmeExample runs the seed README's example through the Go driver: createCollection
// sensors, insertOne, the time-range find and the $timeWindow aggregate.
func TestSeedReadmeExample(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	srv := setup.Start(t, "")
	db := srv.Client().Database("iot")

	require.NoError(t, db.CreateCollection(ctx, "sensors", options.CreateCollection().
		SetTimeSeriesOptions(options.TimeSeries().SetTimeField("timestamp").SetMetaField("tags").SetGranularity("seconds")).
		SetExpireAfterSeconds(2592000)))
	coll := db.Collection("sensors")
	base := time.Date(2023, 3, 9, 12, 0, 0, 0, time.UTC)
	type reading struct {
		at       time.Time
		location string
		temp     float64
	}
	readings := []reading{
		{base, "room1", 25.3}, {base.Add(20 * time.Minute), "room1", 26.1}, {base.Add(70 * time.Minute), "room1", 24.0},
		{base.Add(10 * time.Minute), "room2", 30.0}, {base.Add(-13 * time.Hour), "room1", 10.0}, // the day before: outside the range
	}
	for _, r := range readings {
		_, err := coll.InsertOne(ctx, bson.D{{Key: "timestamp", Value: r.at},
			{Key: "tags", Value: bson.D{{Key: "location", Value: r.location}, {Key: "device_id", Value: "dev001"}}},
			{Key: "temperature", Value: r.temp}, {Key: "humidity", Value: 60.1}})
		require.NoError(t, err)
	}

	rangeFilter := bson.D{{Key: "tags.location", Value: "room1"}, {Key: "timestamp", Value: bson.D{
		{Key: "$gte", Value: time.Date(2023, 3, 9, 0, 0, 0, 0, time.UTC)}, {Key: "$lt", Value: time.Date(2023, 3, 10, 0, 0, 0, 0, time.UTC)}}}}
	cur, err := coll.Find(ctx, rangeFilter, options.Find().SetSort(bson.D{{Key: "timestamp", Value: 1}}))
	require.NoError(t, err)
	var docs []bson.M
	require.NoError(t, cur.All(ctx, &docs))
	var temps []float64
	for _, d := range docs {
		temps = append(temps, d["temperature"].(float64))
		require.Equal(t, bson.D{{Key: "device_id", Value: "dev001"}, {Key: "location", Value: "room1"}}, d["tags"], "meta sub-fields come back (in sorted order)")
		require.IsType(t, bson.ObjectID{}, d["_id"], "the driver's _id comes back")
	}
	require.Equal(t, []float64{25.3, 26.1, 24.0}, temps)

	pipeline := mongo.Pipeline{
		{{Key: "$match", Value: rangeFilter}},
		{{Key: "$timeWindow", Value: bson.D{{Key: "timestamp", Value: "$timestamp"}, {Key: "window", Value: "1h"},
			{Key: "output", Value: bson.D{{Key: "avgTemp", Value: bson.D{{Key: "$avg", Value: "$temperature"}}},
				{Key: "maxTemp", Value: bson.D{{Key: "$max", Value: "$temperature"}}}}}}}},
		{{Key: "$sort", Value: bson.D{{Key: "_id.timestamp", Value: 1}}}},
	}
	cur, err = coll.Aggregate(ctx, pipeline)
	require.NoError(t, err)
	var windows []bson.M
	require.NoError(t, cur.All(ctx, &windows))
	require.Len(t, windows, 2)
	// expected, computed by hand: 12:00-13:00 holds 25.3 and 26.1; 13:00-14:00 holds 24.0
	require.Equal(t, bson.D{{Key: "timestamp", Value: bson.DateTime(base.UnixMilli())}}, windows[0]["_id"])
	require.InDelta(t, (25.3+26.1)/2, windows[0]["avgTemp"], 1e-9)
	require.Equal(t, 26.1, windows[0]["maxTemp"])
	require.Equal(t, bson.D{{Key: "timestamp", Value: bson.DateTime(base.Add(time.Hour).UnixMilli())}}, windows[1]["_id"])
	require.Equal(t, 24.0, windows[1]["avgTemp"])
}
