package integration

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chronogo/chronogo/integration/setup"
)

// TestDeleteOneAnyFilter is MongoDB 7.0's deleteOne on a time-series collection, on a real server:
// any filter (measurement fields too) removes exactly one matching document, the other documents
// of its series and time stay; a document without the metaField can be removed too; a filter
// that matches nothing removes nothing.
func TestDeleteOneAnyFilter(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	srv := setup.Start(t, "")
	coll := createTS(t, srv.Client().Database("del1"), "m")
	t0 := time.Unix(1_700_000_000, 0).UTC()
	var docs []any
	model := map[int32]bool{} // v -> present
	for i := range 12 {
		docs = append(docs, bson.D{{Key: "ts", Value: t0.Add(time.Duration(i/2) * time.Minute)}, {Key: "meta", Value: []string{"a", "b"}[i%2]},
			{Key: "v", Value: int32(i)}})
		model[int32(i)] = true
	}
	docs = append(docs, bson.D{{Key: "ts", Value: t0}, {Key: "v", Value: int32(100)}}) // no metaField
	model[100] = true
	_, err := coll.InsertMany(ctx, docs)
	require.NoError(t, err)

	check := func() {
		t.Helper()
		cur, err := coll.Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "v", Value: 1}}))
		require.NoError(t, err)
		var got []bson.M
		require.NoError(t, cur.All(ctx, &got))
		var present []int32
		for _, d := range got {
			present = append(present, d["v"].(int32))
		}
		var want []int32
		for v := range int32(101) {
			if model[v] {
				want = append(want, v)
			}
		}
		require.Equal(t, want, present)
	}
	for _, c := range []struct {
		filter bson.D
		gone   []int32 // one of these is removed
	}{
		{bson.D{{Key: "v", Value: int32(7)}}, []int32{7}},                                                            // a measurement field
		{bson.D{{Key: "v", Value: bson.D{{Key: "$gte", Value: int32(10)}}}, {Key: "meta", Value: "a"}}, []int32{10}}, // meta and measurement
		{bson.D{{Key: "meta", Value: "b"}}, []int32{1, 3, 5, 9, 11}},                                                 // any b document
		{bson.D{{Key: "v", Value: int32(100)}}, []int32{100}},                                                        // no metaField
	} {
		res, err := coll.DeleteOne(ctx, c.filter)
		require.NoError(t, err, "%v", c.filter)
		require.EqualValues(t, 1, res.DeletedCount, "%v", c.filter)
		removed := 0
		for _, v := range c.gone {
			n, err := coll.CountDocuments(ctx, bson.D{{Key: "v", Value: v}})
			require.NoError(t, err)
			if n == 0 && model[v] {
				model[v] = false
				removed++
			}
		}
		require.Equal(t, 1, removed, "%v removed exactly one of %v", c.filter, c.gone)
		check()
	}
	res, err := coll.DeleteOne(ctx, bson.D{{Key: "v", Value: int32(7)}})
	require.NoError(t, err)
	require.Zero(t, res.DeletedCount, "already gone")
	check()
}
