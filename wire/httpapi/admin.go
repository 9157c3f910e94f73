package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Admin is what the admin API (/api/v1/...) asks of the node.
type Admin interface {
	// Settle puts the node's vnodes that f selects in their most compact form now and returns how
	// many.
	Settle(ctx context.Context, f VnodeFilter) (int, error)
	// Flush writes the memcaches of the node's vnodes that f selects to TSM files now and returns
	// how many.
	Flush(ctx context.Context, f VnodeFilter) (int, error)
	// Nodes lists the cluster's nodes as this node sees them.
	Nodes(ctx context.Context) ([]NodeInfo, error)
}

// VnodeFilter selects vnodes of a node by tenant, database and vnode id (zero values: any).
type VnodeFilter struct {
	Tenant, DB string
	Vnode      uint64
}

// vnodeFilter reads ?tenant=&db=&vnode=.
func vnodeFilter(r *http.Request) (VnodeFilter, error) {
	q := r.URL.Query()
	f := VnodeFilter{Tenant: q.Get("tenant"), DB: q.Get("db")}
	if v := q.Get("vnode"); v != "" {
		id, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return f, fmt.Errorf("vnode %q: not a vnode id", v)
		}
		f.Vnode = id
	}
	return f, nil
}

// NodeInfo is one node of GET /api/v1/nodes.
type NodeInfo struct {
	ID        uint64 `json:"id"`
	Name      string `json:"name"`
	Role      string `json:"role"`
	MongoAddr string `json:"mongoAddr,omitempty"`
	HTTPAddr  string `json:"httpAddr,omitempty"`
	ActorAddr string `json:"actorAddr,omitempty"`
	RaftAddr  string `json:"raftAddr,omitempty"`
	Zone      string `json:"zone,omitempty"`
	// DownSince is when the placement marked the node down (RFC 3339; empty: up).
	DownSince string `json:"downSince,omitempty"`
	// Draining: new buckets place no vnode on the node (ctl drain).
	Draining bool `json:"draining,omitempty"`
	// Self is the node answering; Seen says how it sees a peer ("up", "down", or "" when it does
	// not watch it: meta nodes, itself).
	Self bool   `json:"self,omitempty"`
	Seen string `json:"seen,omitempty"`
	// Leads are the meta shards a meta replica leads (meta members only, in /api/v1/cluster).
	Leads []string `json:"leads,omitempty"`
}

// NodesRoute serves GET /api/v1/nodes from list on mux: for the meta nodes, which have no other
// admin API but are where clients (the Go SDK) discover the cluster.
func NodesRoute(mux *http.ServeMux, list func(context.Context) ([]NodeInfo, error), auth AdminAuth) {
	mux.Handle("GET /api/v1/nodes", nodesHandler(list, auth))
}

// nodesHandler serves GET /api/v1/nodes: {"nodes": [...]}.
func nodesHandler(list func(context.Context) ([]NodeInfo, error), auth AdminAuth) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		if !adminAllowed(rw, r, auth) {
			return
		}
		nodes, err := list(r.Context())
		if err != nil {
			adminError(rw, http.StatusInternalServerError, err.Error())
			return
		}
		rw.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(rw).Encode(map[string]any{"nodes": nodes})
	}
}

// adminAllowed answers 401 or 403 and returns false unless auth admits the request's Basic
// credentials (nil auth admits everyone).
func adminAllowed(rw http.ResponseWriter, r *http.Request, auth AdminAuth) bool {
	if auth == nil {
		return true
	}
	user, pwd, ok := r.BasicAuth()
	if !ok {
		rw.Header().Set("WWW-Authenticate", `Basic realm="chronogo"`)
		adminError(rw, http.StatusUnauthorized, "authentication required: a cluster administrator's user and password (Basic auth)")
		return false
	}
	allowed, err := auth(r.Context(), user, pwd)
	switch {
	case err != nil:
		adminError(rw, http.StatusInternalServerError, err.Error())
		return false
	case !allowed:
		adminError(rw, http.StatusForbidden, "not authorized: the admin API needs a cluster administrator")
		return false
	}
	return true
}

// AdminAuth says whether user (password) may run administrative operations (a cluster
// administrator); nil means no access control.
type AdminAuth func(ctx context.Context, user, password string) (ok bool, err error)

// CompactResult is the answer of POST /api/v1/compact.
type CompactResult struct {
	Vnodes  int     `json:"vnodes"`
	Seconds float64 `json:"seconds"`
}

// compactHandler serves POST /api/v1/compact: settle every vnode of this node (flush, WAL
// reclaimed, full compaction, deleted points rewritten away) and answer when it is done.
func compactHandler(a Admin, auth AdminAuth) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		if !adminAllowed(rw, r, auth) {
			return
		}
		f, err := vnodeFilter(r)
		if err != nil {
			adminError(rw, http.StatusBadRequest, err.Error())
			return
		}
		began := time.Now()
		n, err := a.Settle(r.Context(), f)
		if err != nil {
			adminError(rw, http.StatusInternalServerError, err.Error())
			return
		}
		rw.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(rw).Encode(CompactResult{Vnodes: n, Seconds: time.Since(began).Seconds()})
	}
}

// FlushResult is the answer of POST /api/v1/flush.
type FlushResult struct {
	Vnodes  int     `json:"vnodes"`
	Seconds float64 `json:"seconds"`
}

// flushHandler serves POST /api/v1/flush: every vnode's memcaches written to TSM files (and the
// flushed WAL segments removed); it answers when they are.
func flushHandler(a Admin, auth AdminAuth) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		if !adminAllowed(rw, r, auth) {
			return
		}
		f, err := vnodeFilter(r)
		if err != nil {
			adminError(rw, http.StatusBadRequest, err.Error())
			return
		}
		began := time.Now()
		n, err := a.Flush(r.Context(), f)
		if err != nil {
			adminError(rw, http.StatusInternalServerError, err.Error())
			return
		}
		rw.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(rw).Encode(FlushResult{Vnodes: n, Seconds: time.Since(began).Seconds()})
	}
}

// adminError answers {"error": msg} with status.
func adminError(rw http.ResponseWriter, status int, msg string) {
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(status)
	_ = json.NewEncoder(rw).Encode(map[string]string{"error": msg})
}
