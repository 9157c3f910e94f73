package integration

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/writeconcern"

	"github.com/chronogo/chronogo/integration/setup"
)

// TestWriteConcernLevels: on a standalone server (one replica), w: 1 and "majority" are met;
// w: 2 asks for more replicas than there are: the write is applied and answered with a
// writeConcernError (64) naming the level, as mongod does for an unmet write concern.
func TestWriteConcernLevels(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	srv := setup.Start(t, "")
	db := srv.Client().Database("wc")
	coll := createTS(t, db, "m")
	doc := func(k string) bson.D {
		return bson.D{{Key: "ts", Value: time.Now()}, {Key: "meta", Value: k}, {Key: "v", Value: 1.0}}
	}
	for _, w := range []*writeconcern.WriteConcern{writeconcern.W1(), writeconcern.Majority()} {
		_, err := db.Collection("m", options.Collection().SetWriteConcern(w)).InsertOne(ctx, doc("ok"))
		require.NoError(t, err, "%v", w.W)
	}
	_, err := db.Collection("m", options.Collection().SetWriteConcern(&writeconcern.WriteConcern{W: 2})).InsertOne(ctx, doc("two"))
	var we mongo.WriteException
	require.True(t, errors.As(err, &we), "%v", err)
	require.NotNil(t, we.WriteConcernError)
	require.Equal(t, 64, we.WriteConcernError.Code)
	require.Equal(t, "w:2", bson.Raw(we.WriteConcernError.Details).Lookup("writeConcern", "w").StringValue())
	n, err := coll.CountDocuments(ctx, bson.D{{Key: "meta", Value: "two"}})
	require.NoError(t, err)
	require.EqualValues(t, 1, n, "the write was applied")
}
