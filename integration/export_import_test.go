package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chronogo/chronogo/integration/setup"
)

// allDocs reads a collection whole, each document as canonical Extended JSON, sorted.
func allDocs(t *testing.T, ctx context.Context, c *mongo.Collection) []string {
	t.Helper()
	cur, err := c.Find(ctx, bson.D{})
	require.NoError(t, err)
	var out []string
	for cur.Next(ctx) {
		b, err := bson.MarshalExtJSON(cur.Current, true, false)
		require.NoError(t, err)
		out = append(out, string(b))
	}
	require.NoError(t, cur.Err())
	sort.Strings(out)
	return out
}

// TestExportImportRoundTrip: chronogo export and import carry a time series and a plain
// collection, with every BSON type, their options and their indexes, from one server to another
// (gzip on the way); line protocol carries what it can hold; an import killed with -9 part way and
// resumed ends with every document once.
func TestExportImportRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	a := setup.Start(t, "")
	b := setup.Start(t, "")
	bin := setup.Binary(t)
	dir := t.TempDir()
	src := a.Client().Database("app")
	require.NoError(t, src.CreateCollection(ctx, "readings", options.CreateCollection().
		SetTimeSeriesOptions(options.TimeSeries().SetTimeField("time").SetMetaField("tags").SetGranularity("minutes")).SetExpireAfterSeconds(86400*3650)))
	dec, _ := bson.ParseDecimal128("12.3400")
	oid := bson.NewObjectID()
	base := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	var readings []any
	for i := range 300 {
		readings = append(readings, bson.D{
			{Key: "time", Value: base.Add(time.Duration(i) * time.Minute)},
			{Key: "tags", Value: bson.D{{Key: "host", Value: fmt.Sprintf("h%d", i%4)}, {Key: "rack", Value: "r1"}}},
			{Key: "f", Value: float64(i) / 3}, {Key: "i32", Value: int32(i)}, {Key: "i64", Value: int64(i) << 40},
			{Key: "ok", Value: i%2 == 0}, {Key: "s", Value: fmt.Sprintf("say \"%d\", ok", i)},
			{Key: "dec", Value: dec}, {Key: "when", Value: bson.NewDateTimeFromTime(base.Add(-time.Hour))},
			{Key: "oid", Value: oid}, {Key: "bin", Value: bson.Binary{Subtype: 4, Data: []byte("0123456789abcdef")}},
			{Key: "doc", Value: bson.D{{Key: "x", Value: bson.A{1, "two", 3.5}}}}, {Key: "nil", Value: nil},
		})
	}
	_, err := src.Collection("readings").InsertMany(ctx, readings)
	require.NoError(t, err)
	var devices []any
	for i := range 50 {
		devices = append(devices, bson.D{{Key: "_id", Value: fmt.Sprintf("dev-%02d", i)}, {Key: "serial", Value: int64(1000 + i)},
			{Key: "ts", Value: bson.Timestamp{T: uint32(1700000000 + i), I: 1}}, {Key: "re", Value: bson.Regex{Pattern: "^a", Options: "i"}},
			{Key: "price", Value: dec}, {Key: "tags", Value: bson.A{"x", bson.D{{Key: "y", Value: int32(i)}}}}})
	}
	_, err = src.Collection("devices").InsertMany(ctx, devices)
	require.NoError(t, err)
	_, err = src.Collection("devices").Indexes().CreateOne(ctx, mongo.IndexModel{Keys: bson.D{{Key: "serial", Value: -1}}, Options: options.Index().SetUnique(true).SetName("serial_desc")})
	require.NoError(t, err)

	// json, gzip: every value and type, options and indexes
	out := filepath.Join(dir, "app.json.gz")
	// by the nodes' HTTP addresses (--addr), as every command that talks to a running node
	msg, err := run(t, bin, "export", "--addr", a.HTTPAddr, "--db", "app", "--out", out, "--quiet")
	require.NoError(t, err, msg)
	require.Contains(t, msg, "exported 350 documents of 2 collections")
	msg, err = run(t, bin, "import", "--addr", b.HTTPAddr, "--in", out, "--quiet", "--batch", "64")
	require.NoError(t, err, msg)
	dst := b.Client().Database("app")
	for _, name := range []string{"readings", "devices"} {
		require.Equal(t, allDocs(t, ctx, src.Collection(name)), allDocs(t, ctx, dst.Collection(name)), name)
	}
	specs := func(db *mongo.Database) map[string]string {
		cur, err := db.ListCollections(ctx, bson.D{})
		require.NoError(t, err)
		m := map[string]string{}
		for cur.Next(ctx) {
			m[cur.Current.Lookup("name").StringValue()] = cur.Current.Lookup("options").String()
		}
		return m
	}
	require.Equal(t, specs(src), specs(dst))
	_, err = dst.Collection("devices").InsertOne(ctx, bson.D{{Key: "_id", Value: "new"}, {Key: "serial", Value: int64(1003)}})
	require.True(t, mongo.IsDuplicateKeyError(err), "the unique index came along: %v", err)

	for _, args := range [][]string{
		{"export", "--addr", a.HTTPAddr, "--uri", "mongodb://" + a.MongoAddr, "--db", "app", "--out", filepath.Join(dir, "x.json")},
		{"import", "--addr", b.HTTPAddr, "--uri", "mongodb://" + b.MongoAddr, "--in", out},
	} {
		msg, err := run(t, bin, args...)
		require.Error(t, err, args[0])
		require.Contains(t, msg, "--addr (the node's HTTP address) or --uri, not both")
	}

	// a time range and a tag filter (--uri: a connection string of one's own)
	part := filepath.Join(dir, "part.json")
	msg, err = run(t, bin, "export", "--uri", "mongodb://"+a.MongoAddr, "--db", "app", "--collection", "readings", "--out", part, "--quiet",
		"--from", base.Add(100*time.Minute).Format(time.RFC3339), "--to", base.Add(200*time.Minute).Format(time.RFC3339), "--query", `{"tags.host": "h1"}`)
	require.NoError(t, err, msg)
	require.Contains(t, msg, "exported 25 documents of 1 collections")

	// line protocol: the values it holds, under the /write shape
	lp := filepath.Join(dir, "readings.lp")
	msg, err = run(t, bin, "export", "--uri", "mongodb://"+a.MongoAddr, "--db", "app", "--collection", "readings", "--format", "lp", "--out", lp, "--quiet")
	require.NoError(t, err, msg)
	require.Contains(t, msg, "values line protocol cannot hold were skipped")
	msg, err = run(t, bin, "import", "--addr", b.HTTPAddr, "--db", "lpdb", "--in", lp, "--quiet")
	require.NoError(t, err, msg)
	proj := options.Find().SetProjection(bson.D{{Key: "_id", Value: 0}, {Key: "time", Value: 1}, {Key: "tags", Value: 1}, {Key: "f", Value: 1}, {Key: "i64", Value: 1}, {Key: "ok", Value: 1}, {Key: "s", Value: 1}})
	read := func(c *mongo.Collection) []string {
		cur, err := c.Find(ctx, bson.D{}, proj)
		require.NoError(t, err)
		var out []string
		for cur.Next(ctx) {
			out = append(out, cur.Current.String())
		}
		require.NoError(t, cur.Err())
		sort.Strings(out)
		return out
	}
	want := read(src.Collection("readings"))
	require.Len(t, want, 300)
	require.Equal(t, want, read(b.Client().Database("lpdb").Collection("readings")))

	// an import killed part way, then resumed: every document once
	var many []any
	for i := range 20000 {
		many = append(many, bson.D{{Key: "_id", Value: i}, {Key: "v", Value: strings.Repeat("x", 100)}})
	}
	_, err = src.Collection("bulk").InsertMany(ctx, many)
	require.NoError(t, err)
	bulk := filepath.Join(dir, "bulk.json")
	msg, err = run(t, bin, "export", "--uri", "mongodb://"+a.MongoAddr, "--db", "app", "--collection", "bulk", "--out", bulk, "--quiet")
	require.NoError(t, err, msg)
	cmd := exec.Command(bin, "import", "--uri", "mongodb://"+b.MongoAddr, "--in", bulk, "--quiet", "--batch", "50", "--db", "resumed")
	require.NoError(t, cmd.Start())
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(bulk + ".progress")
		return err == nil && !strings.Contains(string(b), `"offset":0`) && strings.Contains(string(b), "offset")
	}, 60*time.Second, 5*time.Millisecond)
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	n, err := b.Client().Database("resumed").Collection("bulk").CountDocuments(ctx, bson.D{})
	require.NoError(t, err)
	require.Less(t, n, int64(20000), "the import was stopped part way")
	msg, err = run(t, bin, "import", "--uri", "mongodb://"+b.MongoAddr, "--in", bulk, "--quiet", "--batch", "50", "--db", "resumed", "--resume")
	require.NoError(t, err, msg)
	require.Equal(t, allDocs(t, ctx, src.Collection("bulk")), allDocs(t, ctx, b.Client().Database("resumed").Collection("bulk")))
	_, err = os.Stat(bulk + ".progress")
	require.True(t, os.IsNotExist(err), "the progress file goes when the import ends")

	// failures: one line and a non-zero exit
	msg, err = run(t, bin, "import", "--uri", "mongodb://"+b.MongoAddr, "--in", filepath.Join(dir, "missing.json"))
	require.Error(t, err)
	require.Contains(t, msg, "chronogo: import:")
	require.Equal(t, 1, strings.Count(strings.TrimSpace(msg), "\n")+1, "%s", msg)
	msg, err = run(t, bin, "export", "--uri", "mongodb://"+a.MongoAddr, "--db", "app", "--format", "csv", "--out", filepath.Join(dir, "x"))
	require.Error(t, err)
	require.Contains(t, msg, "--format")
}
