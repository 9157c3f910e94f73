package httpapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/chronogo/chronogo/actors/coordinator"
	"github.com/chronogo/chronogo/meta"
)

// ClusterView is what the console's endpoints ask of a node.
type ClusterView interface {
	// Cluster is the cluster as this node sees it: nodes and meta shards.
	Cluster(ctx context.Context) (ClusterInfo, error)
	// Actors is this node's actor tree, with what its vnode actors hold.
	Actors(ctx context.Context) (ActorsInfo, error)
	// Databases is every database with its collections and what this node holds of them.
	Databases(ctx context.Context) (DatabasesInfo, error)
	// HandOverHints hands this node's hint queue for node over to the other replicas of the
	// hints' replica sets (nothing is dropped: a hint of a single replica stays).
	// node is an id or a name.
	HandOverHints(ctx context.Context, node string) (HandOverInfo, error)
}

// HandOverInfo answers POST /api/v1/hints/handover.
type HandOverInfo struct {
	HandedOver int    `json:"handedOver"`
	Remaining  int    `json:"remaining"`
	Stopped    string `json:"stopped,omitempty"` // why hints remain
}

// ClusterInfo answers GET /api/v1/cluster.
type ClusterInfo struct {
	Node          uint64             `json:"node"`
	Version       string             `json:"version"`
	UptimeSeconds float64            `json:"uptimeSeconds"`
	Nodes         []NodeInfo         `json:"nodes"`
	Shards        []meta.ShardStatus `json:"shards"`
}

// ActorsInfo answers GET /api/v1/actors.
type ActorsInfo struct {
	Node   uint64      `json:"node"`
	Actors []ActorInfo `json:"actors"`
	// Hints are the node's hint queues, one per node it holds hints for.
	Hints []HintQueueInfo `json:"hints"`
	// Coordinator is what the node's coordinator did: writes in flight and answered by level.
	Coordinator coordinator.WriteStats `json:"coordinator"`
	// Ops are the MongoDB commands this node served since it started, by kind (as
	// serverStatus.opLatencies): total latency and count, whose differences give the mean latency.
	Ops *OpLatencies `json:"ops,omitempty"`
	// Cursors are the reader's open cursors (also set on their actors).
	Cursors []CursorInfo `json:"cursors"`
}

// OpLatencies are a node's MongoDB reads, writes and other commands: total latency and count.
type OpLatencies struct {
	Reads    OpTotal `json:"reads"`
	Writes   OpTotal `json:"writes"`
	Commands OpTotal `json:"commands"`
}

// OpTotal is a total latency (µs) and an operation count.
type OpTotal struct {
	LatencyMicros int64 `json:"latencyMicros"`
	Ops           int64 `json:"ops"`
}

// HintQueueInfo is one hint queue of a node: the writes, deletes and renames it keeps for a
// node that did not take them, and what its replay did.
type HintQueueInfo struct {
	Target        uint64  `json:"target"`
	Hints         int     `json:"hints"`
	Bytes         int64   `json:"bytes"`
	OldestSeconds float64 `json:"oldestSeconds,omitempty"` // age of the oldest hint being replayed
	Replayed      uint64  `json:"replayed"`
	Expired       uint64  `json:"expired"`
	Skipped       uint64  `json:"skipped"`
	Refused       uint64  `json:"refused"`
}

// ActorInfo is one actor of the tree: its id (a child's id extends its parent's with "/" and a
// name), its parent's id, and for a vnode actor what the vnode holds.
type ActorInfo struct {
	ID     string `json:"id"`
	Parent string `json:"parent,omitempty"`
	// Mailbox is how many messages wait for the actor (absent when unknown).
	Mailbox *int       `json:"mailbox,omitempty"`
	Vnode   *VnodeStat `json:"vnode,omitempty"`
	// Cursor is set on a reader cursor actor: the scan it serves.
	Cursor *CursorInfo `json:"cursor,omitempty"`
}

// CursorInfo is one cursor of the node's reader: a scan of one of its vnodes for a reader on
// this node or another (Requester is its actor system address).
type CursorInfo struct {
	ID         uint64  `json:"id"`
	Actor      string  `json:"actor"`
	Vnode      uint64  `json:"vnode"`
	DB         string  `json:"db"`
	Table      string  `json:"table"`
	Requester  string  `json:"requester"`
	AgeSeconds float64 `json:"ageSeconds"`
	Requests   int     `json:"requests"`
}

// clusterRoutes adds GET /api/v1/cluster, /api/v1/actors and /api/v1/databases (cluster
// administrators).
func clusterRoutes(mux *http.ServeMux, v ClusterView, auth AdminAuth) {
	mux.HandleFunc("POST /api/v1/hints/handover", func(rw http.ResponseWriter, r *http.Request) {
		if !adminAllowed(rw, r, auth) {
			return
		}
		node := r.URL.Query().Get("node")
		if node == "" {
			adminError(rw, http.StatusBadRequest, "node (an id or a name) is required")
			return
		}
		info, err := v.HandOverHints(r.Context(), node)
		if errors.Is(err, meta.ErrNotFound) {
			adminError(rw, http.StatusNotFound, err.Error())
			return
		}
		if err != nil {
			adminError(rw, http.StatusInternalServerError, err.Error())
			return
		}
		writeJSON(rw, info)
	})
	mux.HandleFunc("GET /api/v1/databases", func(rw http.ResponseWriter, r *http.Request) {
		if !adminAllowed(rw, r, auth) {
			return
		}
		info, err := v.Databases(r.Context())
		if err != nil {
			adminError(rw, http.StatusInternalServerError, err.Error())
			return
		}
		writeJSON(rw, info)
	})
	mux.HandleFunc("GET /api/v1/cluster", func(rw http.ResponseWriter, r *http.Request) {
		if !adminAllowed(rw, r, auth) {
			return
		}
		info, err := v.Cluster(r.Context())
		if err != nil {
			adminError(rw, http.StatusInternalServerError, err.Error())
			return
		}
		writeJSON(rw, info)
	})
	mux.HandleFunc("GET /api/v1/actors", func(rw http.ResponseWriter, r *http.Request) {
		if !adminAllowed(rw, r, auth) {
			return
		}
		info, err := v.Actors(r.Context())
		if err != nil {
			adminError(rw, http.StatusInternalServerError, err.Error())
			return
		}
		writeJSON(rw, info)
	})
}
