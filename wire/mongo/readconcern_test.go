package mongo

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// TestReadConcern: every level mongod knows is accepted on a read; malformed read concerns get
// mongod's codes and messages (repl/read_concern_args.cpp), before anything runs.
func TestReadConcern(t *testing.T) {
	_, addr := startServer(t, Config{}, newMemBackend(t))
	client := connect(t, addr)
	ctx := context.Background()
	db := client.Database("db")
	find := func(rc any) error {
		return db.RunCommand(ctx, bson.D{{Key: "find", Value: "c"}, {Key: "filter", Value: bson.D{}}, {Key: "readConcern", Value: rc}}).Err()
	}
	ts := bson.Timestamp{T: 100, I: 1}
	for _, level := range []string{"local", "majority", "linearizable", "available", "snapshot"} {
		require.NoError(t, find(bson.D{{Key: "level", Value: level}}), level)
	}
	require.NoError(t, find(bson.D{}), "an empty read concern is local")
	require.NoError(t, find(bson.D{{Key: "level", Value: "majority"}, {Key: "afterClusterTime", Value: ts}}))
	require.NoError(t, find(bson.D{{Key: "level", Value: "snapshot"}, {Key: "atClusterTime", Value: ts}}))
	for _, c := range []struct {
		name string
		rc   any
		code int32
		msg  string
	}{
		{"not an object", "majority", 9, "readConcern field should be an object"},
		{"unknown level", bson.D{{Key: "level", Value: "strong"}}, 9, "readConcern.level must be either 'local', 'majority', 'linearizable', 'available', or 'snapshot'"},
		{"level of a wrong type", bson.D{{Key: "level", Value: 1}}, 14, "\"level\" had the wrong type. Expected string, found int"},
		{"unknown option", bson.D{{Key: "level", Value: "local"}, {Key: "wait", Value: true}}, 72, "Unrecognized option in readConcern: wait"},
		{"afterClusterTime not a timestamp", bson.D{{Key: "afterClusterTime", Value: 5}}, 14, "\"afterClusterTime\" had the wrong type. Expected timestamp, found int"},
		{"null afterClusterTime", bson.D{{Key: "afterClusterTime", Value: bson.Timestamp{}}}, 72, "afterClusterTime cannot be a null timestamp"},
		{"afterClusterTime with available", bson.D{{Key: "level", Value: "available"}, {Key: "afterClusterTime", Value: ts}}, 72, "afterClusterTime field can be set only if level is equal to majority, local, or snapshot"},
		{"atClusterTime without snapshot", bson.D{{Key: "level", Value: "majority"}, {Key: "atClusterTime", Value: ts}}, 72, "atClusterTime field can be set only if level is equal to snapshot"},
	} {
		err := find(c.rc)
		requireCode(t, err, c.code)
		require.ErrorContains(t, err, c.msg, c.name)
	}
}
