package integration

import (
	"context"
	"fmt"
	"io/fs"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/writeconcern"

	"github.com/chronogo/chronogo/integration/setup"
	"github.com/chronogo/chronogo/wire/httpapi"
)

// metricsCollection creates the time-series collection metrics.cpu (time t, meta m) through the
// first data node, written at w:majority, with the first documents of clusterDocs in it.
func metricsCollection(t *testing.T, ctx context.Context, c *setup.Cluster) (*mongo.Collection, time.Time, []string) {
	t.Helper()
	db := c.Data[0].Client().Database("metrics")
	require.NoError(t, db.CreateCollection(ctx, "cpu", options.CreateCollection().
		SetTimeSeriesOptions(options.TimeSeries().SetTimeField("t").SetMetaField("m"))))
	coll := db.Collection("cpu", options.Collection().SetWriteConcern(writeconcern.Majority()))
	base := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	return coll, base, firstDocs(t, ctx, coll, base)
}

// TestDrainAndRemoveNode: three data nodes hold a database replicated twice (three days of
// documents, one host deleted). `ctl drain dnode3` moves every vnode of dnode3 to the other two
// while a client keeps inserting at w:majority and two others keep reading everything (no read
// fails or misses a document acknowledged before); then dnode3 holds no vnode and no vnode files,
// both other nodes return every acknowledged document once and none of the deleted ones, and
// after dnode3 is killed writes at w:majority still succeed (no replica set needs it).
// `ctl remove-node` then forgets it.
func TestDrainAndRemoveNode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four processes")
	}
	t.Parallel()
	ctx := testCtx(t)
	c := setup.StartCluster(t, 1, 3, "--replication-factor", "2")
	bin := setup.Binary(t)
	coll, base, want := metricsCollection(t, ctx, c)
	for day := 1; day < 3; day++ {
		want = append(want, clusterDocs(t, ctx, coll, day, 100, base.Add(time.Duration(day)*24*time.Hour))...)
	}
	_, err := coll.DeleteMany(ctx, bson.D{{Key: "m.host", Value: "h4"}})
	require.NoError(t, err)
	kept := want[:0]
	for _, k := range want {
		if !strings.HasSuffix(k, "4") && !strings.HasSuffix(k, "9") { // i%5 == 4: host h4
			kept = append(kept, k)
		}
	}
	want = kept

	// an interrupted move leaves a joining vnode: ctl vnodes shows it, and --abort takes it out
	var vn httpapi.VnodesInfo
	require.NoError(t, getJSON("http://"+c.Data[0].HTTPAddr+"/api/v1/vnodes?db=metrics", &vn))
	var nodes struct{ Nodes []httpapi.NodeInfo }
	require.NoError(t, getJSON("http://"+c.Data[0].HTTPAddr+"/api/v1/nodes", &nodes))
	b, rs := vn.Buckets[0], vn.Buckets[0].ReplicaSets[0]
	var outside uint64
	for _, n := range nodes.Nodes {
		if n.Role == "dnode" && !slices.ContainsFunc(rs.Vnodes, func(v httpapi.VnodeInfo) bool { return v.Node == n.ID }) {
			outside = n.ID
		}
	}
	require.NotZero(t, outside)
	resp, err := http.Post(fmt.Sprintf("http://%s/api/v1/vnodes/join?db=metrics&bucket=%d&replicaSet=%d&node=%d", c.Data[0].HTTPAddr, b.ID, rs.ID, outside), "", nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	out, err := run(t, bin, "ctl", "vnodes", "--addr", c.Data[1].HTTPAddr, "--db", "metrics")
	require.NoError(t, err, out)
	require.Contains(t, out, "(joining)")
	set := []string{"--db", "metrics", "--bucket", fmt.Sprint(b.ID), "--replica-set", fmt.Sprint(rs.ID), "--addr", c.Data[0].HTTPAddr}
	out, err = run(t, bin, append([]string{"ctl", "move-vnode", "--abort"}, set...)...)
	require.NoError(t, err, out)
	require.Contains(t, out, "took joining vnode")
	out, err = run(t, bin, "ctl", "vnodes", "--addr", c.Data[1].HTTPAddr, "--db", "metrics")
	require.NoError(t, err, out)
	require.NotContains(t, out, "(joining)")
	out, err = run(t, bin, append([]string{"ctl", "move-vnode", "--abort"}, set...)...)
	require.Error(t, err, "nothing left to abort: %s", out)

	// a client keeps writing during the drain; only acknowledged batches are expected back
	var (
		mu      sync.Mutex
		written []string
		stop    = make(chan struct{})
		done    = make(chan struct{})
	)
	// and readers on two nodes check that every read works and returns every document
	// acknowledged before the drain began
	before := append([]string(nil), want...)
	readErrs, reads := make(chan error, 100), 0
	var readers sync.WaitGroup
	for _, s := range c.Data[:2] {
		rc := s.Client().Database("metrics").Collection("cpu")
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				got, err := findKeys(ctx, rc)
				if err == nil {
					for _, k := range before {
						if got[k] != 1 {
							err = fmt.Errorf("document %s read %d times", k, got[k])
							break
						}
					}
				}
				mu.Lock()
				reads++
				mu.Unlock()
				if err != nil {
					readErrs <- err
					return
				}
			}
		}()
	}
	go func() {
		defer close(done)
		for b := 100; ; b++ {
			select {
			case <-stop:
				return
			default:
			}
			keys, err := clusterDocsErr(ctx, coll, b, 20, base.Add(48*time.Hour))
			if err == nil {
				mu.Lock()
				written = append(written, keys...)
				mu.Unlock()
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	out, err = run(t, bin, "ctl", "drain", "dnode3", "--addr", c.Data[0].HTTPAddr)
	close(stop)
	<-done
	readers.Wait()
	close(readErrs)
	for err := range readErrs {
		require.NoError(t, err, "a read during the drain")
	}
	require.NoError(t, err, out)
	require.Contains(t, out, "drained node dnode3")
	mu.Lock()
	require.Positive(t, reads)
	t.Logf("%d reads during the drain", reads)
	mu.Unlock()
	t.Log(out)
	require.NotContains(t, out, " 0 vnodes to move", "dnode3 held replicas")
	mu.Lock()
	require.NotEmpty(t, written, "the client wrote during the drain")
	want = append(want, written...)
	mu.Unlock()

	out, err = run(t, bin, "ctl", "vnodes", "--addr", c.Data[0].HTTPAddr, "--db", "metrics")
	require.NoError(t, err, out)
	require.NotContains(t, out, "dnode3", "no vnode left on dnode3:\n%s", out)
	require.NotContains(t, out, "joining")
	var vnodeDirs []string
	require.NoError(t, filepath.WalkDir(filepath.Join(c.Data[2].DataDir, "data"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() && strings.Count(strings.TrimPrefix(p, c.Data[2].DataDir), string(filepath.Separator)) == 6 {
			vnodeDirs = append(vnodeDirs, p) // data/<tenant>/<db>/<bucket>/<set>/<vnode>
		}
		return nil
	}))
	require.Empty(t, vnodeDirs, "dnode3's vnode files are removed")

	for _, s := range c.Data[:2] {
		got, err := findKeys(ctx, s.Client().Database("metrics").Collection("cpu"))
		require.NoError(t, err)
		requireAllOnce(t, got, want, s.HTTPAddr)
	}
	c.Data[2].Kill()
	more, err := clusterDocsErr(ctx, coll, 1000, 50, base.Add(24*time.Hour))
	require.NoError(t, err, "w:majority without dnode3")
	want = append(want, more...)
	got, err := findKeys(ctx, c.Data[1].Client().Database("metrics").Collection("cpu"))
	require.NoError(t, err)
	requireAllOnce(t, got, want, "dnode2 after dnode3's kill")

	out, err = run(t, bin, "ctl", "remove-node", "dnode1", "--addr", c.Data[1].HTTPAddr)
	require.Error(t, err, out)
	require.Contains(t, out, "still holds", "a node that holds vnodes is not removed")
	out, err = run(t, bin, "ctl", "remove-node", "dnode3", "--addr", c.Data[0].HTTPAddr)
	require.NoError(t, err, out)
	require.Contains(t, out, "removed node dnode3")
	out, err = run(t, bin, "ctl", "nodes", "--addr", c.Data[0].HTTPAddr)
	require.NoError(t, err, out)
	require.NotContains(t, out, "dnode3")
	require.Contains(t, out, "dnode2")
}

// placementOf reads the buckets of a database and the zone of every node from a node's API.
func placementOf(t *testing.T, addr, db string) ([]httpapi.BucketInfo, map[uint64]httpapi.NodeInfo) {
	t.Helper()
	var vn httpapi.VnodesInfo
	require.NoError(t, getJSON("http://"+addr+"/api/v1/vnodes?db="+db, &vn))
	var nodes struct{ Nodes []httpapi.NodeInfo }
	require.NoError(t, getJSON("http://"+addr+"/api/v1/nodes", &nodes))
	byID := map[uint64]httpapi.NodeInfo{}
	for _, n := range nodes.Nodes {
		byID[n.ID] = n
	}
	return vn.Buckets, byID
}

// serversByID maps the data nodes' placement ids to their processes (by HTTP address).
func serversByID(c *setup.Cluster, nodes map[uint64]httpapi.NodeInfo) map[uint64]*setup.Server {
	out := map[uint64]*setup.Server{}
	for _, s := range c.Data {
		for id, n := range nodes {
			if n.HTTPAddr == s.HTTPAddr {
				out[id] = s
			}
		}
	}
	return out
}

// TestZonesAcrossProcesses: four data nodes in two zones (--zone a, a, b, b) and a replication
// factor of 2: every replica set of every bucket has one replica in each zone. Draining a node
// of zone a moves its vnodes to the other node of zone a (the set's other replica is in b), so
// the sets still span both zones; with both nodes of zone b killed, every document is still read.
func TestZonesAcrossProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts five processes")
	}
	t.Parallel()
	ctx := testCtx(t)
	c := setup.StartCluster(t, 1, 0)
	for i, zone := range []string{"a", "a", "b", "b"} {
		c.Data = append(c.Data, c.LaunchData(t, fmt.Sprintf("dnode%d", i+1), "--replication-factor", "2", "--zone", zone))
	}
	for _, s := range c.Data {
		s.WaitListening()
	}
	// the first bucket is placed on the nodes registered when it is created: wait for all four
	require.Eventually(t, func() bool {
		var nodes struct{ Nodes []httpapi.NodeInfo }
		if getJSON("http://"+c.Data[0].HTTPAddr+"/api/v1/nodes", &nodes) != nil {
			return false
		}
		zones := 0
		for _, n := range nodes.Nodes {
			if n.Role == "dnode" && n.Zone != "" {
				zones++
			}
		}
		return zones == 4
	}, 30*time.Second, 100*time.Millisecond, "four data nodes with zones registered")
	coll, base, want := metricsCollection(t, ctx, c)
	for day := 1; day < 6; day++ {
		want = append(want, clusterDocs(t, ctx, coll, day, 50, base.Add(time.Duration(day)*24*time.Hour))...)
	}
	spansZones := func(when string) {
		buckets, nodes := placementOf(t, c.Data[0].HTTPAddr, "metrics")
		require.Len(t, buckets, 6, when)
		for _, b := range buckets {
			for _, rs := range b.ReplicaSets {
				zones := map[string]bool{}
				for _, v := range rs.Vnodes {
					zones[nodes[v.Node].Zone] = true
				}
				require.Equal(t, map[string]bool{"a": true, "b": true}, zones, "%s: bucket %d set %d", when, b.ID, rs.ID)
			}
		}
	}
	spansZones("as placed")
	out, err := run(t, setup.Binary(t), "ctl", "drain", "dnode1", "--addr", c.Data[1].HTTPAddr)
	require.NoError(t, err, out)
	spansZones("after dnode1's drain")
	buckets, nodes := placementOf(t, c.Data[1].HTTPAddr, "metrics")
	for _, b := range buckets {
		for _, rs := range b.ReplicaSets {
			for _, v := range rs.Vnodes {
				require.NotEqual(t, "dnode1", nodes[v.Node].Name, "bucket %d set %d", b.ID, rs.ID)
			}
		}
	}
	c.Data[2].Kill()
	c.Data[3].Kill()
	got, err := findKeys(ctx, c.Data[1].Client().Database("metrics").Collection("cpu"))
	require.NoError(t, err)
	requireAllOnce(t, got, want, "dnode2 with zone b down")
}

// TestMoveSurvivesTargetKill: a move of a replica of a day of documents (86 400) to a third node, whose
// process is SIGKILLed while the move runs. Whether the move finished before the kill or failed
// (its joining vnode then taken back out), after a restart of that node a move (again if
// needed) succeeds, and with the set's other replica killed, the moved replica alone returns
// every document of its day once (and the other days come from their replicas).
func TestMoveSurvivesTargetKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four processes")
	}
	t.Parallel()
	ctx := testCtx(t)
	c := setup.StartCluster(t, 1, 3, "--replication-factor", "2")
	bin := setup.Binary(t)
	coll, base, want := metricsCollection(t, ctx, c)
	for b := 1; b < 40; b++ {
		want = append(want, clusterDocs(t, ctx, coll, b, 5000, base)...)
	}
	buckets, nodes := placementOf(t, c.Data[0].HTTPAddr, "metrics")
	require.NotEmpty(t, buckets)
	b, rs := buckets[0], buckets[0].ReplicaSets[0] // the first day: 86 400 documents
	server := serversByID(c, nodes)
	var target uint64
	for id, n := range nodes {
		if n.Role == "dnode" && !slices.ContainsFunc(rs.Vnodes, func(v httpapi.VnodeInfo) bool { return v.Node == id }) {
			target = id
		}
	}
	from, stays := rs.Vnodes[0].Node, rs.Vnodes[1].Node
	require.NotZero(t, target)
	ask := server[stays] // the node the ctl talks to: never killed before the end
	args := []string{"ctl", "move-vnode", "--db", "metrics", "--bucket", fmt.Sprint(b.ID), "--replica-set", fmt.Sprint(rs.ID),
		"--from", fmt.Sprint(from), "--to", fmt.Sprint(target), "--addr", ask.HTTPAddr}
	cmd := exec.Command(bin, args...)
	var outBuf strings.Builder
	cmd.Stdout, cmd.Stderr = &outBuf, &outBuf
	require.NoError(t, cmd.Start())
	time.Sleep(400 * time.Millisecond)
	server[target].Kill()
	firstErr := cmd.Wait()
	t.Logf("first move (target killed 0.4 s in): err=%v\n%s", firstErr, outBuf.String())
	server[target].Restart()
	server[target].WaitListening()
	if firstErr != nil {
		out, err := run(t, bin, "ctl", "vnodes", "--addr", ask.HTTPAddr, "--db", "metrics")
		require.NoError(t, err, out)
		require.NotContains(t, out, "(joining)", "the failed move took its vnode back out")
		require.Eventually(t, func() bool {
			out, err = run(t, bin, args...)
			return err == nil
		}, 60*time.Second, time.Second, "the move again, once the target is back: %s", out)
		require.Contains(t, out, "verified")
	}
	buckets, _ = placementOf(t, ask.HTTPAddr, "metrics")
	var placed []uint64
	for _, v := range buckets[0].ReplicaSets[0].Vnodes {
		require.False(t, v.Joining)
		placed = append(placed, v.Node)
	}
	slices.Sort(placed)
	wantPlaced := []uint64{stays, target}
	slices.Sort(wantPlaced)
	require.Equal(t, wantPlaced, placed)
	server[stays].Kill()
	got, err := findKeys(ctx, server[target].Client().Database("metrics").Collection("cpu"))
	require.NoError(t, err)
	requireAllOnce(t, got, want, "the moved replica alone")
}

// hintedMove is a cluster of one meta node and n data nodes at replication 1 whose metrics
// database has one replica set on node src (others: the other data nodes, by id).
type hintedMove struct {
	c      *setup.Cluster
	bin    string
	base   time.Time
	want   []string
	bucket httpapi.BucketInfo
	rs     uint64
	srcID  uint64
	others []uint64
	server map[uint64]*setup.Server
	src    *setup.Server
}

func startHintedMove(t *testing.T, ctx context.Context, n int) *hintedMove {
	t.Helper()
	c := setup.StartCluster(t, 1, n, "--replication-factor", "1")
	require.Eventually(t, func() bool {
		var nodes struct{ Nodes []httpapi.NodeInfo }
		return getJSON("http://"+c.Data[0].HTTPAddr+"/api/v1/nodes", &nodes) == nil && len(nodes.Nodes) == n
	}, 30*time.Second, 100*time.Millisecond)
	_, base, want := metricsCollection(t, ctx, c)
	buckets, nodes := placementOf(t, c.Data[0].HTTPAddr, "metrics")
	require.Len(t, buckets, 1)
	require.Len(t, buckets[0].ReplicaSets[0].Vnodes, 1)
	h := &hintedMove{c: c, bin: setup.Binary(t), base: base, want: want, bucket: buckets[0], rs: buckets[0].ReplicaSets[0].ID,
		srcID: buckets[0].ReplicaSets[0].Vnodes[0].Node, server: serversByID(c, nodes)}
	require.Len(t, h.server, n)
	for id := range h.server {
		if id != h.srcID {
			h.others = append(h.others, id)
		}
	}
	h.src = h.server[h.srcID]
	return h
}

// writeAny writes 100 documents at w:"any" through via (the source is down: they are hints).
func (h *hintedMove) writeAny(t *testing.T, ctx context.Context, via *setup.Server) {
	t.Helper()
	anyColl := via.Client().Database("metrics").Collection("cpu", options.Collection().SetWriteConcern(&writeconcern.WriteConcern{W: "any"}))
	require.Eventually(t, func() bool {
		keys, err := clusterDocsErr(ctx, anyColl, 1, 100, h.base)
		if err == nil {
			h.want = append(h.want, keys...)
		}
		return err == nil
	}, 30*time.Second, 200*time.Millisecond, "w:any acknowledged as hints")
}

// move runs ctl move-vnode from the source to node dst until it succeeds.
func (h *hintedMove) move(t *testing.T, dst uint64) {
	t.Helper()
	var out string
	require.Eventually(t, func() bool {
		var err error
		out, err = run(t, h.bin, "ctl", "move-vnode", "--db", "metrics", "--bucket", fmt.Sprint(h.bucket.ID), "--replica-set", fmt.Sprint(h.rs),
			"--from", fmt.Sprint(h.srcID), "--to", fmt.Sprint(dst), "--addr", h.server[dst].HTTPAddr)
		return err == nil
	}, 90*time.Second, time.Second, "the move: %s", out)
}

// TestMoveWaitsForHints: replication 1; the node of a replica set is killed and writes at
// w:"any" are acknowledged as hints held by the other node; the node restarts and its vnode is
// moved at once to the node holding the hints (the move waits for no hint to be held for its
// source before it copies it; the replay is often over before the move gets there, so this
// checks the outcome): with the source killed afterwards, the moved replica returns every
// document, the hinted ones included.
func TestMoveWaitsForHints(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three processes")
	}
	t.Parallel()
	ctx := testCtx(t)
	h := startHintedMove(t, ctx, 2)
	dst := h.server[h.others[0]]
	h.src.Kill()
	h.writeAny(t, ctx, dst)
	h.src.Restart()
	h.src.WaitListening()
	h.move(t, h.others[0])
	h.src.Kill()
	got, err := findKeys(ctx, dst.Client().Database("metrics").Collection("cpu"))
	require.NoError(t, err)
	requireAllOnce(t, got, h.want, "the moved replica alone")
}

// TestHintsFollowMovedVnode: a node holds hints for a vnode's node (w:any writes while that node
// was down) and is itself down during the whole move of the vnode. Back up, it replays the hints
// to the source, which no longer has the vnode: the source refuses them (not placed: it does not
// respawn the vnode it swept), and the hints are re-routed to the replica set's new vnode. Every
// acknowledged document is then read from the moved replica alone.
func TestHintsFollowMovedVnode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four processes")
	}
	t.Parallel()
	ctx := testCtx(t)
	h := startHintedMove(t, ctx, 3)
	co, dst := h.server[h.others[0]], h.server[h.others[1]]
	// the source is down: the coordinator acknowledges w:any writes as hints, then goes down too
	h.src.Kill()
	h.writeAny(t, ctx, co)
	co.Kill()
	// the move runs while the coordinator (and its hints) are down
	h.src.Restart()
	h.src.WaitListening()
	h.move(t, h.others[1])
	// the coordinator comes back and replays: the hints end on the destination
	co.Restart()
	co.WaitListening()
	cpu := dst.Client().Database("metrics").Collection("cpu")
	require.Eventually(t, func() bool {
		got, err := findKeys(ctx, cpu)
		return err == nil && len(got) == len(h.want)
	}, 60*time.Second, 200*time.Millisecond, "the hinted documents reach the moved replica")
	require.Contains(t, co.Log(), "hinted again for its replica set's current vnodes", "the coordinator re-routed its hints")
	require.Contains(t, h.src.Log(), "the placement does not have on this node", "the source refused them")
	h.src.Kill()
	got, err := findKeys(ctx, cpu)
	require.NoError(t, err)
	requireAllOnce(t, got, h.want, "the moved replica alone")
}

// TestMoveResumesAfterCLIKilled: the ctl running a move is SIGKILLed during the copy. The
// interrupted move loses nothing: every document is read, and writes into the moving replica set
// are acknowledged meanwhile; the same command run again resumes the move (the joining vnode is
// the same) and completes it; the moved replica alone then returns every document, those written
// while the move was interrupted included.
func TestMoveResumesAfterCLIKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three processes")
	}
	t.Parallel()
	ctx := testCtx(t)
	h := startHintedMove(t, ctx, 2) // the first day's replica set, on node src
	coll := h.c.Data[0].Client().Database("metrics").Collection("cpu", options.Collection().SetWriteConcern(writeconcern.Majority()))
	for b := 1; b < 40; b++ {
		h.want = append(h.want, clusterDocs(t, ctx, coll, b, 5000, h.base)...)
	}
	from, to := h.srcID, h.others[0]
	args := []string{"ctl", "move-vnode", "--db", "metrics", "--bucket", fmt.Sprint(h.bucket.ID), "--replica-set", fmt.Sprint(h.rs),
		"--from", fmt.Sprint(from), "--to", fmt.Sprint(to), "--addr", h.server[to].HTTPAddr}
	cmd := exec.Command(h.bin, args...)
	var outBuf strings.Builder
	cmd.Stdout, cmd.Stderr = &outBuf, &outBuf
	require.NoError(t, cmd.Start())
	time.Sleep(300 * time.Millisecond)
	_ = cmd.Process.Kill()
	firstErr := cmd.Wait()
	t.Logf("first move (ctl killed 0.3 s in): err=%v\n%s", firstErr, outBuf.String())

	// meanwhile: every document is read, and writes into the moving replica set go on
	for _, s := range h.server {
		got, err := findKeys(ctx, s.Client().Database("metrics").Collection("cpu"))
		require.NoError(t, err)
		requireAllOnce(t, got, h.want, "while the move is interrupted")
	}
	h.want = append(h.want, clusterDocs(t, ctx, coll, 500, 100, h.base)...) // at 50 000 s: the first day
	if firstErr != nil {
		out, err := run(t, h.bin, args...)
		require.NoError(t, err, "the move run again: %s", out)
		require.Contains(t, out, "verified")
	}
	buckets, _ := placementOf(t, h.server[to].HTTPAddr, "metrics")
	require.Equal(t, []httpapi.VnodeInfo{{ID: buckets[0].ReplicaSets[0].Vnodes[0].ID, Node: to}}, buckets[0].ReplicaSets[0].Vnodes, "one full member, on the target")
	// the first day, read while both nodes are up, then from the moved replica alone
	cpu := h.server[to].Client().Database("metrics").Collection("cpu")
	firstDay := bson.D{{Key: "t", Value: bson.D{{Key: "$lt", Value: h.base.Add(24 * time.Hour)}}}}
	before, err := findKeysWhere(ctx, cpu, firstDay)
	require.NoError(t, err)
	require.Contains(t, before, "500-99", "the document written while the move was interrupted")
	h.src.Kill()
	got, err := findKeysWhere(ctx, cpu, firstDay)
	require.NoError(t, err)
	require.Equal(t, before, got, "the moved replica alone")
}

// TestPausedCoordinatorDuringMove: a coordinator frozen during the whole move of a vnode
// (SIGSTOP: a long GC pause or a VM freeze; it hears nothing from meta or the CLI meanwhile)
// comes back with the old placement and at once writes into the moved replica set, at w:1 and
// w:any, as fast as it can. The source's fence refuses what it routes there; what it
// acknowledges (w:1 once it has the new placement, w:any as hints re-routed to the new vnode)
// must all be on the moved replica: with the source killed, the destination alone returns it.
func TestPausedCoordinatorDuringMove(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four processes")
	}
	t.Parallel()
	ctx := testCtx(t)
	h := startHintedMove(t, ctx, 3)
	co, dst := h.server[h.others[0]], h.server[h.others[1]]
	coPid, err := strconv.Atoi(co.Pid())
	require.NoError(t, err)
	one := co.Client().Database("metrics").Collection("cpu", options.Collection().SetWriteConcern(writeconcern.W1()))
	anyw := co.Client().Database("metrics").Collection("cpu", options.Collection().SetWriteConcern(&writeconcern.WriteConcern{W: "any"}))
	keys, err := clusterDocsErr(ctx, one, 100, 50, h.base) // the coordinator has routed here before
	require.NoError(t, err)
	h.want = append(h.want, keys...)

	require.NoError(t, syscall.Kill(coPid, syscall.SIGSTOP))
	defer func() { _ = syscall.Kill(coPid, syscall.SIGCONT) }()
	h.move(t, h.others[1]) // the barrier waits until the frozen node is seen down
	require.NoError(t, syscall.Kill(coPid, syscall.SIGCONT))

	acked := map[string]bool{}
	failed := 0
	deadline := time.Now().Add(4 * time.Second)
	for b := 101; time.Now().Before(deadline); b++ {
		coll := one
		if b%2 == 0 {
			coll = anyw
		}
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		keys, err := clusterDocsErr(wctx, coll, b, 50, h.base)
		cancel()
		if err != nil {
			failed++
			continue
		}
		for _, k := range keys {
			acked[k] = true
		}
		h.want = append(h.want, keys...)
	}
	t.Logf("after the pause: %d documents acknowledged, %d batches failed", len(acked), failed)
	require.NotEmpty(t, acked, "the coordinator takes writes again")
	// a batch that failed may be stored anyway (in part or whole): only the acknowledged ones
	// are required, each once
	cpu := dst.Client().Database("metrics").Collection("cpu")
	hasAll := func(got map[string]int) bool {
		for _, k := range h.want {
			if got[k] != 1 {
				return false
			}
		}
		return true
	}
	require.Eventually(t, func() bool {
		got, err := findKeys(ctx, cpu)
		return err == nil && hasAll(got)
	}, 60*time.Second, 200*time.Millisecond, "every acknowledged document reaches the moved replica")
	h.src.Kill()
	got, err := findKeys(ctx, cpu)
	require.NoError(t, err)
	for _, k := range h.want {
		require.Equal(t, 1, got[k], "the moved replica alone: document %s", k)
	}
	for k, n := range got {
		require.Equal(t, 1, n, "document %s once", k)
	}
}
