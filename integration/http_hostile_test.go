package integration

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/integration/setup"
)

// TestHTTPWriteHostileInput is issue #7's /write findings: names that are not MongoDB names (one
// used to create directories outside the data dir), oversized keys, timestamps at the int64 edges,
// bodies past the limit, a line of 100k fields, a NUL byte. Each gets its status, nothing is
// written for the refused ones, nothing appears outside the data directory, and the server keeps
// serving.
func TestHTTPWriteHostileInput(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	root := t.TempDir()
	dataDir := filepath.Join(root, "a", "b", "c", "d", "data")
	srv := setup.Start(t, dataDir, "--max-body-size=2MB")
	post := func(db, body string) (int, string) {
		resp, err := http.Post("http://"+srv.HTTPAddr+"/write?db="+url.QueryEscape(db), "text/plain", strings.NewReader(body))
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	const line = "cpu,host=a v=1 1700000000000000000"
	for _, db := range []string{"../../../../x", "../x", "a/b", `a\b`, "a$b", ".", "..", "a.b", "a b", `a"b`, "a\x00b",
		strings.Repeat("d", 64), strings.Repeat("d", 10000), "admin", "config", "local"} {
		code, body := post(db, line)
		require.Equal(t, http.StatusBadRequest, code, "db %q: %s", db, body)
	}
	for _, c := range []struct {
		name, body string
		code       int
		contains   string
	}{
		{"measurement with a NUL", "c\x00pu,host=a v=1 1", 400, "Invalid namespace"},
		{"measurement with $", "c$pu,host=a v=1 1", 400, "Invalid namespace"},
		{"system measurement", "system.x,host=a v=1 1", 400, "Invalid namespace"},
		{"time MaxInt64", "cpu,host=a v=1 9223372036854775807", 400, "outside"},
		{"time MinInt64", "cpu,host=a v=1 -9223372036854775808", 400, "outside"},
		{"time past int64", "cpu,host=a v=1 9223372036854775808", 400, "bad timestamp"},
		{"70 KB tag", "cpu,host=" + strings.Repeat("a", 70000) + " v=1 1", 400, "longer than"},
		{"field name too long", "cpu,host=a " + strings.Repeat("f", 2000) + "=1 1", 400, "longer than"},
		{"body past the limit", strings.Repeat(line+"\n", 2_000_000/len(line)+1), 413, "larger than"},
		{"one bad line of two", line + "\ncpu,host=a v=oops 1\n", 400, "line 2"},
	} {
		code, body := post("good", c.body)
		require.Equal(t, c.code, code, "%s: %s", c.name, body)
		require.Contains(t, body, c.contains, c.name)
	}
	// Nothing of the above was stored; a wide line and a good line are.
	wide := make([]string, 100_000)
	for i := range wide {
		wide[i] = fmt.Sprintf("f%d=%d", i, i)
	}
	code, body := post("good", "wide,host=a "+strings.Join(wide, ",")+" 1700000000000000000")
	require.Equal(t, http.StatusNoContent, code, body)
	code, body = post("good", line)
	require.Equal(t, http.StatusNoContent, code, body)

	names, err := srv.Client().ListDatabaseNames(ctx, bson.D{})
	require.NoError(t, err)
	require.NotContains(t, names, "admin.x")
	colls, err := srv.Client().Database("good").ListCollectionNames(ctx, bson.D{})
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"cpu", "wide"}, colls)
	n, err := srv.Client().Database("good").Collection("cpu").CountDocuments(ctx, bson.D{})
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	doc, err := srv.Client().Database("good").Collection("wide").FindOne(ctx, bson.D{}).Raw()
	require.NoError(t, err)
	require.EqualValues(t, 99_999, doc.Lookup("f99999").AsFloat64())

	// Nothing outside the data directory: the tree above it holds only the path to it.
	var outside []string
	require.NoError(t, filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if p == dataDir || strings.HasPrefix(p, dataDir+string(filepath.Separator)) || strings.HasPrefix(dataDir, p) {
			return nil
		}
		outside = append(outside, p)
		return nil
	}))
	require.Empty(t, outside)
	require.NotContains(t, srv.Log(), "marked broken")

	// The profiler is off unless --pprof turns it on.
	resp, err := http.Get("http://" + srv.HTTPAddr + "/debug/pprof/")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
}
