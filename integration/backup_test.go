package integration

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chronogo/chronogo/integration/setup"
)

// backupIDs lists the complete backups in dir, oldest first.
func backupIDs(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, e := range ents {
		if _, err := os.Stat(filepath.Join(dir, e.Name(), "manifest.json")); err == nil {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestBackupRestore: an online backup taken while a writer goes on holds everything acknowledged
// before it began; a second one reuses the TSM files the first holds; verify catches a flipped
// byte; restore into an empty server gives back the same documents (deleted ones stay deleted),
// options and indexes, and restores a database under a new name into a running server.
func TestBackupRestore(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	a := setup.Start(t, "")
	bin := setup.Binary(t)
	dir := t.TempDir()
	app := a.Client().Database("app")
	require.NoError(t, app.CreateCollection(ctx, "m", options.CreateCollection().SetTimeSeriesOptions(options.TimeSeries().SetTimeField("t").SetMetaField("host"))))
	base := time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC)
	var docs []any
	for i := range 3000 {
		docs = append(docs, bson.D{{Key: "t", Value: base.Add(time.Duration(i) * time.Second)}, {Key: "host", Value: fmt.Sprintf("h%d", i%5)},
			{Key: "v", Value: float64(i)}, {Key: "n", Value: int64(i)}, {Key: "s", Value: fmt.Sprint(i)}})
	}
	_, err := app.Collection("m").InsertMany(ctx, docs)
	require.NoError(t, err)
	_, err = app.Collection("m").DeleteMany(ctx, bson.D{{Key: "host", Value: "h3"}})
	require.NoError(t, err)
	var regs []any
	for i := range 40 {
		regs = append(regs, bson.D{{Key: "_id", Value: i}, {Key: "serial", Value: fmt.Sprintf("s%03d", i)}, {Key: "at", Value: base}})
	}
	_, err = app.Collection("reg").InsertMany(ctx, regs)
	require.NoError(t, err)
	_, err = app.Collection("reg").Indexes().CreateOne(ctx, mongo.IndexModel{Keys: bson.D{{Key: "serial", Value: 1}}, Options: options.Index().SetUnique(true)})
	require.NoError(t, err)

	// a writer goes on during the first backup
	var acked atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			_, err := app.Collection("live").InsertOne(ctx, bson.D{{Key: "_id", Value: i}})
			if err == nil {
				acked.Store(int64(i + 1))
			}
		}
	}()
	time.Sleep(200 * time.Millisecond)
	before := acked.Load()
	require.Positive(t, before)
	msg, err := run(t, bin, "backup", "--addr", a.HTTPAddr, "--to", dir, "--quiet")
	require.NoError(t, err, msg)
	close(stop)
	wg.Wait()
	ids := backupIDs(t, dir)
	require.Len(t, ids, 1)
	first := filepath.Join(dir, ids[0])

	// more writes, then an incremental backup
	_, err = app.Collection("m").InsertOne(ctx, bson.D{{Key: "t", Value: base.Add(-time.Hour)}, {Key: "host", Value: "late"}, {Key: "v", Value: 1.5}})
	require.NoError(t, err)
	time.Sleep(1100 * time.Millisecond) // backup ids have one-second resolution
	msg, err = run(t, bin, "backup", "--addr", a.HTTPAddr, "--to", dir, "--quiet")
	require.NoError(t, err, msg)
	ids = backupIDs(t, dir)
	require.Len(t, ids, 2)
	second := filepath.Join(dir, ids[1])
	var m struct {
		Previous string
		Files    []struct {
			Path   string
			Reused bool
		}
	}
	b, err := os.ReadFile(filepath.Join(second, "manifest.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &m))
	require.Equal(t, ids[0], m.Previous)
	reused := 0
	for _, f := range m.Files {
		if f.Reused {
			reused++
			require.True(t, strings.HasSuffix(f.Path, ".tsm") || strings.HasSuffix(f.Path, ".delta"), f.Path)
		}
	}
	require.Positive(t, reused, "the second backup reuses the first one's TSM files: %s", msg)
	for _, d := range []string{first, second} {
		msg, err = run(t, bin, "backup", "verify", d)
		require.NoError(t, err, msg)
	}

	// a damaged copy fails verify, naming the file
	damaged := filepath.Join(t.TempDir(), "copy")
	copyTree(t, second, damaged)
	var victim string
	require.NoError(t, filepath.WalkDir(damaged, func(p string, d os.DirEntry, err error) error {
		if err == nil && victim == "" && strings.HasSuffix(p, ".tsm") {
			victim = p
		}
		return err
	}))
	require.NotEmpty(t, victim)
	flipByte(t, victim)
	msg, err = run(t, bin, "backup", "verify", damaged)
	require.Error(t, err)
	require.Contains(t, msg, filepath.Base(victim))
	msg, err = run(t, bin, "restore", "--from", damaged, "--addr", a.HTTPAddr, "--quiet")
	require.Error(t, err, "a damaged backup restores nothing")
	require.Contains(t, msg, "nothing restored")

	// restore into an empty server
	bsrv := setup.Start(t, "")
	msg, err = run(t, bin, "restore", "--from", second, "--addr", bsrv.HTTPAddr, "--quiet")
	require.NoError(t, err, msg)
	dst := bsrv.Client().Database("app")
	for _, name := range []string{"m", "reg"} {
		want := allDocs(t, ctx, app.Collection(name))
		require.NotEmpty(t, want)
		require.Equal(t, want, allDocs(t, ctx, dst.Collection(name)), name)
	}
	n, err := dst.Collection("m").CountDocuments(ctx, bson.D{{Key: "host", Value: "h3"}})
	require.NoError(t, err)
	require.Zero(t, n, "deleted documents stay deleted")
	live, err := dst.Collection("live").CountDocuments(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$lt", Value: before}}}})
	require.NoError(t, err)
	require.Equal(t, before, live, "every write acknowledged before the backup began is in it")
	_, err = dst.Collection("reg").InsertOne(ctx, bson.D{{Key: "_id", Value: 999}, {Key: "serial", Value: "s007"}})
	require.True(t, mongo.IsDuplicateKeyError(err), "the unique index came back: %v", err)
	raw, err := dst.RunCommand(ctx, bson.D{{Key: "listCollections", Value: 1}, {Key: "filter", Value: bson.D{{Key: "name", Value: "m"}}}}).Raw()
	require.NoError(t, err)
	ts := raw.Lookup("cursor", "firstBatch", "0", "options", "timeseries").Document()
	require.Equal(t, "t", ts.Lookup("timeField").StringValue())
	require.Equal(t, "host", ts.Lookup("metaField").StringValue())

	// one database under a new name, into the running source
	msg, err = run(t, bin, "restore", "--from", first, "--addr", a.HTTPAddr, "--db", "app", "--as", "app_copy", "--quiet")
	require.NoError(t, err, msg)
	want := allDocs(t, ctx, app.Collection("reg"))
	require.Equal(t, want, allDocs(t, ctx, a.Client().Database("app_copy").Collection("reg")))
	cnt, err := a.Client().Database("app_copy").Collection("m").CountDocuments(ctx, bson.D{})
	require.NoError(t, err)
	require.EqualValues(t, 2400, cnt, "the first backup's readings: 3000 less the 600 of h3")
}

// copyTree copies a directory tree (files copied, not linked).
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	require.NoError(t, filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(to)
		if err != nil {
			return err
		}
		defer out.Close()
		_, err = io.Copy(out, in)
		return err
	}))
}

// flipByte flips one byte in the middle of a file.
func flipByte(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	b[len(b)/2] ^= 0x5a
	require.NoError(t, os.WriteFile(path, b, 0o644))
}

// TestClusterBackup is issue #11's backup "for the whole cluster": with two data nodes, two
// replicas of every replica set, the backup (asked of either node) takes one replica of each
// replica set, spread over both nodes, and restoring it into an empty standalone server gives
// back every document once. With one node killed, the backup takes every replica set from the
// other one.
func TestClusterBackup(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four processes")
	}
	t.Parallel()
	ctx := testCtx(t)
	c := setup.StartCluster(t, 1, 2, "--replication-factor", "2", "--shard-count", "2", "--repair-interval", "0")
	bin := setup.Binary(t)
	db := c.Data[0].Client().Database("metrics")
	require.NoError(t, db.CreateCollection(ctx, "cpu", options.CreateCollection().
		SetTimeSeriesOptions(options.TimeSeries().SetTimeField("t").SetMetaField("m"))))
	coll := db.Collection("cpu")
	base := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	want := firstDocs(t, ctx, coll, base)
	for b := 1; b < 3; b++ {
		// a day apart: several buckets
		want = append(want, clusterDocs(t, ctx, coll, b, 100, base.Add(time.Duration(b)*36*time.Hour))...)
	}

	vnodeDirs := func(dir string) map[string]bool {
		out := map[string]bool{}
		var m struct {
			Nodes []uint64
			Files []struct{ Path string }
		}
		b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(b, &m))
		for _, f := range m.Files {
			if p := strings.Split(f.Path, "/"); p[0] == "data" && len(p) > 6 {
				out[strings.Join(p[:6], "/")] = true // data/<tenant>/<db>/<bucket>/<rs>/<vnode>
			}
		}
		return out
	}
	replicaSets := func() int {
		out, err := run(t, bin, "ctl", "vnodes", "--addr", c.Data[0].HTTPAddr, "--db", "metrics")
		require.NoError(t, err, out)
		sets := map[string]bool{}
		for _, l := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
			f := strings.Fields(l)
			sets[f[2]+"/"+f[5]] = true // bucket/replica set
		}
		return len(sets)
	}
	restoreCount := func(dir string) {
		t.Helper()
		fresh := setup.Start(t, "")
		msg, err := run(t, bin, "restore", "--from", dir, "--addr", fresh.HTTPAddr, "--quiet")
		require.NoError(t, err, msg)
		got, err := findKeys(ctx, fresh.Client().Database("metrics").Collection("cpu"))
		require.NoError(t, err)
		requireAllOnce(t, got, want, "restored from "+filepath.Base(dir))
	}

	dir := t.TempDir()
	msg, err := run(t, bin, "backup", "--to", dir, "--addr", c.Data[1].HTTPAddr, "--quiet")
	require.NoError(t, err, msg)
	require.Contains(t, msg, "from 2 nodes")
	ids := backupIDs(t, dir)
	require.Len(t, ids, 1)
	first := filepath.Join(dir, ids[0])
	sets := replicaSets()
	require.Greater(t, sets, 1)
	require.Len(t, vnodeDirs(first), sets, "one replica of every replica set")
	restoreCount(first)

	c.Data[1].Kill()
	require.Eventually(t, func() bool {
		out, err := run(t, bin, "ctl", "nodes", "--addr", c.Data[0].HTTPAddr)
		return err == nil && strings.Contains(out, "down")
	}, 30*time.Second, 500*time.Millisecond, "dnode2 is seen down")
	dir2 := t.TempDir()
	msg, err = run(t, bin, "backup", "--to", dir2, "--addr", c.Data[0].HTTPAddr, "--quiet")
	require.NoError(t, err, msg)
	require.Contains(t, msg, "from 1 nodes")
	second := filepath.Join(dir2, backupIDs(t, dir2)[0])
	require.Len(t, vnodeDirs(second), sets)
	restoreCount(second)
}
