package integration

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/integration/setup"
)

// TestConsoleAndClusterAPI: /console/ serves the embedded page (nothing fetched from elsewhere),
// /api/v1/cluster names the node and its meta shards with their leaders, and /api/v1/actors lists
// the node's actor tree as its actor system has it, the vnode actors with their stats.
func TestConsoleAndClusterAPI(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	srv := setup.Start(t, "")
	coll := createTS(t, srv.Client().Database("app"), "m")
	_, err := coll.InsertOne(ctx, bson.D{{Key: "ts", Value: time.Now()}, {Key: "meta", Value: "a"}, {Key: "v", Value: 1.5}})
	require.NoError(t, err)
	_, err = srv.Client().Database("app").Collection("devices").InsertOne(ctx, bson.D{{Key: "_id", Value: "d1"}})
	require.NoError(t, err, "a plain collection: the database's plain shard")
	get := func(path string) (*http.Response, []byte) {
		resp, err := http.Get("http://" + srv.HTTPAddr + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp, b
	}
	resp, page := get("/console/")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, string(page), `<script src="app.js"></script>`)
	require.Equal(t, "default-src 'self'", resp.Header.Get("Content-Security-Policy"))
	require.NotContains(t, string(page), "http://", "no asset from elsewhere")
	require.NotContains(t, string(page), "https://", "no asset from elsewhere")
	resp, js := get("/console/app.js")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, string(js), "/api/v1/cluster")
	resp, _ = get("/console/nope.js")
	require.Equal(t, http.StatusNotFound, resp.StatusCode)

	var cluster struct {
		Node  uint64
		Nodes []struct {
			ID   uint64
			Self bool
		}
		Shards []struct {
			ID, ReplicaID, LeaderID, Term uint64
			LastIndex, Applied, Snapshot  uint64
			Name                          string
			Members                       map[string]string
		}
	}
	resp, body := get("/api/v1/cluster")
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	require.NoError(t, json.Unmarshal(body, &cluster))
	var names []string
	for _, s := range cluster.Shards {
		names = append(names, s.Name)
		require.Equal(t, s.ReplicaID, s.LeaderID, "%s: the standalone node leads every shard", s.Name)
		require.Positive(t, s.Term, s.Name)
		require.Len(t, s.Members, 1, s.Name)
		require.Positive(t, s.LastIndex, s.Name)
		require.LessOrEqual(t, s.Applied, s.LastIndex, "%s: applied entries are in the log", s.Name)
		if s.Name == "catalog" {
			require.Positive(t, s.Applied, "the catalog applied the collection's creation")
		}
	}
	require.Equal(t, []string{"catalog", "placement", "locks", "plain default/app"}, names)
	require.Len(t, cluster.Nodes, 1)
	require.True(t, cluster.Nodes[0].Self)

	var actors struct {
		Actors []struct {
			ID, Parent string
			Mailbox    *int
			Vnode      *struct {
				DB     string
				Series uint64
			}
		}
	}
	resp, body = get("/api/v1/actors")
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	require.NoError(t, json.Unmarshal(body, &actors))
	ids := map[string]bool{}
	vnodes := 0
	for _, a := range actors.Actors {
		ids[a.ID] = true
		if a.Parent != "" {
			require.True(t, strings.HasPrefix(a.ID, a.Parent+"/"), "%s under %s", a.ID, a.Parent)
		}
		if a.ID == "coordinator" || a.ID == "vnodes" || strings.HasPrefix(a.ID, "vnodes/vnode/") {
			require.NotNil(t, a.Mailbox, "%s: its mailbox depth is known", a.ID)
			require.GreaterOrEqual(t, *a.Mailbox, 0)
		}
		if a.Vnode != nil {
			vnodes++
			require.Equal(t, "app", a.Vnode.DB)
			require.EqualValues(t, 1, a.Vnode.Series)
		}
	}
	for _, want := range []string{"vnodes", "coordinator", "reader", "handoff"} {
		require.True(t, ids[want], "actor %s in %v", want, ids)
	}
	require.Equal(t, 1, vnodes, "one vnode for one bucket")

	// the coordinator's writes by consistency level, and no hint queue on a standalone node
	_, err = coll.InsertMany(ctx, []any{bson.D{{Key: "ts", Value: time.Now()}, {Key: "meta", Value: "b"}},
		bson.D{{Key: "ts", Value: time.Now()}, {Key: "meta", Value: "c"}}, bson.D{{Key: "ts", Value: time.Now()}, {Key: "meta", Value: "d"}}})
	require.NoError(t, err)
	var stats struct {
		Hints       []json.RawMessage
		Coordinator struct {
			Inflight int64
			Levels   map[string]struct{ Writes, Failed, Rows, TotalMicros, MaxMicros uint64 }
		}
	}
	resp, body = get("/api/v1/actors")
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	require.NoError(t, json.Unmarshal(body, &stats))
	require.NotNil(t, stats.Hints, "an empty list, not null")
	require.Empty(t, stats.Hints)
	require.Zero(t, stats.Coordinator.Inflight)
	var writes, rows uint64
	for _, l := range stats.Coordinator.Levels {
		writes, rows = writes+l.Writes, rows+l.Rows
		require.Zero(t, l.Failed)
		require.GreaterOrEqual(t, l.TotalMicros, l.MaxMicros)
	}
	require.EqualValues(t, 2, writes, "one insert of one document, one of three")
	require.EqualValues(t, 4, rows)
}
