package integration

import (
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/integration/setup"
)

// ctl runs `chronogo ctl args...` and returns its output and exit error.
func ctl(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command(setup.Binary(t), append([]string{"ctl"}, args...)...).CombinedOutput()
	return string(out), err
}

// TestCtlCompact is issue #9's "chronogo ctl compact forces the same at once": on a server that
// would not settle by itself for an hour, ctl flush empties the memcaches and ctl compact leaves one
// TSM file per vnode, every point readable; under --auth both need a cluster administrator, and a
// refusal is a one-line reason and a non-zero exit.
func TestCtlCompact(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	srv := setup.Start(t, "", "--settle-after", "1h", "--auth")
	anon := srv.Client()
	const pwd = "Compact-Me-1"
	require.NoError(t, anon.Database("admin").RunCommand(ctx, bson.D{{Key: "createUser", Value: "root"},
		{Key: "pwd", Value: pwd}, {Key: "roles", Value: bson.A{"root"}}}).Err())
	root := connectAs(t, srv, "root", pwd, "")
	require.NoError(t, root.Database("admin").RunCommand(ctx, bson.D{{Key: "createUser", Value: "app"},
		{Key: "pwd", Value: pwd}, {Key: "roles", Value: bson.A{bson.D{{Key: "role", Value: "readWrite"}, {Key: "db", Value: "m"}}}}}).Err())
	coll := createTS(t, root.Database("m"), "cpu")
	for b := range 20 {
		docs := make([]any, 0, 1000)
		for i := b * 1000; i < (b+1)*1000; i++ {
			docs = append(docs, bson.D{{Key: "ts", Value: time.Unix(1_700_000_000+int64(i), 0)}, {Key: "meta", Value: "h" + string(rune('a'+i%4))}, {Key: "v", Value: float64(i % 97)}})
		}
		_, err := coll.InsertMany(ctx, docs)
		require.NoError(t, err)
	}
	files, _ := metricWith(t, srv, "chronogo_vnode_files", "")
	cache, _ := metricWith(t, srv, "chronogo_vnode_cache_bytes", "")
	require.Positive(t, cache, "not compact yet: %v files, %v bytes in memory", files, cache)

	var out string
	var err error
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "authentication required"},
		{[]string{"--user", "app", "--password", pwd}, "not authorized"},
		{[]string{"--user", "root", "--password", "wrong"}, "not authorized"},
	} {
		out, err = ctl(t, append([]string{"compact", "--addr", srv.HTTPAddr}, tc.args...)...)
		require.Error(t, err, out)
		require.Contains(t, out, tc.want)
		require.Equal(t, 1, strings.Count(strings.TrimSpace(out), "\n")+1, "one line: %q", out)
	}
	// ctl flush empties the memcaches into TSM files (not yet one per vnode: that is compact's work)
	out, err = ctl(t, "flush", "--addr", srv.HTTPAddr)
	require.Error(t, err, out)
	require.Contains(t, out, "authentication required")
	out, err = ctl(t, "flush", "--addr", srv.HTTPAddr, "--user", "root", "--password", pwd)
	require.NoError(t, err, out)
	require.Regexp(t, `^flushed 2 vnodes in [0-9.]+ s\n$`, out)
	cache, _ = metricWith(t, srv, "chronogo_vnode_cache_bytes", "")
	require.Zero(t, cache, "nothing left in memory after ctl flush")

	out, err = ctl(t, "compact", "--addr", srv.HTTPAddr, "--user", "root", "--password", pwd)
	require.NoError(t, err, out)
	m := regexp.MustCompile(`^compacted (\d+) vnodes in [0-9.]+ s\n$`).FindStringSubmatch(out)
	require.NotNil(t, m, out)
	vnodes, _ := strconv.Atoi(m[1])
	require.Equal(t, 2, vnodes, "the points span two day buckets")
	files, _ = metricWith(t, srv, "chronogo_vnode_files", "")
	cache, _ = metricWith(t, srv, "chronogo_vnode_cache_bytes", "")
	require.EqualValues(t, vnodes, files, "one file per vnode")
	require.Zero(t, cache)
	n, err := coll.CountDocuments(ctx, bson.D{})
	require.NoError(t, err)
	require.EqualValues(t, 20_000, n)
}
