package integration

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chronogo/chronogo/integration/setup"
)

// clusterDocs inserts n documents of batch b through coll (hosts h0..h4, one per second from base)
// and returns their "k" keys.
func clusterDocs(t *testing.T, ctx context.Context, coll *mongo.Collection, batch, n int, base time.Time) []string {
	t.Helper()
	keys, err := clusterDocsErr(ctx, coll, batch, n, base)
	require.NoError(t, err, "insert batch %d", batch)
	return keys
}

// firstDocs inserts batch 0 of clusterDocs as soon as the data nodes have registered (writes
// fail until the placement has enough of them) and returns its keys.
func firstDocs(t *testing.T, ctx context.Context, coll *mongo.Collection, base time.Time) []string {
	t.Helper()
	var keys []string
	require.Eventually(t, func() bool {
		var err error
		keys, err = clusterDocsErr(ctx, coll, 0, 100, base)
		return err == nil
	}, 30*time.Second, 200*time.Millisecond, "the data nodes registered")
	return keys
}

// clusterDocsErr is clusterDocs returning the insert's error.
func clusterDocsErr(ctx context.Context, coll *mongo.Collection, batch, n int, base time.Time) ([]string, error) {
	docs := make([]any, n)
	keys := make([]string, n)
	for i := range docs {
		keys[i] = fmt.Sprintf("%d-%d", batch, i)
		docs[i] = bson.D{{Key: "t", Value: base.Add(time.Duration(batch*n+i) * time.Second)},
			{Key: "m", Value: bson.D{{Key: "host", Value: fmt.Sprintf("h%d", i%5)}}},
			{Key: "k", Value: keys[i]}, {Key: "v", Value: float64(i)}}
	}
	_, err := coll.InsertMany(ctx, docs)
	return keys, err
}

// findKeys returns the "k" values a find of every document returns, counted.
func findKeys(ctx context.Context, coll *mongo.Collection) (map[string]int, error) {
	return findKeysWhere(ctx, coll, bson.D{})
}

// findKeysWhere is findKeys of the documents filter matches.
func findKeysWhere(ctx context.Context, coll *mongo.Collection, filter bson.D) (map[string]int, error) {
	cur, err := coll.Find(ctx, filter)
	if err != nil {
		return nil, err
	}
	defer cur.Close(ctx)
	got := map[string]int{}
	for cur.Next(ctx) {
		got[cur.Current.Lookup("k").StringValue()]++
	}
	return got, cur.Err()
}

func requireAllOnce(t *testing.T, got map[string]int, want []string, where string) {
	t.Helper()
	require.Len(t, got, len(want), "%s: documents returned", where)
	for _, k := range want {
		require.Equal(t, 1, got[k], "%s: document %s", where, k)
	}
}

// TestClusterSurvivesMinorityLoss runs 3 meta nodes and 3 data nodes as processes, with every
// database replicated 3 times (quorum writes). It kills (SIGKILL) one data node and one meta node:
// writes keep being acknowledged, DDL keeps working, and every data node still up returns every
// acknowledged document. Then the two other data nodes are killed too, so the hints they hold for
// the first one exist only in their handoff queues on disk; everything restarts, and the first
// data node catches up through hinted handoff and returns every document as well.
func TestClusterSurvivesMinorityLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("starts six processes")
	}
	clusterSurvivesMinorityLoss(t, setup.StartCluster(t, 3, 3, "--replication-factor", "3"))
}

// TestClusterSurvivesMinorityLossTLS is the same with mutual TLS between every node (issue #8):
// Raft, actor and meta-service traffic all go through certificates of the cluster's CA.
func TestClusterSurvivesMinorityLossTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("starts six processes")
	}
	tlsFlags := clusterTLSFlags(t, t.TempDir())
	clusterSurvivesMinorityLoss(t, setup.StartClusterFlags(t, 3, 3, append(tlsFlags, "--tls-mode", "requireTLS"),
		append(tlsFlags, "--tls-mode", "allowTLS", "--replication-factor", "3")))
}

func clusterSurvivesMinorityLoss(t *testing.T, c *setup.Cluster) {
	ctx := testCtx(t)
	clients := make([]*mongo.Client, len(c.Data))
	for i, s := range c.Data {
		clients[i] = s.Client()
	}
	db := clients[0].Database("metrics")
	require.NoError(t, db.CreateCollection(ctx, "cpu", options.CreateCollection().
		SetTimeSeriesOptions(options.TimeSeries().SetTimeField("t").SetMetaField("m"))))
	var stats bson.M
	require.NoError(t, clients[1].Database("metrics").RunCommand(ctx, bson.D{{Key: "listCollections", Value: 1}}).Decode(&stats))

	base := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	var want []string
	for b := range 3 {
		want = append(want, clusterDocs(t, ctx, clients[b%3].Database("metrics").Collection("cpu"), b, 200, base)...)
	}
	for i, cl := range clients {
		// A quorum write returns once two of three replicas committed it; the third shows it when
		// it commits too (a write is visible on a replica once it is durable there): soon, not at once.
		var got map[string]int
		require.Eventually(t, func() bool {
			var err error
			got, err = findKeys(ctx, cl.Database("metrics").Collection("cpu"))
			return err == nil && len(got) == len(want)
		}, 10*time.Second, 50*time.Millisecond, "dnode%d before the kill", i+1)
		requireAllOnce(t, got, want, fmt.Sprintf("dnode%d before the kill", i+1))
	}

	// lose one replica of every replica set and one of the three meta voters
	c.Data[2].Kill()
	c.Meta[0].Kill()
	for b := 3; b < 6; b++ {
		want = append(want, clusterDocs(t, ctx, clients[b%2].Database("metrics").Collection("cpu"), b, 200, base)...)
	}
	require.NoError(t, clients[1].Database("metrics").CreateCollection(ctx, "after", options.CreateCollection().
		SetTimeSeriesOptions(options.TimeSeries().SetTimeField("t"))), "DDL with a meta node down")
	for i, cl := range clients[:2] {
		got, err := findKeys(ctx, cl.Database("metrics").Collection("cpu"))
		require.NoError(t, err)
		requireAllOnce(t, got, want, fmt.Sprintf("dnode%d after the kill", i+1))
	}

	// a replica's failure is known (and hinted) once its request times out: wait for the hints of
	// the three batches, then the coordinators die too (SIGKILL) and the hints exist only on disk
	require.Eventually(t, func() bool {
		return metricSum(t, c.Data[0], "chronogo_handoff_hints")+metricSum(t, c.Data[1], "chronogo_handoff_hints") >= 3
	}, 30*time.Second, 200*time.Millisecond, "the coordinators did not queue hints for dnode3")
	resp, err := http.Get("http://" + c.Data[0].HTTPAddr + "/metrics")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Contains(t, string(body), `chronogo_handoff_hints{target_node="dnode3"}`, "hint queues are named by --node-id")
	c.Data[0].Kill()
	c.Data[1].Kill()
	c.Meta[0].Restart()
	c.Data[0].Restart()
	c.Data[1].Restart()
	c.Data[2].Restart()
	for i, s := range c.Data[:2] {
		got, err := findKeys(ctx, s.Client().Database("metrics").Collection("cpu"))
		require.NoError(t, err)
		requireAllOnce(t, got, want, fmt.Sprintf("dnode%d after SIGKILL and restart", i+1))
	}
	// dnode3 catches up from the hints its peers kept on disk
	back := c.Data[2].Client().Database("metrics").Collection("cpu")
	if got, err := findKeys(ctx, back); err == nil {
		t.Logf("dnode3 right after its restart: %d of %d documents", len(got), len(want))
	}
	var last map[string]int
	caughtUp := assert.Eventually(t, func() bool {
		got, err := findKeys(ctx, back)
		last = got
		return err == nil && len(got) == len(want)
	}, 60*time.Second, 500*time.Millisecond)
	require.True(t, caughtUp, "dnode3 did not catch up: %d of %d documents", len(last), len(want))
	requireAllOnce(t, last, want, "dnode3 after its restart")
	require.Eventually(t, func() bool {
		return metricSum(t, c.Data[0], "chronogo_handoff_hints")+metricSum(t, c.Data[1], "chronogo_handoff_hints") == 0
	}, 30*time.Second, 200*time.Millisecond, "hints are still queued")
	require.GreaterOrEqual(t, metricSum(t, c.Data[0], "chronogo_handoff_replayed_total")+metricSum(t, c.Data[1], "chronogo_handoff_replayed_total"), 3.0)
}

// metricSum scrapes a server's /metrics and sums every sample of one metric (0 when absent).
func metricSum(t *testing.T, s *setup.Server, name string) float64 {
	v, _ := metricWith(t, s, name, "")
	return v
}
