package mongo

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// TestServerStatus: serverStatus counts what the test did (documents inserted, update and delete
// statements, finds, getMores, other commands) and the open connections, and carries the section
// the node gives; getCmdLineOpts answers the configured command line.
func TestServerStatus(t *testing.T) {
	b := newMemBackend(t)
	seedCollection(t, b)
	parsed, err := bson.Marshal(bson.D{{Key: "data-dir", Value: "/d"}})
	require.NoError(t, err)
	section, err := bson.Marshal(bson.D{{Key: "node", Value: "dnode1"}})
	require.NoError(t, err)
	_, addr := startServer(t, Config{MaxConnections: 100, CmdLine: CmdLine{Argv: []string{"chronogo", "--data-dir", "/d"}, Parsed: parsed},
		Status: func(context.Context) bson.Raw { return section }}, b)
	client := connect(t, addr)
	ctx := context.Background()
	coll := client.Database("db").Collection("c")
	status := func() bson.Raw {
		raw, err := client.Database("admin").RunCommand(ctx, bson.D{{Key: "serverStatus", Value: 1}}).Raw()
		require.NoError(t, err)
		return raw
	}
	before := status()
	docs := []any{}
	for i := range 5 {
		docs = append(docs, bson.D{{Key: "ts", Value: time.Now()}, {Key: "v", Value: i}})
	}
	_, err = coll.InsertMany(ctx, docs)
	require.NoError(t, err)
	_, err = coll.DeleteMany(ctx, bson.D{{Key: "ts", Value: bson.D{{Key: "$lt", Value: time.Unix(0, 0)}}}})
	require.NoError(t, err)
	for range 3 {
		require.NoError(t, coll.FindOne(ctx, bson.D{}).Err())
	}
	after := status()
	delta := func(field string) int64 {
		return after.Lookup("opcounters", field).AsInt64() - before.Lookup("opcounters", field).AsInt64()
	}
	require.EqualValues(t, 5, delta("insert"), "documents inserted")
	require.EqualValues(t, 1, delta("delete"), "delete statements")
	require.EqualValues(t, 3, delta("query"), "finds")
	require.GreaterOrEqual(t, delta("command"), int64(1), "the first serverStatus (and any heartbeat hello)")
	lat := func(kind, field string) int64 {
		return after.Lookup("opLatencies", kind, field).AsInt64() - before.Lookup("opLatencies", kind, field).AsInt64()
	}
	require.EqualValues(t, 3, lat("reads", "ops"), "opLatencies: the finds")
	require.EqualValues(t, 2, lat("writes", "ops"), "opLatencies: the insert and the delete")
	require.Positive(t, lat("reads", "latency"))
	require.Positive(t, lat("writes", "latency"))
	require.GreaterOrEqual(t, lat("commands", "ops"), int64(1))
	require.EqualValues(t, "mongos", after.Lookup("process").StringValue())
	require.GreaterOrEqual(t, after.Lookup("connections", "current").AsInt64(), int64(1))
	require.EqualValues(t, 100-after.Lookup("connections", "current").AsInt64(), after.Lookup("connections", "available").AsInt64())
	require.Equal(t, "dnode1", after.Lookup("chronogo", "node").StringValue())
	require.Greater(t, after.Lookup("mem", "resident").AsInt64(), int64(0))

	raw, err := client.Database("admin").RunCommand(ctx, bson.D{{Key: "getCmdLineOpts", Value: 1}}).Raw()
	require.NoError(t, err)
	require.Equal(t, "--data-dir", raw.Lookup("argv").Array().Index(1).StringValue())
	require.Equal(t, "/d", raw.Lookup("parsed", "data-dir").StringValue())
}

// TestLatencyStats: $collStats latencyStats counts the reads and writes of its own collection
// only, in microseconds, and a collection dropped and created again starts from zero.
func TestLatencyStats(t *testing.T) {
	b := newMemBackend(t)
	seedCollection(t, b)
	_, addr := startServer(t, Config{}, b)
	client := connect(t, addr)
	ctx := context.Background()
	db := client.Database("db")
	stats := func(coll string) bson.Raw {
		cur, err := db.Collection(coll).Aggregate(ctx, bson.A{bson.D{{Key: "$collStats", Value: bson.D{{Key: "latencyStats", Value: bson.D{}}}}}})
		require.NoError(t, err)
		var docs []bson.Raw
		require.NoError(t, cur.All(ctx, &docs))
		require.Len(t, docs, 1)
		return docs[0].Lookup("latencyStats").Document()
	}
	for _, name := range []string{"a", "b"} {
		require.NoError(t, db.CreateCollection(ctx, name, options.CreateCollection().SetTimeSeriesOptions(options.TimeSeries().SetTimeField("ts"))))
	}
	for i := range 4 {
		_, err := db.Collection("a").InsertOne(ctx, bson.D{{Key: "ts", Value: time.Now()}, {Key: "v", Value: i}})
		require.NoError(t, err)
	}
	for range 3 {
		require.NoError(t, db.Collection("a").FindOne(ctx, bson.D{}).Err())
	}
	n, err := db.Collection("a").CountDocuments(ctx, bson.D{})
	require.NoError(t, err)
	require.EqualValues(t, 4, n)
	a := stats("a") // the $collStats aggregate itself runs after it reads the counters
	require.EqualValues(t, 4, a.Lookup("writes", "ops").AsInt64())
	require.EqualValues(t, 4, a.Lookup("reads", "ops").AsInt64(), "three finds and the count's aggregate")
	require.Positive(t, a.Lookup("reads", "latency").AsInt64())
	require.Zero(t, a.Lookup("transactions", "ops").AsInt64())
	require.EqualValues(t, 5, stats("a").Lookup("reads", "ops").AsInt64(), "the first $collStats counted")
	bs := stats("b")
	require.Zero(t, bs.Lookup("writes", "ops").AsInt64())
	require.Zero(t, bs.Lookup("reads", "ops").AsInt64())

	require.NoError(t, db.Collection("a").Drop(ctx))
	require.NoError(t, db.CreateCollection(ctx, "a", options.CreateCollection().SetTimeSeriesOptions(options.TimeSeries().SetTimeField("ts"))))
	require.Zero(t, stats("a").Lookup("reads", "ops").AsInt64(), "a dropped collection's latencies are forgotten")
}
