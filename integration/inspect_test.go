package integration

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/integration/setup"
)

// TestInspectVerifyFindsDamage writes data, stops the server (which flushes to TSM files), verifies
// the data directory offline, then flips one byte of a TSM file: verify must name the file and
// offset and exit non-zero.
func TestInspectVerifyFindsDamage(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	srv := setup.Start(t, "")
	coll := createTS(t, srv.Client().Database("insp"), "m")
	var docs []any
	for i := 0; i < 500; i++ {
		docs = append(docs, bson.D{{Key: "ts", Value: time.Unix(int64(i), 0)}, {Key: "meta", Value: i % 3}, {Key: "v", Value: float64(i)}})
	}
	_, err := coll.InsertMany(ctx, docs)
	require.NoError(t, err)
	srv.Stop()

	bin := setup.Binary(t)
	out, err := run(t, bin, "inspect", "verify", srv.DataDir)
	require.NoError(t, err, out)
	require.Contains(t, out, "no damage")

	tsmFiles, err := filepath.Glob(filepath.Join(srv.DataDir, "data", "*", "insp", "*", "*", "*", "tsm", "*.tsm"))
	require.NoError(t, err)
	require.NotEmpty(t, tsmFiles, "a graceful stop flushes the memcache to TSM files")
	f, err := os.OpenFile(tsmFiles[0], os.O_RDWR, 0)
	require.NoError(t, err)
	_, err = f.WriteAt([]byte{0xff}, 7) // inside the first block
	require.NoError(t, err)
	require.NoError(t, f.Close())
	out, err = run(t, bin, "inspect", "verify", srv.DataDir)
	require.Error(t, err)
	require.Contains(t, out, tsmFiles[0])
	require.Contains(t, out, "at offset")

	out, err = run(t, bin, "inspect", "dumptsm", "--index-only", tsmFiles[0])
	require.NoError(t, err, "the index is intact: %s", out)
	require.Contains(t, out, `field="v"`)
	require.Contains(t, out, "\nm,meta=", "the file names its series (format version 2), as line protocol")
	out, err = run(t, bin, "inspect", "dumptsm", "--index-only", "--raw", tsmFiles[0])
	require.NoError(t, err, out)
	require.Contains(t, out, `"m" meta=`, "--raw: the series table with its ids")

	// the series index is verified too
	snap := filepath.Join(filepath.Dir(filepath.Dir(tsmFiles[0])), "index", "index.snap")
	b, err := os.ReadFile(snap)
	require.NoError(t, err)
	b[len(b)/2] ^= 0x5a
	require.NoError(t, os.WriteFile(snap, b, 0o644))
	out, err = run(t, bin, "inspect", "verify", srv.DataDir)
	require.Error(t, err)
	require.Contains(t, out, "BAD "+filepath.Dir(snap))
}
