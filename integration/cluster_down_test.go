package integration

import (
	"fmt"
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

// metricWith scrapes a server's /metrics and sums the samples of name whose labels contain label.
func metricWith(t *testing.T, s *setup.Server, name, label string) (float64, bool) {
	t.Helper()
	var (
		sum   float64
		found bool
	)
	for series, v := range scrape(t, s) {
		if seriesName(series) == name && strings.Contains(series, label) {
			sum, found = sum+v, true
		}
	}
	return sum, found
}

// readingKeys returns the sorted "k" values of every document of coll.
func readingKeys(t *testing.T, coll *mongo.Collection) []string {
	t.Helper()
	ctx := testCtx(t)
	cur, err := coll.Find(ctx, bson.D{})
	require.NoError(t, err)
	defer cur.Close(ctx)
	var keys []string
	for cur.Next(ctx) {
		keys = append(keys, cur.Current.Lookup("k").StringValue())
	}
	require.NoError(t, cur.Err())
	sort.Strings(keys)
	return keys
}

// TestClusterDeletesAndTTLWithANodeDown is issue #14's real-process check of deletes and expiry
// through node loss, and of supervision across nodes: 3 mnodes and 3 dnodes, replication 3. With
// dnode3 SIGKILLed, its peers see it down within seconds (chronogo_peer_up), the placement marks
// it down (chronogo_node_down_seconds on every node) and the mnode warns once it is down longer
// than --node-down-after; deleteMany and a TTL expiry succeed. When dnode3 returns it is seen up,
// its hints drain, and every replica (each dnode reads its own) holds exactly the same documents:
// the deleted and expired ones gone, a write made after the delete kept.
func TestClusterDeletesAndTTLWithANodeDown(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four processes")
	}
	t.Parallel()
	ctx := testCtx(t)
	c := setup.StartClusterFlags(t, 3, 3, []string{"--node-down-after", "2s"},
		[]string{"--replication-factor", "3", "--ttl-interval", "500ms"})
	cl := c.Data[0].Client()
	db := cl.Database("fleet")
	readings := createTS(t, db, "readings")
	require.NoError(t, db.CreateCollection(ctx, "expiring", options.CreateCollection().
		SetTimeSeriesOptions(options.TimeSeries().SetTimeField("ts").SetMetaField("meta")).SetExpireAfterSeconds(86400)))
	expiring := db.Collection("expiring")
	require.Eventually(t, func() bool { // the dnodes register after they listen: RF 3 needs all three
		_, err := expiring.InsertOne(ctx, bson.D{{Key: "ts", Value: time.Now().Add(-30 * time.Minute)}, {Key: "meta", Value: "probe"}, {Key: "k", Value: "probe"}})
		return err == nil
	}, 30*time.Second, 100*time.Millisecond, "the three data nodes registered")

	base := time.Now().Add(-10 * time.Minute).Truncate(time.Second)
	var want []string
	var docs []any
	for i := range 200 {
		host := fmt.Sprintf("h%d", i%5)
		k := fmt.Sprintf("%s-%d", host, i)
		docs = append(docs, bson.D{{Key: "ts", Value: base.Add(time.Duration(i) * time.Second)}, {Key: "meta", Value: bson.D{{Key: "host", Value: host}}},
			{Key: "k", Value: k}, {Key: "v", Value: float64(i)}})
		if host != "h1" {
			want = append(want, k)
		}
	}
	_, err := readings.InsertMany(ctx, docs)
	require.NoError(t, err)
	var old []any
	for i := range 50 {
		old = append(old, bson.D{{Key: "ts", Value: base.Add(-20*time.Minute + time.Duration(i)*time.Second)}, {Key: "meta", Value: "old"}, {Key: "k", Value: fmt.Sprint(i)}})
	}
	_, err = expiring.InsertMany(ctx, old)
	require.NoError(t, err)
	for _, s := range c.Data {
		coll := s.Client().Database("fleet").Collection("readings")
		require.Eventually(t, func() bool { return len(readingKeys(t, coll)) == 200 }, 10*time.Second, 50*time.Millisecond)
	}
	require.Eventually(t, func() bool {
		v, ok := metricWith(t, c.Data[0], "chronogo_peer_up", `peer="dnode3"`)
		return ok && v == 1
	}, 10*time.Second, 100*time.Millisecond, "dnode1 watches dnode3")

	c.Data[2].Kill()
	killed := time.Now()
	require.Eventually(t, func() bool {
		v, ok := metricWith(t, c.Data[0], "chronogo_peer_up", `peer="dnode3"`)
		return ok && v == 0
	}, 10*time.Second, 50*time.Millisecond, "dnode1 sees dnode3 down")
	t.Logf("dnode3 seen down %v after SIGKILL", time.Since(killed))
	for _, s := range []*setup.Server{c.Meta[0], c.Data[0], c.Data[1]} {
		require.Eventually(t, func() bool {
			v, ok := metricWith(t, s, "chronogo_node_down_seconds", `node="dnode3"`)
			return ok && v > 0
		}, 10*time.Second, 100*time.Millisecond, "the placement marks dnode3 down")
	}
	out, err := ctl(t, "nodes", "--addr", c.Data[0].HTTPAddr)
	require.NoError(t, err, out)
	require.Regexp(t, `(?m)^dnode3\s+dnode\s+\S+\s+\S+\s+\S+\s+down since `, out, "ctl nodes shows dnode3 down")
	require.Regexp(t, `(?m)^dnode1\s+dnode\s+.*up \(this node\)$`, out)
	require.Regexp(t, `(?m)^dnode2\s+dnode\s+.*\sup$`, out)
	require.Eventually(t, func() bool {
		v, _ := metricWith(t, c.Meta[0], "chronogo_node_down_too_long", `node="dnode3"`)
		return v == 1 && strings.Contains(c.Meta[0].Log(), "down too long")
	}, 20*time.Second, 200*time.Millisecond, "the mnode warns about a node down longer than --node-down-after")

	// a driver given every data node (they present themselves as mongos routers) goes on with
	// the two that are up
	hosts := []string{}
	for _, s := range c.Data {
		hosts = append(hosts, s.MongoAddr)
	}
	routers, err := mongo.Connect(options.Client().ApplyURI("mongodb://" + strings.Join(hosts, ",") + "/").SetTimeout(20 * time.Second))
	require.NoError(t, err)
	defer func() { _ = routers.Disconnect(ctx) }()
	for i := range 20 {
		_, err := routers.Database("fleet").Collection("readings").InsertOne(ctx, bson.D{{Key: "ts", Value: base.Add(time.Duration(i) * time.Millisecond)},
			{Key: "meta", Value: bson.D{{Key: "host", Value: "r"}}}, {Key: "k", Value: fmt.Sprintf("r-%d", i)}})
		require.NoError(t, err, "insert %d through a client of all three nodes, one down", i)
		want = append(want, fmt.Sprintf("r-%d", i))
	}

	// deleteMany and a TTL expiry with dnode3 down
	res, err := readings.DeleteMany(ctx, bson.D{{Key: "meta.host", Value: "h1"}})
	require.NoError(t, err, "deleteMany with a replica down")
	require.EqualValues(t, 40, res.DeletedCount)
	_, err = readings.InsertOne(ctx, bson.D{{Key: "ts", Value: base}, {Key: "meta", Value: bson.D{{Key: "host", Value: "h1"}}}, {Key: "k", Value: "h1-after"}})
	require.NoError(t, err, "a write after the delete")
	want = append(want, "h1-after")
	sort.Strings(want)
	require.NoError(t, db.RunCommand(ctx, bson.D{{Key: "collMod", Value: "expiring"}, {Key: "expireAfterSeconds", Value: 60}}).Err())
	require.Eventually(t, func() bool {
		n, err := expiring.CountDocuments(ctx, bson.D{})
		return err == nil && n == 0
	}, 30*time.Second, 200*time.Millisecond, "the TTL pass expires the points with a replica down")

	c.Data[2].Restart()
	require.Eventually(t, func() bool {
		v, ok := metricWith(t, c.Data[0], "chronogo_peer_up", `peer="dnode3"`)
		return ok && v == 1
	}, 30*time.Second, 100*time.Millisecond, "dnode1 sees dnode3 up again")
	require.Eventually(t, func() bool {
		v, ok := metricWith(t, c.Meta[0], "chronogo_node_down_seconds", `node="dnode3"`)
		return ok && v == 0
	}, 30*time.Second, 100*time.Millisecond, "the placement marks dnode3 up")
	require.Eventually(t, func() bool {
		return metricSum(t, c.Data[0], "chronogo_handoff_hints")+metricSum(t, c.Data[1], "chronogo_handoff_hints") == 0
	}, 60*time.Second, 200*time.Millisecond, "the hints for dnode3 drain")
	for i, s := range c.Data {
		fleet := s.Client().Database("fleet")
		require.Eventually(t, func() bool {
			return strings.Join(readingKeys(t, fleet.Collection("readings")), ",") == strings.Join(want, ",")
		}, 30*time.Second, 200*time.Millisecond, "dnode%d's replica: the deleted documents gone, the later write kept", i+1)
		require.Equal(t, want, readingKeys(t, fleet.Collection("readings")), "dnode%d", i+1)
		n, err := fleet.Collection("expiring").CountDocuments(ctx, bson.D{})
		require.NoError(t, err)
		require.Zero(t, n, "dnode%d's replica: the expired points gone", i+1)
	}
}
