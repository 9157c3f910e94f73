package integration

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chronogo/chronogo/integration/setup"
)

// TestOddMetaTypesAreRefusedAndBreakNothing is issue #7's "one insert takes a bucket offline": a
// meta value (top level or nested) of each BSON type that storage does not keep is refused with
// BadValue (2) for that document only; an ordered insertMany keeps the documents before it; the
// collection, a neighbour collection in the same database and a restart all work afterwards.
func TestOddMetaTypesAreRefusedAndBreakNothing(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	srv := setup.Start(t, "")
	db := srv.Client().Database("odd")
	coll := createTS(t, db, "m")
	other := createTS(t, db, "other")
	base := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	_, err := other.InsertOne(ctx, bson.D{{Key: "ts", Value: base}, {Key: "meta", Value: "x"}, {Key: "v", Value: 1}})
	require.NoError(t, err)

	odd := []any{bson.MinKey{}, bson.MaxKey{}, bson.Regex{Pattern: "a", Options: ""}, bson.Undefined{},
		bson.DBPointer{DB: "d", Pointer: bson.NewObjectID()}, bson.JavaScript("f()"),
		bson.CodeWithScope{Code: "f()", Scope: bson.D{{Key: "a", Value: 1}}}, bson.Symbol("s")}
	good := 0
	for i, v := range odd {
		for _, meta := range []any{v, bson.D{{Key: "site", Value: "a"}, {Key: "dev", Value: bson.D{{Key: "x", Value: v}}}}} {
			_, err := coll.InsertOne(ctx, bson.D{{Key: "ts", Value: base}, {Key: "meta", Value: meta}, {Key: "v", Value: i}})
			requireCode(t, err, 2)
			// Ordered insertMany: the document before is kept, the one after is not tried.
			docs := []any{
				bson.D{{Key: "ts", Value: base.Add(time.Duration(good) * time.Second)}, {Key: "meta", Value: "ok"}, {Key: "v", Value: good}},
				bson.D{{Key: "ts", Value: base}, {Key: "meta", Value: meta}, {Key: "v", Value: -1}},
				bson.D{{Key: "ts", Value: base.Add(time.Hour)}, {Key: "meta", Value: "never"}, {Key: "v", Value: -2}},
			}
			_, err = coll.InsertMany(ctx, docs)
			var bwe mongo.BulkWriteException
			require.ErrorAs(t, err, &bwe)
			require.Len(t, bwe.WriteErrors, 1)
			require.Equal(t, 1, bwe.WriteErrors[0].Index)
			require.Equal(t, 2, bwe.WriteErrors[0].Code)
			require.Contains(t, bwe.WriteErrors[0].Message, "does not store")
			good++
		}
		// A measurement field of the same type is refused the same way.
		_, err := coll.InsertOne(ctx, bson.D{{Key: "ts", Value: base}, {Key: "meta", Value: "ok"}, {Key: "f", Value: v}})
		requireCode(t, err, 2)
	}
	check := func(c *mongo.Client) {
		n, err := c.Database("odd").Collection("m").CountDocuments(ctx, bson.D{})
		require.NoError(t, err)
		require.EqualValues(t, good, n)
		n, err = c.Database("odd").Collection("m").CountDocuments(ctx, bson.D{{Key: "meta", Value: "never"}})
		require.NoError(t, err)
		require.Zero(t, n)
		n, err = c.Database("odd").Collection("other").CountDocuments(ctx, bson.D{})
		require.NoError(t, err)
		require.EqualValues(t, 1, n)
		_, err = c.Database("odd").Collection("m").InsertOne(ctx, bson.D{{Key: "ts", Value: base.Add(2 * time.Hour)}, {Key: "meta", Value: "after"}, {Key: "v", Value: 0}})
		require.NoError(t, err)
		good++
	}
	check(srv.Client())
	srv.Kill()
	srv.Restart()
	c, err := mongo.Connect(options.Client().ApplyURI(srv.URI()))
	require.NoError(t, err)
	defer c.Disconnect(context.Background())
	check(c)
	require.NotContains(t, srv.Log(), "marked broken")
}
