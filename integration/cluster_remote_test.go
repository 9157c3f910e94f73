package integration

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chronogo/chronogo/integration/setup"
)

// TestClusterReadsRemoteReplicas places the replica sets of a database with one replica and four
// shards on two data nodes, so each node holds only part of the data: a find and an aggregate
// through either node return all of it, read from the other node's vnodes over the actor remote;
// a delete through one node reaches the other's replicas.
func TestClusterReadsRemoteReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three processes")
	}
	ctx := testCtx(t)
	c := setup.StartCluster(t, 1, 2, "--shard-count", "4")
	a, b := c.Data[0].Client(), c.Data[1].Client()
	require.NoError(t, a.Database("metrics").CreateCollection(ctx, "cpu", options.CreateCollection().
		SetTimeSeriesOptions(options.TimeSeries().SetTimeField("t").SetMetaField("m"))))
	base := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	var want []string
	for batch := range 4 {
		want = append(want, clusterDocs(t, ctx, a.Database("metrics").Collection("cpu"), batch, 250, base)...)
	}
	for i, cl := range []*mongo.Client{a, b} {
		got, err := findKeys(ctx, cl.Database("metrics").Collection("cpu"))
		require.NoError(t, err)
		requireAllOnce(t, got, want, fmt.Sprintf("dnode%d", i+1))

		cur, err := cl.Database("metrics").Collection("cpu").Aggregate(ctx, bson.A{
			bson.D{{Key: "$group", Value: bson.D{{Key: "_id", Value: "$m.host"},
				{Key: "n", Value: bson.D{{Key: "$sum", Value: 1}}}, {Key: "s", Value: bson.D{{Key: "$sum", Value: "$v"}}}}}}})
		require.NoError(t, err)
		var rows []struct {
			ID string  `bson:"_id"`
			N  int32   `bson:"n"`
			S  float64 `bson:"s"`
		}
		require.NoError(t, cur.All(ctx, &rows))
		require.Len(t, rows, 5)
		for _, r := range rows {
			// host hj holds i = j, j+5, ... < 250 in each of 4 batches: 50 documents per batch
			var h int
			_, err := fmt.Sscanf(r.ID, "h%d", &h)
			require.NoError(t, err)
			wantSum := 0.0
			for i := h; i < 250; i += 5 {
				wantSum += float64(i)
			}
			require.Equal(t, int32(200), r.N, "host %s", r.ID)
			require.Equal(t, 4*wantSum, r.S, "host %s", r.ID)
		}
	}
	res, err := b.Database("metrics").Collection("cpu").DeleteMany(ctx, bson.D{{Key: "m.host", Value: "h0"}})
	require.NoError(t, err)
	require.Equal(t, int64(200), res.DeletedCount)
	got, err := findKeys(ctx, a.Database("metrics").Collection("cpu"))
	require.NoError(t, err)
	require.Len(t, got, len(want)-200, "the delete reached every replica set")

	// an update of the meta field through one node renames the series on both nodes
	up, err := a.Database("metrics").Collection("cpu").UpdateMany(ctx, bson.D{{Key: "m.host", Value: "h1"}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "m.dc", Value: "x"}}}})
	require.NoError(t, err)
	require.EqualValues(t, 200, up.MatchedCount)
	require.EqualValues(t, 200, up.ModifiedCount)
	n, err := b.Database("metrics").Collection("cpu").CountDocuments(ctx, bson.D{{Key: "m.dc", Value: "x"}})
	require.NoError(t, err)
	require.EqualValues(t, 200, n)
	n, err = b.Database("metrics").Collection("cpu").CountDocuments(ctx, bson.D{})
	require.NoError(t, err)
	require.EqualValues(t, len(want)-200, n)
}
