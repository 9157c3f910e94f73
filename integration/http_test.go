package integration

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chronogo/chronogo/integration/setup"
)

// TestHTTPWriteLineProtocol writes InfluxDB line protocol to /write and reads it back through the
// Go driver; bad input is refused with 400 and changes nothing.
func TestHTTPWriteLineProtocol(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	srv := setup.Start(t, "")
	post := func(query, body string) (int, string) {
		resp, err := http.Post("http://"+srv.HTTPAddr+"/write?"+query, "text/plain", strings.NewReader(body))
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := post("db=lp&precision=s", "cpu,host=a,region=eu usage=1.5,n=3i 1700000000\ncpu,host=b,region=eu usage=2.5 1700000010\n")
	require.Equal(t, http.StatusNoContent, code, body)
	code, body = post("db=lp", "cpu,host=a usage=oops 1")
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, body, "line 1")
	code, _ = post("precision=s", "cpu usage=1 1")
	require.Equal(t, http.StatusBadRequest, code, "db is required")

	coll := srv.Client().Database("lp").Collection("cpu")
	cur, err := coll.Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "time", Value: 1}}))
	require.NoError(t, err)
	var docs []bson.Raw
	require.NoError(t, cur.All(ctx, &docs))
	require.Len(t, docs, 2, "the bad request wrote nothing")
	require.Equal(t, time.Unix(1700000000, 0).UnixMilli(), docs[0].Lookup("time").DateTime())
	require.Equal(t, "a", docs[0].Lookup("tags", "host").StringValue())
	require.Equal(t, 1.5, docs[0].Lookup("usage").Double())
	require.Equal(t, int64(3), docs[0].Lookup("n").Int64())
	_, err = docs[1].LookupErr("n")
	require.Error(t, err, "a field missing from a line stays missing")

	resp, err := http.Get("http://" + srv.HTTPAddr + "/health")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp, err = http.Get("http://" + srv.HTTPAddr + "/metrics")
	require.NoError(t, err)
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.True(t, bytes.Contains(metrics, []byte("chronogo_http_write_lines_total 2")), "metrics count the lines written")
	require.True(t, bytes.Contains(metrics, []byte(`chronogo_vnode_writes_total{db="lp",tenant="default",vnode=`)), "vnode figures are exported:\n%s", metrics)
}

// TestTTLRemovesExpiredMeasurements uses a short TTL pass interval (MongoDB's is 60 s).
func TestTTLRemovesExpiredMeasurements(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	srv := setup.Start(t, "", "--ttl-interval", "300ms")
	db := srv.Client().Database("ttl")
	require.NoError(t, db.CreateCollection(ctx, "m", options.CreateCollection().
		SetTimeSeriesOptions(options.TimeSeries().SetTimeField("t")).SetExpireAfterSeconds(3600)))
	coll := db.Collection("m")
	now := time.Now()
	_, err := coll.InsertMany(ctx, []any{
		bson.D{{Key: "t", Value: now.Add(-2 * time.Hour)}, {Key: "v", Value: "old"}},
		bson.D{{Key: "t", Value: now}, {Key: "v", Value: "new"}},
	})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		n, err := coll.CountDocuments(ctx, bson.D{})
		return err == nil && n == 1
	}, 20*time.Second, 100*time.Millisecond, "the expired measurement is removed")
	var left bson.M
	require.NoError(t, coll.FindOne(ctx, bson.D{}).Decode(&left))
	require.Equal(t, "new", left["v"])
}

// TestServerFlagsAndDataDirLock checks the command line: version, bad flags, and a second server
// on the same data directory.
func TestServerFlagsAndDataDirLock(t *testing.T) {
	t.Parallel()
	bin := setup.Binary(t)
	out, err := run(t, bin, "version")
	require.NoError(t, err)
	require.Regexp(t, `^chronogo \S+\n$`, out)
	out, err = run(t, bin, "--cluster-role", "weird")
	require.Error(t, err)
	require.Contains(t, out, "--cluster-role")
	srv := setup.Start(t, "")
	out, err = run(t, bin, "--data-dir", srv.DataDir, "--mongo-addr", "127.0.0.1:0", "--http-addr", "", "--raft-addr", "127.0.0.1:0")
	require.Error(t, err)
	require.Contains(t, out, "already in use")
}
