package integration

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chronogo/chronogo/integration/setup"
)

// TestCtlVnodesAndTruncate: ctl vnodes lists one bucket per day of data with its vnode and sizes;
// ctl truncate lists, then with --yes drops, the buckets that end before a time, and the points
// of the other days stay.
func TestCtlVnodesAndTruncate(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	srv := setup.Start(t, "")
	bin := setup.Binary(t)
	db := srv.Client().Database("hist")
	require.NoError(t, db.CreateCollection(ctx, "m", options.CreateCollection().SetTimeSeriesOptions(options.TimeSeries().SetTimeField("t").SetMetaField("k"))))
	day := time.Date(2024, 3, 10, 0, 0, 0, 0, time.UTC)
	var docs []any
	perDay := map[int]int{}
	for i := range 3 * 24 {
		ts := day.Add(time.Duration(i) * time.Hour)
		docs = append(docs, bson.D{{Key: "t", Value: ts}, {Key: "k", Value: fmt.Sprint(i % 2)}, {Key: "v", Value: i}})
		perDay[i/24]++
	}
	_, err := db.Collection("m").InsertMany(ctx, docs)
	require.NoError(t, err)

	// ctl flush --db flushes that database's vnodes only
	other := srv.Client().Database("other")
	require.NoError(t, other.CreateCollection(ctx, "m", options.CreateCollection().SetTimeSeriesOptions(options.TimeSeries().SetTimeField("t"))))
	_, err = other.Collection("m").InsertOne(ctx, bson.D{{Key: "t", Value: day}, {Key: "v", Value: 1}})
	require.NoError(t, err)
	out, err := run(t, bin, "ctl", "flush", "--addr", srv.HTTPAddr, "--db", "hist")
	require.NoError(t, err, out)
	require.Contains(t, out, "flushed 3 vnodes")
	memory := func(db string) []string {
		out, err := run(t, bin, "ctl", "vnodes", "--addr", srv.HTTPAddr, "--db", db)
		require.NoError(t, err, out)
		var mem []string
		for _, l := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
			f := strings.Fields(l)
			mem = append(mem, f[len(f)-3]+" "+f[len(f)-2]) // MEMORY, as "N unit"
		}
		return mem
	}
	for _, m := range memory("hist") {
		require.Equal(t, "0 B", m)
	}
	for _, m := range memory("other") {
		require.NotEqual(t, "0 B", m, "another database's memcache is untouched")
	}

	out, err = run(t, bin, "ctl", "vnodes", "--addr", srv.HTTPAddr, "--db", "hist")
	require.NoError(t, err, out)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 1+3, "a header and one vnode per day's bucket:\n%s", out)
	for _, l := range lines[1:] {
		require.Contains(t, l, "hist")
		require.NotContains(t, l, "?", "sizes known: %s", l)
	}
	require.Contains(t, out, "2024-03-10T00:00:00Z")

	cut := day.Add(24 * time.Hour).Format(time.RFC3339)
	out, err = run(t, bin, "ctl", "truncate", "--addr", srv.HTTPAddr, "--db", "hist", "--before", cut)
	require.NoError(t, err, out)
	require.Contains(t, out, "would drop")
	require.Contains(t, out, "1 buckets")
	n, err := db.Collection("m").CountDocuments(ctx, bson.D{})
	require.NoError(t, err)
	require.EqualValues(t, len(docs), n, "a dry run drops nothing")

	out, err = run(t, bin, "ctl", "truncate", "--addr", srv.HTTPAddr, "--db", "hist", "--before", cut, "--yes")
	require.NoError(t, err, out)
	require.Contains(t, out, "dropped 1 buckets")
	n, err = db.Collection("m").CountDocuments(ctx, bson.D{})
	require.NoError(t, err)
	require.EqualValues(t, perDay[1]+perDay[2], n, "the first day is gone, the others stay")
	out, err = run(t, bin, "ctl", "vnodes", "--addr", srv.HTTPAddr, "--db", "hist")
	require.NoError(t, err, out)
	require.Len(t, strings.Split(strings.TrimSpace(out), "\n"), 1+2, out)

	out, err = run(t, bin, "ctl", "truncate", "--addr", srv.HTTPAddr, "--db", "hist", "--before", "yesterday")
	require.Error(t, err)
	require.Contains(t, out, "--before")

	// a plain collection: its database's plain shard is listed after the buckets, with its replicas
	_, err = db.Collection("registry").InsertOne(ctx, bson.D{{Key: "_id", Value: "dev1"}})
	require.NoError(t, err)
	out, err = run(t, bin, "ctl", "vnodes", "--addr", srv.HTTPAddr, "--db", "hist")
	require.NoError(t, err, out)
	require.Contains(t, out, "PLAIN SHARD")
	outLines := strings.Split(strings.TrimSpace(out), "\n")
	plainLine := strings.Fields(outLines[len(outLines)-1])
	require.Equal(t, []string{"default", "hist"}, plainLine[:2], out)
	require.Len(t, plainLine, 4, "tenant, db, shard id, its one replica's node: %s", out)
	out, err = run(t, bin, "ctl", "vnodes", "--addr", srv.HTTPAddr, "--db", "other")
	require.NoError(t, err, out)
	require.NotContains(t, out, "PLAIN SHARD", "another database has none")
}
