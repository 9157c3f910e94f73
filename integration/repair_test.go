package integration

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/writeconcern"

	"github.com/chronogo/chronogo/integration/setup"
)

// lostHints starts one mnode and two dnodes (two replicas of every replica set) and leaves dnode2
// without the documents written while it was down: dnode1's hints for it are lost with its
// handoff directory. It returns the cluster, every document key, and dnode2's collection.
func lostHints(t *testing.T, dataFlags ...string) (*setup.Cluster, []string, *mongo.Collection) {
	t.Helper()
	return lostHintsThen(t, nil, dataFlags...)
}

// lostHintsThen is lostHints that calls beforeRestart (when not nil) while both dnodes are down.
func lostHintsThen(t *testing.T, beforeRestart func(c *setup.Cluster), dataFlags ...string) (*setup.Cluster, []string, *mongo.Collection) {
	t.Helper()
	ctx := testCtx(t)
	c := setup.StartCluster(t, 1, 2, append([]string{"--replication-factor", "2"}, dataFlags...)...)
	one := c.Data[0].Client().Database("metrics")
	require.NoError(t, one.CreateCollection(ctx, "cpu", options.CreateCollection().
		SetTimeSeriesOptions(options.TimeSeries().SetTimeField("t").SetMetaField("m"))))
	coll := one.Collection("cpu", options.Collection().SetWriteConcern(writeconcern.W1()))
	base := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	want := firstDocs(t, ctx, coll, base)
	second := c.Data[1].Client().Database("metrics").Collection("cpu")
	require.Eventually(t, func() bool {
		got, err := findKeys(ctx, second)
		return err == nil && len(got) == len(want)
	}, 10*time.Second, 50*time.Millisecond, "dnode2 has the first documents")

	c.Data[1].Kill()
	for b := 1; b < 4; b++ {
		want = append(want, clusterDocs(t, ctx, coll, b, 100, base)...)
	}
	require.Eventually(t, func() bool { return metricSum(t, c.Data[0], "chronogo_handoff_hints") >= 1 }, 30*time.Second, 200*time.Millisecond,
		"dnode1 hinted the writes dnode2 missed")
	// the console's API shows the queue, and the age of its oldest hint while it is retried
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + c.Data[0].HTTPAddr + "/api/v1/actors")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var info struct {
			Hints []struct {
				Hints         int
				OldestSeconds float64
			}
		}
		return json.NewDecoder(resp.Body).Decode(&info) == nil && len(info.Hints) == 1 && info.Hints[0].Hints >= 1 && info.Hints[0].OldestSeconds > 0
	}, 30*time.Second, 200*time.Millisecond, "the hint queue for dnode2 in /api/v1/actors")
	c.Data[0].Kill()
	handoff := filepath.Join(c.Data[0].DataDir, "handoff")
	_, err := os.Stat(handoff)
	require.NoError(t, err)
	require.NoError(t, os.RemoveAll(handoff), "the hints are lost")
	if beforeRestart != nil {
		beforeRestart(c)
	}
	c.Data[0].Restart()
	c.Data[1].Restart()
	return c, want, c.Data[1].Client().Database("metrics").Collection("cpu")
}

// TestCtlRepairAfterLostHints is issue #11's anti-entropy through real processes: with two
// replicas of every replica set, dnode2 is killed while documents are written with w:1; the
// hints dnode1 keeps for it are then lost with dnode1's handoff directory (as after a disk
// replacement or an expired hint). dnode2, back, shows only what it got before its kill. A dry
// run of `chronogo ctl repair` reports the differing windows and copies nothing; the repair
// copies the missing points, after which dnode2 returns every document once, and a second
// repair finds nothing to do.
func TestCtlRepairAfterLostHints(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three processes")
	}
	t.Parallel()
	ctx := testCtx(t)
	c, want, second := lostHints(t, "--repair-interval", "0")
	bin := setup.Binary(t)
	got, err := findKeys(ctx, second)
	require.NoError(t, err)
	require.Len(t, got, 100, "dnode2 shows only what it took before its kill")

	// a node just restarted may take a few seconds to reach its peer again: a replica set whose
	// replica does not answer is skipped, and the repair is run again
	repair := func(addr string, args ...string) string {
		var out string
		require.Eventually(t, func() bool {
			var err error
			out, err = run(t, bin, append([]string{"ctl", "repair", "--addr", addr, "--db", "metrics", "--window", "10m"}, args...)...)
			if err != nil {
				require.Contains(t, out, "not repaired", "the only failure is a replica set skipped")
				return false
			}
			return strings.Contains(out, "(skipped: 0)")
		}, 150*time.Second, time.Second, "the replicas answer")
		return out
	}
	out := repair(c.Data[1].HTTPAddr, "--dry-run")
	require.Contains(t, out, "dry run: nothing copied")
	require.NotContains(t, out, "different: 0;", out)
	got, err = findKeys(ctx, second)
	require.NoError(t, err)
	require.Len(t, got, 100, "a dry run copies nothing")

	out = repair(c.Data[1].HTTPAddr)
	require.Contains(t, out, "still different: 0;", out)
	require.NotContains(t, out, "points copied: 0,", out)
	got, err = findKeys(ctx, second)
	require.NoError(t, err)
	requireAllOnce(t, got, want, "dnode2 after the repair")
	got, err = findKeys(ctx, c.Data[0].Client().Database("metrics").Collection("cpu"))
	require.NoError(t, err)
	requireAllOnce(t, got, want, "dnode1 after the repair")
	require.Positive(t, metricSum(t, c.Data[1], "chronogo_antientropy_series_repaired_total"))

	out = repair(c.Data[0].HTTPAddr)
	require.Contains(t, out, "windows compared:", out)
	require.Contains(t, out, "different: 0;", out)
	require.True(t, strings.Contains(out, "points copied: 0,"), out)
}

// TestScheduledRepair: with --repair-interval, the cluster repairs by itself (one node under a
// lease, data older than the hint window: these documents are from 2024): dnode2 ends up
// returning every document without anyone asking.
func TestScheduledRepair(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three processes")
	}
	t.Parallel()
	ctx := testCtx(t)
	_, want, second := lostHints(t, "--repair-interval", "2s")
	var got map[string]int
	require.Eventually(t, func() bool {
		var err error
		got, err = findKeys(ctx, second)
		return err == nil && len(got) == len(want)
	}, 90*time.Second, time.Second, "dnode2 was repaired")
	requireAllOnce(t, got, want, "dnode2 after the scheduled repair")
}

// TestRepairOntoFullDisk: dnode2's data directory is on a small tmpfs (a real disk), filled
// when the repair runs: the repair fails with a one-line reason naming the full disk and a
// non-zero exit, both replicas still return what they had, and once space is freed the same
// command repairs dnode2 whole.
func TestRepairOntoFullDisk(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three processes")
	}
	t.Parallel()
	ctx := testCtx(t)
	disk := smallDisk(t, 96)
	c, want, second := lostHintsThen(t, func(c *setup.Cluster) {
		moved := filepath.Join(disk, "dnode2")
		out, err := exec.Command("cp", "-a", c.Data[1].DataDir, moved).CombinedOutput()
		require.NoError(t, err, "%s", out)
		c.Data[1].DataDir = moved
	}, "--repair-interval", "0")
	bin := setup.Binary(t)
	got, err := findKeys(ctx, second)
	require.NoError(t, err)
	require.Len(t, got, 100, "dnode2 shows only what it took before its kill")
	require.Eventually(t, func() bool { // the restarted node reaches its peer again
		out, err := run(t, bin, "ctl", "repair", "--addr", c.Data[1].HTTPAddr, "--db", "metrics", "--window", "10m", "--dry-run")
		return err == nil && strings.Contains(out, "(skipped: 0)")
	}, 150*time.Second, time.Second, "the replicas answer")

	// fill the disk to the last byte (until ENOSPC)
	filler := filepath.Join(disk, "filler")
	f, err := os.Create(filler)
	require.NoError(t, err)
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			require.ErrorIs(t, err, syscall.ENOSPC)
			break
		}
	}
	for _, n := range []int{4096, 512, 1} { // the last partial blocks
		for {
			if _, err := f.Write(chunk[:n]); err != nil {
				break
			}
		}
	}
	require.NoError(t, f.Close())
	// the fill either fails with a reason naming the disk (and a non-zero exit), or lands in
	// space the node reserved before (its WAL segment): then it is acknowledged and must last
	out, repairErr := run(t, bin, "ctl", "repair", "--addr", c.Data[1].HTTPAddr, "--db", "metrics", "--window", "10m")
	t.Logf("repair onto a full disk (error %v): %s", repairErr, out)
	got, err = findKeys(ctx, second)
	require.NoError(t, err)
	if repairErr != nil {
		require.Contains(t, strings.ToLower(out), "disk", "a one-line reason names the full disk")
		require.GreaterOrEqual(t, len(got), 100, "dnode2 still returns what it had")
	} else {
		require.Contains(t, out, "still different: 0;")
		requireAllOnce(t, got, want, "dnode2 after a repair that succeeded")
	}
	first, err := findKeys(ctx, c.Data[0].Client().Database("metrics").Collection("cpu"))
	require.NoError(t, err)
	requireAllOnce(t, first, want, "dnode1 is untouched")
	acked := len(got)

	// a SIGKILL while the disk is full, then space freed: dnode2 keeps what it acknowledged
	c.Data[1].Kill()
	require.NoError(t, os.Remove(filler))
	c.Data[1].Restart()
	got, err = findKeys(ctx, c.Data[1].Client().Database("metrics").Collection("cpu"))
	require.NoError(t, err)
	require.Len(t, got, acked, "dnode2 after the kill has what it returned before")
	second = c.Data[1].Client().Database("metrics").Collection("cpu")
	require.Eventually(t, func() bool {
		out, err = run(t, bin, "ctl", "repair", "--addr", c.Data[1].HTTPAddr, "--db", "metrics", "--window", "10m")
		return err == nil && strings.Contains(out, "still different: 0;")
	}, 90*time.Second, time.Second, "the repair completes once space is freed")
	got, err = findKeys(ctx, second)
	require.NoError(t, err)
	requireAllOnce(t, got, want, "dnode2 after the repair")
}
