package main

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/wire/httpapi"
	"github.com/chronogo/chronogo/wire/mongo"
)

// metaNodesRoute serves GET /api/v1/nodes on a meta node, so that clients discover the cluster
// through the meta nodes (the Go SDK's seeds may be theirs). Under --auth it wants a cluster
// administrator's Basic credentials, checked against the users in the Raft catalog.
func metaNodesRoute(mux *http.ServeMux, cfg config, ready *atomic.Pointer[meta.Host]) {
	// a request that comes while meta starts waits for it (a client started with the cluster)
	host := func(ctx context.Context) (*meta.Host, error) {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		for {
			if h := ready.Load(); h != nil {
				return h, h.WaitReady(ctx)
			}
			select {
			case <-ctx.Done():
				return nil, errors.New("meta is starting")
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	list := func(ctx context.Context) ([]httpapi.NodeInfo, error) {
		h, err := host(ctx)
		if err != nil {
			return nil, err
		}
		return nodeInfos(ctx, h.Client(), cfg.nodeID(), nil)
	}
	var auth httpapi.AdminAuth
	if cfg.Auth {
		auth = func(ctx context.Context, user, password string) (bool, error) {
			h, err := host(ctx)
			if err != nil {
				return false, err
			}
			u, found, err := h.Client().FindUser(ctx, mongo.AdminUserName(user))
			if err != nil || !found {
				return false, err
			}
			return mongo.PasswordMatches(u, user, password) && mongo.IsClusterAdmin(u), nil
		}
	}
	httpapi.NodesRoute(mux, list, auth)
}
