package integration

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/integration/setup"
)

// TestDatabaseDefaultWriteConcern: setDefaultRWConcern on a database changes its catalog entry
// (through Raft), which getDefaultRWConcern, dbStats and listDatabases read back, also after a
// restart; writes without a w still go through at the new level.
func TestDatabaseDefaultWriteConcern(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	srv := setup.Start(t, "")
	db := srv.Client().Database("wc")
	coll := createTS(t, db, "m")
	require.NoError(t, db.RunCommand(ctx, bson.D{{Key: "setDefaultRWConcern", Value: 1}, {Key: "defaultWriteConcern", Value: bson.D{{Key: "w", Value: "all"}}}}).Err())
	check := func() {
		r, err := srv.Client().Database("wc").RunCommand(ctx, bson.D{{Key: "getDefaultRWConcern", Value: 1}}).Raw()
		require.NoError(t, err)
		require.Equal(t, "all", r.Lookup("defaultWriteConcern", "w").StringValue())
		st, err := srv.Client().Database("wc").RunCommand(ctx, bson.D{{Key: "dbStats", Value: 1}}).Raw()
		require.NoError(t, err)
		require.Equal(t, "all", st.Lookup("consistency").StringValue())
		l, err := srv.Client().Database("admin").RunCommand(ctx, bson.D{{Key: "listDatabases", Value: 1}, {Key: "filter", Value: bson.D{{Key: "name", Value: "wc"}}}}).Raw()
		require.NoError(t, err)
		require.Equal(t, "all", l.Lookup("databases", "0", "consistency").StringValue())
	}
	check()
	_, err := coll.InsertOne(ctx, bson.D{{Key: "ts", Value: time.Now()}, {Key: "meta", Value: "a"}, {Key: "v", Value: 1}})
	require.NoError(t, err, "a standalone node is all of its one replica")
	srv.Kill()
	srv.Restart()
	check()
}
