package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/writeconcern"

	"github.com/chronogo/chronogo/integration/setup"
)

// browser starts a headless chromium for the test (stopped at its end).
func browser(t *testing.T, ctx context.Context, path string) context.Context {
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.Flag("headless", true), chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	bctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	bctx, cancelRun := context.WithTimeout(bctx, 90*time.Second)
	t.Cleanup(cancelRun)
	return bctx
}

// TestConsoleInBrowser: the console page, run by Debian's chromium headless, shows the node, the
// meta shards with their leader, and the vnode actor with what it holds, and loads nothing but
// from the node itself.
func TestConsoleInBrowser(t *testing.T) {
	t.Parallel()
	path, err := exec.LookPath("chromium")
	require.NoError(t, err, "the console tests need chromium (make test installs it)")
	ctx := testCtx(t)
	srv := setup.Start(t, "")
	coll := createTS(t, srv.Client().Database("app"), "m")
	_, err = coll.InsertOne(ctx, bson.D{{Key: "ts", Value: time.Now()}, {Key: "meta", Value: "a"}, {Key: "v", Value: 1.5}})
	require.NoError(t, err)
	_, err = srv.Client().Database("app").Collection("devices").InsertOne(ctx, bson.D{{Key: "_id", Value: "d1"}})
	require.NoError(t, err, "a plain collection: the database's plain shard")

	bctx := browser(t, ctx, path)
	var mu sync.Mutex
	var urls []string
	require.NoError(t, chromedp.Listen(bctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			mu.Lock()
			urls = append(urls, e.Request.URL)
			mu.Unlock()
		}
	}))
	require.NoError(t, chromedp.Do(bctx,
		chromedp.Navigate("http://"+srv.HTTPAddr+"/console/"),
		chromedp.WaitVisible(`#shards tbody tr[data-shard="plain default/app"]`),
		chromedp.WaitVisible(`#actors li[data-actor^="vnodes/vnode/"]`),
	))
	text := func(sel string) string {
		s, err := pageText(bctx, sel)
		require.NoError(t, err, sel)
		return s
	}
	nodes, shards, actors := text(`#nodes tbody`), text(`#shards tbody`), text(`#actors`)
	require.Contains(t, nodes, "(this node)")
	require.Contains(t, nodes, "up")
	for _, s := range []string{"catalog (1)", "placement (2)", "locks (3)", "plain default/app (1099511627780)"} {
		require.Contains(t, shards, s)
	}
	require.Contains(t, shards, "voting, leader")
	require.Regexp(t, `applied \d+, last \d+`, shards, "each shard's log positions")
	require.Contains(t, actors, "default/app bucket")
	require.Contains(t, actors, "1 series")
	require.Contains(t, actors, "coordinator")
	require.Contains(t, actors, "0 files", "the point is in memory")
	// the coordinator's table has the insert: one write, one row, none failed
	_, err = chromedp.Run(bctx, chromedp.Poll[bool](`document.querySelector("#levels tbody tr") !== null`))
	require.NoError(t, err)
	levels := text(`#levels tbody`)
	require.Regexp(t, `\b1\s+0\s+1\b`, levels, "writes 1, failed 0, rows 1")
	require.Contains(t, text(`#inflight`), "writes in flight: 0")
	_, err = chromedp.Run(bctx, chromedp.Poll[bool](`document.querySelector('#databases tbody tr[data-collection="default/app.m"]') !== null`))
	require.NoError(t, err, "the collection in the databases table")
	require.Regexp(t, `m\s+time series \(ts, meta\)\s+1\b`, text(`#databases tbody tr[data-collection="default/app.m"]`), "one series")
	require.Zero(t, strings.Count(text(`#placement`), "move"), "nowhere to move a vnode to on one node")

	// queries run now show in the MongoDB commands table and the latency chart: the reads row
	// counts them (the page's own count comes from serverStatus' opLatencies, read here as well)
	for range 5 {
		_, err := coll.CountDocuments(ctx, bson.D{})
		require.NoError(t, err)
	}
	var status struct {
		OpLatencies struct {
			Reads struct{ Ops int64 } `bson:"reads"`
		} `bson:"opLatencies"`
	}
	require.NoError(t, srv.Client().Database("admin").RunCommand(ctx, bson.D{{Key: "serverStatus", Value: 1}}).Decode(&status))
	reads := status.OpLatencies.Reads.Ops
	require.GreaterOrEqual(t, reads, int64(5))
	_, err = chromedp.Run(bctx, chromedp.Poll[bool](fmt.Sprintf(`(() => { const r = document.querySelector('#ops tbody tr[data-kind="reads"]');
		return r !== null && Number(r.children[1].textContent) >= %d; })()`, reads)))
	require.NoError(t, err)
	_, err = chromedp.Run(bctx, chromedp.Poll[bool](`document.getElementById("latencyLegend").textContent.includes("reads (purple)")`))
	require.NoError(t, err)
	// the charts are uPlot's (vendored, embedded): each draws on its canvas, with its series named
	_, err = chromedp.Run(bctx, chromedp.Poll[bool](`["ingest", "latency", "chart"].every(id => document.querySelector("#" + id + " .uplot canvas") !== null)`))
	require.NoError(t, err, "the three charts")
	require.Contains(t, text(`#latency`), "reads ms")
	require.Contains(t, text(`#chart`), "memory MiB")
	require.Regexp(t, `reads\s+\d+`, text(`#ops tbody`))

	// flush the vnode from the page: a click asks, a second one confirms; the page then shows the
	// file the flush wrote, as the server does
	require.NoError(t, chromedp.Do(bctx,
		clickNow(`button[data-action^="flush:"]`),
		chromedp.WaitVisible(`button[data-action="cancel"]`),
		clickNow(`button[data-action^="flush:"]`),
	))
	_, err = chromedp.Run(bctx, chromedp.Poll[bool](`document.getElementById("action").textContent.includes("done")`))
	require.NoError(t, err)
	_, err = chromedp.Run(bctx, chromedp.Poll[bool](`document.getElementById("actors").textContent.includes("1 files")`))
	require.NoError(t, err)
	resp, err := http.Get("http://" + srv.HTTPAddr + "/api/v1/vnodes")
	require.NoError(t, err)
	var vn struct {
		Local []struct {
			Files         int
			CacheBytes    int64
			FilesPerLevel []uint32
		}
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&vn))
	resp.Body.Close()
	require.Len(t, vn.Local, 1)
	require.Equal(t, 1, vn.Local[0].Files)
	require.Zero(t, vn.Local[0].CacheBytes)
	require.Len(t, vn.Local[0].FilesPerLevel, 5, "levels 0 to 4")
	require.EqualValues(t, 1, vn.Local[0].FilesPerLevel[0]+vn.Local[0].FilesPerLevel[1]+vn.Local[0].FilesPerLevel[2]+vn.Local[0].FilesPerLevel[3]+vn.Local[0].FilesPerLevel[4])
	_, err = chromedp.Run(bctx, chromedp.Poll[bool](`document.getElementById("actors").textContent.includes("1 files (by level ")`))
	require.NoError(t, err, "files per level on the vnode actor")

	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, urls)
	for _, u := range urls {
		require.True(t, strings.HasPrefix(u, "http://"+srv.HTTPAddr+"/"), "a request outside the node: %s", u)
	}
}

// TestConsoleClusterInBrowser is issue #12's check on a real cluster of three meta and three data
// nodes: the page of a data node shows every node and the leader of every meta shard, a vnode's
// actor with its mailbox depth; a compaction started from the page merges the vnode's files; and
// a data node killed with SIGKILL shows down within 5 s.
func TestConsoleClusterInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts six processes and a browser")
	}
	t.Parallel()
	path, err := exec.LookPath("chromium")
	require.NoError(t, err, "the console tests need chromium (make test installs it)")
	ctx := testCtx(t)
	c := setup.StartCluster(t, 3, 3, "--replication-factor", "2", "--repair-interval", "0")
	coll := createTS(t, c.Data[0].Client().Database("app"), "m")
	require.Eventually(t, func() bool {
		_, err := coll.InsertOne(ctx, bson.D{{Key: "ts", Value: time.Now()}, {Key: "meta", Value: "a"}, {Key: "v", Value: 1.5}})
		return err == nil
	}, 30*time.Second, 200*time.Millisecond, "the data nodes registered")
	// two replicas on three nodes: the page is that of a member (A) of the bucket's replica set;
	// the other member (B) moves its vnode to the node outside (C), which is then killed
	nodeIDs := map[string]uint64{}
	var listed struct {
		Nodes []struct {
			ID   uint64
			Name string
		}
	}
	require.Eventually(t, func() bool {
		return getJSON("http://"+c.Data[0].HTTPAddr+"/api/v1/nodes", &listed) == nil && len(listed.Nodes) == 3
	}, 30*time.Second, 100*time.Millisecond, "the three data nodes listed")
	for _, n := range listed.Nodes {
		nodeIDs[n.Name] = n.ID
	}
	var placed struct {
		Buckets []struct {
			ReplicaSets []struct {
				Vnodes []struct{ ID, Node uint64 }
			}
		}
	}
	require.NoError(t, getJSON("http://"+c.Data[0].HTTPAddr+"/api/v1/vnodes?db=app", &placed))
	require.Len(t, placed.Buckets, 1)
	members := map[uint64]bool{}
	for _, v := range placed.Buckets[0].ReplicaSets[0].Vnodes {
		members[v.Node] = true
	}
	var in, out []int
	for i := range c.Data {
		if members[nodeIDs[fmt.Sprint("dnode", i+1)]] {
			in = append(in, i)
		} else {
			out = append(out, i)
		}
	}
	require.Len(t, in, 2)
	one, nameB, victimName := c.Data[in[0]], fmt.Sprint("dnode", in[1]+1), fmt.Sprint("dnode", out[0]+1)
	killed := c.Data[out[0]]
	coll = one.Client().Database("app").Collection("m")

	bctx := browser(t, ctx, path)
	require.NoError(t, chromedp.Do(bctx, chromedp.Navigate("http://"+one.HTTPAddr+"/console/")))
	_, err = chromedp.Run(bctx, chromedp.Poll[bool](`document.querySelectorAll("#nodes tbody tr").length === 6`))
	require.NoError(t, err, "three meta and three data nodes")
	nodesText, err := pageText(bctx, `#nodes tbody`)
	require.NoError(t, err)
	t.Logf("nodes on the page:\n%s", nodesText)
	for _, n := range []string{"dnode1", "dnode2", "dnode3", "meta replica"} {
		require.Contains(t, nodesText, n)
	}
	require.Contains(t, nodesText, "leader of", "the meta nodes with the shards they lead")
	for _, shard := range []string{"catalog", "placement", "locks"} {
		_, err = chromedp.Run(bctx, chromedp.Poll[bool](`(() => { const r = document.querySelector('#shards tbody tr[data-shard="`+shard+`"] td.leader'); return r !== null && r.textContent !== "none"; })()`))
		require.NoError(t, err, "shard %s has a leader", shard)
	}
	text := func(sel string) string {
		s, err := pageText(bctx, sel)
		require.NoError(t, err, sel)
		return s
	}
	_, err = chromedp.Run(bctx, chromedp.Poll[bool](`document.querySelector('#actors li[data-actor^="vnodes/vnode/"]') !== null`))
	require.NoError(t, err, "a vnode actor on the page")
	require.Regexp(t, `vnode/\d+ \[mailbox \d+\]`, text(`#actors`))

	// the vnode gets a second file; a compaction from the page merges them
	vnodeFiles := func() int {
		resp, err := http.Get("http://" + one.HTTPAddr + "/api/v1/vnodes?db=app")
		require.NoError(t, err)
		defer resp.Body.Close()
		var vn struct{ Local []struct{ Files int } }
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&vn))
		n := 0
		for _, v := range vn.Local {
			n += v.Files
		}
		return n
	}
	flush := func() {
		out, err := run(t, setup.Binary(t), "ctl", "flush", "--addr", one.HTTPAddr, "--db", "app")
		require.NoError(t, err, out)
	}
	flush()
	_, err = coll.InsertOne(ctx, bson.D{{Key: "ts", Value: time.Now()}, {Key: "meta", Value: "a"}, {Key: "v", Value: 2.5}})
	require.NoError(t, err)
	flush()
	require.Equal(t, 2, vnodeFiles(), "two flushes, two files on this node's vnode")
	require.NoError(t, chromedp.Do(bctx,
		clickNow(`button[data-action^="compact:"]`),
		chromedp.WaitVisible(`button[data-action="cancel"]`),
		clickNow(`button[data-action^="compact:"]`),
	))
	_, err = chromedp.Run(bctx, chromedp.Poll[bool](`document.getElementById("action").textContent.includes("done")`))
	require.NoError(t, err)
	require.Equal(t, 1, vnodeFiles(), "the compaction merged them")

	// the databases table: app.m with its series on this node
	_, err = chromedp.Run(bctx, chromedp.Poll[bool](`document.querySelector('#databases tbody tr[data-collection="default/app.m"]') !== null`))
	require.NoError(t, err)
	require.Contains(t, text(`#databases tbody tr[data-db="default/app"]`), "2 replicas")

	// move a vnode from the page: the first click shows where to, the second moves it; the
	// placement then has the replica set on the chosen node, and every document is still read
	// (B's vnode: the only place left for it is C)
	action, err := chromedp.Run(bctx, chromedp.Evaluate[string](`(() => { const tr = Array.from(document.querySelectorAll('#placement tbody tr')).find(tr =>
			tr.children[6].textContent === "`+nameB+`" && tr.querySelector('button[data-action^="move:"]'));
			return tr ? tr.querySelector('button[data-action^="move:"]').dataset.action : ""; })()`))
	require.NoError(t, err)
	require.NotEmpty(t, action, "a vnode to move on the page")
	require.NoError(t, chromedp.Do(bctx,
		clickNow(`#placement button[data-action="`+action+`"]`),
		chromedp.WaitVisible(`#placement select`),
	))
	// read inside the page: the page redraws every second, so a node looked up first may be gone
	// when its value is read (CI saw "No node with given id found")
	target, err := chromedp.Run(bctx, chromedp.Evaluate[string](`(() => { const s = document.querySelector('#placement select'); return s ? s.value : ""; })()`))
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(bctx, clickNow(`#placement button[data-action="`+action+`"]`)))
	moved, err := strconv.ParseUint(strings.TrimPrefix(action, "move:"), 10, 64)
	require.NoError(t, err)
	require.Equal(t, victimName, target, "the only node outside the set")
	to, ok := nodeIDs[target]
	require.True(t, ok, "the page offers a node by name: %q", target)
	_, err = chromedp.Run(bctx, chromedp.Poll[bool](`document.getElementById("action").textContent.includes("move of vnode") && !document.getElementById("action").textContent.includes("running")`))
	require.NoError(t, err)
	require.Contains(t, text(`#action`), "done in", "the move succeeded")
	require.NoError(t, getJSON("http://"+one.HTTPAddr+"/api/v1/vnodes?db=app", &placed))
	var onTarget bool
	for _, b := range placed.Buckets {
		for _, rs := range b.ReplicaSets {
			for _, v := range rs.Vnodes {
				require.NotEqual(t, moved, v.ID, "the moved vnode left the placement")
				onTarget = onTarget || v.Node == to
			}
		}
	}
	require.True(t, onTarget, "a vnode on the chosen node")
	n, err := coll.CountDocuments(ctx, bson.D{})
	require.NoError(t, err)
	require.Equal(t, int64(2), n, "every document after the move")

	name := victimName
	killed.Kill()
	start := time.Now()
	_, err = chromedp.Run(bctx, chromedp.Poll[bool](`Array.from(document.querySelectorAll("#nodes tbody tr")).some(tr => tr.textContent.startsWith("`+name+`") && tr.textContent.includes("down"))`))
	require.NoError(t, err, "%s shown down", name)
	took := time.Since(start)
	t.Logf("%s shown down %v after its SIGKILL", name, took)
	require.Less(t, took, 5*time.Second)

	// writes while C is down leave hints for it on this node; handing the queue over from
	// the page moves them to the other replicas: the queue empties and nothing is lost
	w1 := one.Client().Database("app").Collection("m", options.Collection().SetWriteConcern(writeconcern.W1()))
	var docs []any
	for i := range 200 {
		docs = append(docs, bson.D{{Key: "ts", Value: time.Now().Add(time.Duration(i) * time.Millisecond)}, {Key: "meta", Value: fmt.Sprint("h", i%20)}, {Key: "v", Value: float64(i)}})
	}
	_, err = w1.InsertMany(ctx, docs)
	require.NoError(t, err)
	hintsFor := func(node string) int {
		resp, err := http.Get("http://" + one.HTTPAddr + "/api/v1/actors")
		require.NoError(t, err)
		defer resp.Body.Close()
		var info struct {
			Hints []struct {
				Target uint64
				Hints  int
			}
		}
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&info))
		id := nodeIDs[node]
		for _, h := range info.Hints {
			if h.Target == id {
				return h.Hints
			}
		}
		return 0
	}
	_, err = chromedp.Run(bctx, chromedp.Poll[bool](`document.querySelector('#hints button[data-action^="handover:"]') !== null`))
	if err != nil {
		t.Fatalf("no hint queue to hand over on the page: %v", err)
	}
	node, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.querySelector('#hints button[data-action^="handover:"]').closest("tr").children[0].textContent`))
	require.NoError(t, err)
	require.Equal(t, victimName, node)
	require.Positive(t, hintsFor(node))
	require.NoError(t, chromedp.Do(bctx,
		clickNow(`#hints button[data-action^="handover:"]`),
		chromedp.WaitVisible(`#hints button[data-action="cancel"]`),
		clickNow(`#hints button[data-action^="handover:"]`),
	))
	_, err = chromedp.Run(bctx, chromedp.Poll[bool](`document.getElementById("action").textContent.includes("handed over")`))
	require.NoError(t, err)
	t.Logf("hand-over: %s", text(`#action`))
	require.Regexp(t, `[1-9]\d* handed over, 0 remain`, text(`#action`))
	require.Zero(t, hintsFor(node), "the queue was handed over")
	n, err = coll.CountDocuments(ctx, bson.D{})
	require.NoError(t, err)
	require.Equal(t, int64(202), n, "every document after the hand-over")
}

// clickNow clicks the first element matching sel from inside the page, once it exists: the page
// redraws its tables every second, so a node found by a query may be gone when a click through
// the protocol reaches it ("Could not find node with given id").
func clickNow(sel string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		js := fmt.Sprintf(`(() => { const e = document.querySelector(%q); if (e === null) return false; e.click(); return true; })()`, sel)
		_, err := chromedp.Poll[bool](js)(ctx, t)
		return chromedp.Void{}, err
	}
}

// pageText is the visible text of the first element sel selects, once there is one, read inside
// the page in one step: the console redraws every second, so an element looked up first may be
// gone when its text is read.
func pageText(bctx context.Context, sel string) (string, error) {
	q, err := json.Marshal(sel)
	if err != nil {
		return "", err
	}
	if _, err := chromedp.Run(bctx, chromedp.Poll[bool](`document.querySelector(`+string(q)+`) !== null`)); err != nil {
		return "", err
	}
	return chromedp.Run(bctx, chromedp.Evaluate[string](`(() => { const e = document.querySelector(`+string(q)+`); return e ? e.innerText : ""; })()`))
}
