package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// Admin is what the admin API (/api/v1/...) asks of the node.
type Admin interface {
	// Settle puts every vnode of the node in its most compact form now and returns how many.
	Settle(ctx context.Context) (int, error)
	// Flush writes every vnode's memcaches to TSM files now.
	Flush(ctx context.Context) error
	// Nodes lists the cluster's nodes as this node sees them.
	Nodes(ctx context.Context) ([]NodeInfo, error)
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
	// DownSince is when the placement marked the node down (RFC 3339; empty: up).
	DownSince string `json:"downSince,omitempty"`
	// Self is the node answering; Seen says how it sees a peer ("up", "down", or "" when it does
	// not watch it: meta nodes, itself).
	Self bool   `json:"self,omitempty"`
	Seen string `json:"seen,omitempty"`
}

// nodesHandler serves GET /api/v1/nodes: {"nodes": [...]}.
func nodesHandler(a Admin, auth AdminAuth) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		if !adminAllowed(rw, r, auth) {
			return
		}
		nodes, err := a.Nodes(r.Context())
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
		began := time.Now()
		n, err := a.Settle(r.Context())
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
	Seconds float64 `json:"seconds"`
}

// flushHandler serves POST /api/v1/flush: every vnode's memcaches written to TSM files (and the
// flushed WAL segments removed); it answers when they are.
func flushHandler(a Admin, auth AdminAuth) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		if !adminAllowed(rw, r, auth) {
			return
		}
		began := time.Now()
		if err := a.Flush(r.Context()); err != nil {
			adminError(rw, http.StatusInternalServerError, err.Error())
			return
		}
		rw.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(rw).Encode(FlushResult{Seconds: time.Since(began).Seconds()})
	}
}

// adminError answers {"error": msg} with status.
func adminError(rw http.ResponseWriter, status int, msg string) {
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(status)
	_ = json.NewEncoder(rw).Encode(map[string]string{"error": msg})
}
