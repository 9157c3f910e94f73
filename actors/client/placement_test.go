package client

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestPlacementVersionRefetch: the cached placement of a database is fetched again when a node
// answers a write with a newer placement version (at most once a second), and not otherwise.
func TestPlacementVersionRefetch(t *testing.T) {
	var version, fetches atomic.Uint64
	version.Store(5)
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		require.Equal(t, "/api/v1/vnodes", r.URL.Path)
		fetches.Add(1)
		_ = json.NewEncoder(rw).Encode(map[string]any{"version": version.Load(), "buckets": []any{
			map[string]any{"start": "2024-01-01T00:00:00Z", "end": "2024-01-02T00:00:00Z",
				"replicaSets": []any{map[string]any{"vnodes": []any{map[string]any{"node": version.Load()}}}}}}})
	}))
	defer srv.Close()
	c := &Client{hc: srv.Client(), placement: map[string]*dbPlacement{},
		nodes: []node{{ID: 1, HTTPAddr: strings.TrimPrefix(srv.URL, "http://")}}}
	ctx := t.Context()
	p := c.placementOf(ctx, "db", false)
	require.Equal(t, uint64(1), fetches.Load())
	require.Equal(t, uint64(5), p.version)
	require.Equal(t, [][]uint64{{5}}, p.buckets[0].sets)
	c.placementOf(ctx, "db", false)
	c.sawPlacement(4)
	c.placementOf(ctx, "db", false)
	require.Equal(t, uint64(1), fetches.Load(), "an older or equal version keeps the cache")

	version.Store(7) // the placement changed (a vnode moved)
	c.sawPlacement(7)
	c.placementOf(ctx, "db", false)
	require.Equal(t, uint64(1), fetches.Load(), "not twice within a second")
	c.mu.Lock()
	c.placement["db"].fetched = time.Now().Add(-2 * time.Second)
	c.mu.Unlock()
	p = c.placementOf(ctx, "db", false)
	require.Equal(t, uint64(2), fetches.Load(), "a newer version reported: fetched again")
	require.Equal(t, uint64(7), p.version)
	require.Equal(t, [][]uint64{{7}}, p.buckets[0].sets, "routed by the new placement")
	c.mu.Lock()
	c.placement["db"].fetched = time.Now().Add(-2 * time.Second)
	c.mu.Unlock()
	c.placementOf(ctx, "db", false)
	require.Equal(t, uint64(2), fetches.Load(), "up to date: no fetch")
}
