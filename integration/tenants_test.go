package integration

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chronogo/chronogo/integration/setup"
)

func runCmd(t *testing.T, c *mongo.Client, db string, cmd bson.D) (bson.Raw, error) {
	t.Helper()
	return c.Database(db).RunCommand(testCtx(t), cmd).Raw()
}

// insertPoints inserts n documents of one field into db.cpu (created first) and returns the error.
func insertPoints(t *testing.T, c *mongo.Client, db string, n int) error {
	t.Helper()
	coll := c.Database(db).Collection("cpu")
	docs := make([]any, n)
	base := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	for i := range docs {
		docs[i] = bson.D{{Key: "ts", Value: base.Add(time.Duration(i) * time.Second)}, {Key: "meta", Value: "h"}, {Key: "v", Value: float64(i)}}
	}
	_, err := coll.InsertMany(testCtx(t), docs)
	return err
}

func countDocs(t *testing.T, c *mongo.Client, db, coll string) int64 {
	t.Helper()
	n, err := c.Database(db).Collection(coll).CountDocuments(testCtx(t), bson.D{})
	require.NoError(t, err)
	return n
}

// TestTenantsIsolateAndQuota is issue #8's tenant check: three tenants each have a database
// "metrics" with a collection "cpu" and see only their own data through find, aggregate,
// listDatabases, cursors and /write; a tenant's user admin manages only its own users; quotas
// refuse what passes them and write nothing; tenants and users survive a restart.
func TestTenantsIsolateAndQuota(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	srv := setup.Start(t, "", "--auth")
	anon := srv.Client()
	_, err := runCmd(t, anon, "admin", bson.D{{Key: "createUser", Value: "root"}, {Key: "pwd", Value: "root-pw"}, {Key: "roles", Value: bson.A{"root"}}})
	require.NoError(t, err)
	root := connectAs(t, srv, "root", "root-pw", "")

	_, err = runCmd(t, root, "admin", bson.D{{Key: "createTenant", Value: "acme"}, {Key: "quotas", Value: bson.D{{Key: "maxDatabases", Value: 1}}}})
	require.NoError(t, err)
	_, err = runCmd(t, root, "admin", bson.D{{Key: "createTenant", Value: "beta"}, {Key: "quotas", Value: bson.D{{Key: "maxWriteValuesPerSec", Value: 300}}}})
	require.NoError(t, err)
	_, err = runCmd(t, root, "admin", bson.D{{Key: "createTenant", Value: "acme"}})
	requireCode(t, err, 48)
	anyRW := bson.A{bson.D{{Key: "role", Value: "readWriteAnyDatabase"}, {Key: "db", Value: "admin"}},
		bson.D{{Key: "role", Value: "userAdminAnyDatabase"}, {Key: "db", Value: "admin"}}}
	for _, u := range []struct{ name, tenant string }{{"alice", "acme"}, {"bob", "beta"}, {"carol", ""}} {
		cmd := bson.D{{Key: "createUser", Value: u.name}, {Key: "pwd", Value: u.name + "-pw"}, {Key: "roles", Value: anyRW}}
		if u.tenant != "" {
			cmd = append(cmd, bson.E{Key: "tenant", Value: u.tenant})
		}
		_, err = runCmd(t, root, "admin", cmd)
		require.NoError(t, err, u.name)
	}
	_, err = runCmd(t, root, "admin", bson.D{{Key: "createUser", Value: "alice"}, {Key: "pwd", Value: "x"}, {Key: "roles", Value: bson.A{}}, {Key: "tenant", Value: "beta"}})
	requireCode(t, err, 51003) // user names are unique across tenants
	_, err = runCmd(t, root, "admin", bson.D{{Key: "createUser", Value: "zed"}, {Key: "pwd", Value: "x"}, {Key: "roles", Value: bson.A{}}, {Key: "tenant", Value: "nope"}})
	requireCode(t, err, 2)

	alice := connectAs(t, srv, "alice", "alice-pw", "")
	bob := connectAs(t, srv, "bob", "bob-pw", "")
	carol := connectAs(t, srv, "carol", "carol-pw", "")
	counts := map[*mongo.Client]int{alice: 3, bob: 5, carol: 7}
	for c, n := range counts {
		createTS(t, c.Database("metrics"), "cpu")
		require.NoError(t, insertPoints(t, c, "metrics", n))
	}
	for c, n := range counts {
		require.EqualValues(t, n, countDocs(t, c, "metrics", "cpu"), "find sees the tenant's own documents")
		cur, err := c.Database("metrics").Collection("cpu").Aggregate(ctx, mongo.Pipeline{{{Key: "$count", Value: "n"}}})
		require.NoError(t, err)
		var got []bson.M
		require.NoError(t, cur.All(ctx, &got))
		require.Len(t, got, 1)
		require.EqualValues(t, n, got[0]["n"], "aggregate sees the tenant's own documents")
		names, err := c.ListDatabaseNames(ctx, bson.D{})
		require.NoError(t, err)
		require.Equal(t, []string{"metrics"}, names)
	}

	// a cursor of one tenant is not found by another
	cur, err := bob.Database("metrics").Collection("cpu").Find(ctx, bson.D{}, options.Find().SetBatchSize(1))
	require.NoError(t, err)
	_, err = runCmd(t, alice, "metrics", bson.D{{Key: "getMore", Value: cur.ID()}, {Key: "collection", Value: "cpu"}})
	requireCode(t, err, 43)
	_, err = runCmd(t, alice, "metrics", bson.D{{Key: "killCursors", Value: "cpu"}, {Key: "cursors", Value: bson.A{cur.ID()}}})
	require.NoError(t, err)
	require.True(t, cur.Next(ctx), "bob's cursor was not killed by alice")
	require.NoError(t, cur.Close(ctx))

	// quotas: acme may have one database; beta may write 300 values per second
	err = alice.Database("second").CreateCollection(ctx, "cpu", options.CreateCollection().
		SetTimeSeriesOptions(options.TimeSeries().SetTimeField("ts")))
	requireCode(t, err, 12501)
	names, err := alice.ListDatabaseNames(ctx, bson.D{})
	require.NoError(t, err)
	require.Equal(t, []string{"metrics"}, names, "the refused database was not created")
	err = insertPoints(t, bob, "metrics", 2000)
	requireCode(t, err, 12501)
	require.EqualValues(t, 5, countDocs(t, bob, "metrics", "cpu"), "the refused batch wrote nothing")

	// /write lands in the user's tenant
	body := strings.NewReader("mem,host=a used=1 1717200000000000000\nmem,host=b used=2 1717200000000000000\n")
	resp, err := http.Post(fmt.Sprintf("http://%s/write?db=metrics&u=carol&p=%s", srv.HTTPAddr, url.QueryEscape("carol-pw")), "text/plain", body)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	require.EqualValues(t, 2, countDocs(t, carol, "metrics", "mem"))
	require.EqualValues(t, 0, countDocs(t, alice, "metrics", "mem"))
	require.EqualValues(t, 0, countDocs(t, bob, "metrics", "mem"))
	resp, err = http.Post(fmt.Sprintf("http://%s/write?db=metrics&u=bob&p=bob-pw", srv.HTTPAddr), "text/plain",
		strings.NewReader(strings.Repeat("mem,host=a used=1\n", 400)))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "beta's rate quota")

	// a tenant's user admin: its own tenant only; tenants are for cluster administrators
	_, err = runCmd(t, alice, "admin", bson.D{{Key: "createUser", Value: "dave"}, {Key: "pwd", Value: "dave-pw"}, {Key: "roles", Value: anyRW}})
	require.NoError(t, err)
	_, err = runCmd(t, alice, "admin", bson.D{{Key: "createUser", Value: "eve"}, {Key: "pwd", Value: "x"}, {Key: "roles", Value: bson.A{}}, {Key: "tenant", Value: "beta"}})
	requireCode(t, err, 13)
	_, err = runCmd(t, alice, "admin", bson.D{{Key: "dropUser", Value: "bob"}})
	requireCode(t, err, 11) // bob is not in acme
	_, err = runCmd(t, alice, "admin", bson.D{{Key: "createTenant", Value: "mine"}})
	requireCode(t, err, 13)
	dave := connectAs(t, srv, "dave", "dave-pw", "")
	require.EqualValues(t, 3, countDocs(t, dave, "metrics", "cpu"), "dave is in acme")
	usersOf := func(c *mongo.Client) []string {
		r, err := runCmd(t, c, "admin", bson.D{{Key: "usersInfo", Value: 1}})
		require.NoError(t, err)
		vals, _ := r.Lookup("users").Array().Values()
		var out []string
		for _, v := range vals {
			out = append(out, v.Document().Lookup("user").StringValue())
		}
		return out
	}
	require.ElementsMatch(t, []string{"alice", "dave"}, usersOf(alice))
	require.ElementsMatch(t, []string{"root", "carol"}, usersOf(root))

	r, err := runCmd(t, root, "admin", bson.D{{Key: "listTenants", Value: 1}})
	require.NoError(t, err)
	vals, _ := r.Lookup("tenants").Array().Values()
	got := map[string][2]int32{}
	for _, v := range vals {
		d := v.Document()
		got[d.Lookup("name").StringValue()] = [2]int32{d.Lookup("databases").Int32(), d.Lookup("users").Int32()}
	}
	require.Equal(t, map[string][2]int32{"acme": {1, 2}, "beta": {1, 1}, "default": {1, 2}}, got)
	_, err = runCmd(t, alice, "admin", bson.D{{Key: "listTenants", Value: 1}})
	requireCode(t, err, 13)
	_, err = runCmd(t, root, "admin", bson.D{{Key: "dropTenant", Value: "acme"}})
	requireCode(t, err, 20)

	// series quota: checked against the usage each node samples every 5 s
	_, err = runCmd(t, root, "admin", bson.D{{Key: "createTenant", Value: "gamma"}, {Key: "quotas", Value: bson.D{{Key: "maxSeries", Value: 3}}}})
	require.NoError(t, err)
	_, err = runCmd(t, root, "admin", bson.D{{Key: "createUser", Value: "gus"}, {Key: "pwd", Value: "gus-pw"}, {Key: "roles", Value: anyRW}, {Key: "tenant", Value: "gamma"}})
	require.NoError(t, err)
	gus := connectAs(t, srv, "gus", "gus-pw", "")
	gcoll := createTS(t, gus.Database("metrics"), "cpu")
	seriesDoc := func(host string) bson.D {
		return bson.D{{Key: "ts", Value: time.Now()}, {Key: "meta", Value: host}, {Key: "v", Value: 1.0}}
	}
	for i := range 5 {
		_, err := gcoll.InsertOne(ctx, seriesDoc(fmt.Sprintf("h%d", i)))
		require.NoError(t, err, "under the quota as last measured")
	}
	require.Eventually(t, func() bool {
		_, err := gcoll.InsertOne(ctx, seriesDoc("late"))
		var we mongo.WriteException
		return err != nil && errors.As(err, &we) && len(we.WriteErrors) > 0 && we.WriteErrors[0].Code == 12501
	}, 20*time.Second, 250*time.Millisecond, "the series quota refuses writes once usage is measured")
	_, err = runCmd(t, root, "admin", bson.D{{Key: "updateTenant", Value: "gamma"}, {Key: "quotas", Value: bson.D{{Key: "maxSeries", Value: 100}}}})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		_, err := gcoll.InsertOne(ctx, seriesDoc("after-raise"))
		return err == nil
	}, 10*time.Second, 100*time.Millisecond, "a raised quota lets writes in again")

	// everything survives a restart
	srv.Stop()
	srv.Restart()
	alice = connectAs(t, srv, "alice", "alice-pw", "")
	require.EqualValues(t, 3, countDocs(t, alice, "metrics", "cpu"))
	bob = connectAs(t, srv, "bob", "bob-pw", "")
	require.EqualValues(t, 5, countDocs(t, bob, "metrics", "cpu"))
}

// TestTenantsSurviveMetaLeaderChange: tenants and users live in the Raft catalog: with each of
// the three meta nodes killed in turn (so the leader is lost at least once), users still log in,
// see their tenant's data, and the cluster admin still lists the tenants.
func TestTenantsSurviveMetaLeaderChange(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four processes")
	}
	t.Parallel()
	ctx := testCtx(t)
	c := setup.StartClusterFlags(t, 3, 1, []string{"--auth"}, []string{"--auth"})
	d := c.Data[0]
	_, err := runCmd(t, d.Client(), "admin", bson.D{{Key: "createUser", Value: "root"}, {Key: "pwd", Value: "root-pw"}, {Key: "roles", Value: bson.A{"root"}}})
	require.NoError(t, err)
	root := connectAs(t, d, "root", "root-pw", "")
	_, err = runCmd(t, root, "admin", bson.D{{Key: "createTenant", Value: "acme"}})
	require.NoError(t, err)
	_, err = runCmd(t, root, "admin", bson.D{{Key: "createUser", Value: "alice"}, {Key: "pwd", Value: "alice-pw"},
		{Key: "roles", Value: bson.A{bson.D{{Key: "role", Value: "readWriteAnyDatabase"}, {Key: "db", Value: "admin"}}}}, {Key: "tenant", Value: "acme"}})
	require.NoError(t, err)
	alice := connectAs(t, d, "alice", "alice-pw", "")
	createTS(t, alice.Database("metrics"), "cpu")
	require.NoError(t, insertPoints(t, alice, "metrics", 4))

	// the meta nodes list the cluster (GET /api/v1/nodes, where the Go SDK discovers it) to a
	// cluster administrator only
	nodesAs := func(user, pwd string) (int, string) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+c.Meta[0].HTTPAddr+"/api/v1/nodes", nil)
		require.NoError(t, err)
		if user != "" {
			req.SetBasicAuth(user, pwd)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, _ := nodesAs("", "")
	require.Equal(t, http.StatusUnauthorized, code)
	code, _ = nodesAs("root", "wrong")
	require.Equal(t, http.StatusForbidden, code)
	code, _ = nodesAs("alice", "alice-pw")
	require.Equal(t, http.StatusForbidden, code, "a tenant's user is no cluster administrator")
	code, body := nodesAs("root", "root-pw")
	require.Equal(t, http.StatusOK, code, body)
	require.Contains(t, body, d.HTTPAddr, "the data node is listed")

	for i, m := range c.Meta {
		m.Kill()
		a := connectAs(t, d, "alice", "alice-pw", "")
		require.Eventually(t, func() bool {
			n, err := a.Database("metrics").Collection("cpu").CountDocuments(ctx, bson.D{})
			return err == nil && n == 4
		}, 30*time.Second, 200*time.Millisecond, "alice with mnode%d down", i+1)
		r, err := runCmd(t, connectAs(t, d, "root", "root-pw", ""), "admin", bson.D{{Key: "listTenants", Value: 1}})
		require.NoError(t, err, "listTenants with mnode%d down", i+1)
		require.Contains(t, r.String(), `"acme"`)
		m.Restart()
	}
}
