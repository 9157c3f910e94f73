package httpapi

import (
	"context"
	"net/http"

	"github.com/chronogo/chronogo/meta"
)

// ClusterView is what the console's endpoints ask of a node.
type ClusterView interface {
	// Cluster is the cluster as this node sees it: nodes and meta shards.
	Cluster(ctx context.Context) (ClusterInfo, error)
	// Actors is this node's actor tree, with what its vnode actors hold.
	Actors(ctx context.Context) (ActorsInfo, error)
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
}

// ActorInfo is one actor of the tree: its id (a child's id extends its parent's with "/" and a
// name), its parent's id, and for a vnode actor what the vnode holds.
type ActorInfo struct {
	ID     string `json:"id"`
	Parent string `json:"parent,omitempty"`
	// Mailbox is how many messages wait for the actor (absent when unknown).
	Mailbox *int       `json:"mailbox,omitempty"`
	Vnode   *VnodeStat `json:"vnode,omitempty"`
}

// clusterRoutes adds GET /api/v1/cluster and GET /api/v1/actors (cluster administrators).
func clusterRoutes(mux *http.ServeMux, v ClusterView, auth AdminAuth) {
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
