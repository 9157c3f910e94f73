package integration

import (
	"context"
	"encoding/json"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/integration/setup"
)

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

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.Flag("headless", true), chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	bctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	bctx, cancelRun := context.WithTimeout(bctx, 60*time.Second)
	defer cancelRun()
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
		chromedp.WaitVisible(`#shards tbody tr[data-shard="plain"]`),
		chromedp.WaitVisible(`#actors li[data-actor^="vnodes/vnode/"]`),
	))
	text := func(sel string) string {
		s, err := chromedp.Run(bctx, chromedp.Text(sel))
		require.NoError(t, err, sel)
		return s
	}
	nodes, shards, actors := text(`#nodes tbody`), text(`#shards tbody`), text(`#actors`)
	require.Contains(t, nodes, "(this node)")
	require.Contains(t, nodes, "up")
	for _, s := range []string{"catalog (1)", "placement (2)", "locks (3)", "plain (4)"} {
		require.Contains(t, shards, s)
	}
	require.Contains(t, shards, "voting, leader")
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

	// flush the vnode from the page: a click asks, a second one confirms; the page then shows the
	// file the flush wrote, as the server does
	require.NoError(t, chromedp.Do(bctx,
		chromedp.Click(`button[data-action^="flush:"]`),
		chromedp.WaitVisible(`button[data-action="cancel"]`),
		chromedp.Click(`button[data-action^="flush:"]`),
	))
	_, err = chromedp.Run(bctx, chromedp.Poll[bool](`document.getElementById("action").textContent.includes("done")`))
	require.NoError(t, err)
	_, err = chromedp.Run(bctx, chromedp.Poll[bool](`document.getElementById("actors").textContent.includes("1 files")`))
	require.NoError(t, err)
	resp, err := http.Get("http://" + srv.HTTPAddr + "/api/v1/vnodes")
	require.NoError(t, err)
	var vn struct {
		Local []struct {
			Files      int
			CacheBytes int64
		}
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&vn))
	resp.Body.Close()
	require.Len(t, vn.Local, 1)
	require.Equal(t, 1, vn.Local[0].Files)
	require.Zero(t, vn.Local[0].CacheBytes)

	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, urls)
	for _, u := range urls {
		require.True(t, strings.HasPrefix(u, "http://"+srv.HTTPAddr+"/"), "a request outside the node: %s", u)
	}
}
