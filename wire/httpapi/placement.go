package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"time"
)

// Placements is what the placement endpoints ask of a data node.
type Placements interface {
	// Vnodes lists the cluster's buckets (of tenant and db when set) and this node's vnodes with
	// their sizes.
	Vnodes(ctx context.Context, tenant, db string) (VnodesInfo, error)
	// Truncate drops the buckets of a database that end before a time (ns), or only lists them.
	Truncate(ctx context.Context, tenant, db string, before int64, dryRun bool) ([]BucketInfo, error)
}

// VnodesInfo answers GET /api/v1/vnodes.
type VnodesInfo struct {
	Buckets []BucketInfo `json:"buckets"`
	Local   []VnodeStat  `json:"local"` // the vnodes of the node answering
	Node    uint64       `json:"node"`
	// Version is a placement version the buckets are at least as new as.
	Version uint64 `json:"version"`
}

// BucketInfo is a bucket: a time range of a database and its replica sets.
type BucketInfo struct {
	Tenant      string           `json:"tenant"`
	DB          string           `json:"db"`
	ID          uint64           `json:"id"`
	Start       string           `json:"start"` // RFC 3339
	End         string           `json:"end"`
	ReplicaSets []ReplicaSetInfo `json:"replicaSets"`
}

// ReplicaSetInfo is a replica set and its vnodes (vnode id -> node id).
type ReplicaSetInfo struct {
	ID     uint64      `json:"id"`
	Vnodes []VnodeInfo `json:"vnodes"`
}

// VnodeInfo is one replica of a replica set.
type VnodeInfo struct {
	ID   uint64 `json:"id"`
	Node uint64 `json:"node"`
	// Joining: the vnode is being filled by a move (written to, not read, not counted).
	Joining bool `json:"joining,omitempty"`
}

// VnodeStat is a vnode of the answering node with its sizes.
type VnodeStat struct {
	Tenant     string `json:"tenant"`
	DB         string `json:"db"`
	Bucket     uint64 `json:"bucket"`
	ReplicaSet uint64 `json:"replicaSet"`
	Vnode      uint64 `json:"vnode"`
	Files      uint32 `json:"files"`
	DiskBytes  int64  `json:"diskBytes"`
	CacheBytes int64  `json:"cacheBytes"`
	Series     uint64 `json:"series"`
	// FilesPerLevel counts the files at level 0 (delta) to 4.
	FilesPerLevel []uint32 `json:"filesPerLevel"`
	// Job is the running background work ("flush", "compaction", "flush, compaction"; absent when
	// none), for JobSeconds; a compaction has merged CompactionDone of CompactionTotal input points.
	Job             string  `json:"job,omitempty"`
	JobSeconds      float64 `json:"jobSeconds,omitempty"`
	CompactionDone  uint64  `json:"compactionDone,omitempty"`
	CompactionTotal uint64  `json:"compactionTotal,omitempty"`
}

// placementRoutes adds GET /api/v1/vnodes and POST /api/v1/truncate (cluster administrators).
func placementRoutes(mux *http.ServeMux, p Placements, auth AdminAuth) {
	mux.HandleFunc("GET /api/v1/vnodes", func(rw http.ResponseWriter, r *http.Request) {
		if !adminAllowed(rw, r, auth) {
			return
		}
		info, err := p.Vnodes(r.Context(), r.URL.Query().Get("tenant"), r.URL.Query().Get("db"))
		if err != nil {
			adminError(rw, http.StatusInternalServerError, err.Error())
			return
		}
		writeJSON(rw, info)
	})
	mux.HandleFunc("POST /api/v1/truncate", func(rw http.ResponseWriter, r *http.Request) {
		if !adminAllowed(rw, r, auth) {
			return
		}
		q := r.URL.Query()
		if q.Get("db") == "" {
			adminError(rw, http.StatusBadRequest, "db is required")
			return
		}
		before, err := time.Parse(time.RFC3339Nano, q.Get("before"))
		if err != nil {
			adminError(rw, http.StatusBadRequest, "before: "+err.Error())
			return
		}
		dry, _ := strconv.ParseBool(q.Get("dryRun"))
		tenant := q.Get("tenant")
		if tenant == "" {
			tenant = "default"
		}
		dropped, err := p.Truncate(r.Context(), tenant, q.Get("db"), before.UnixNano(), dry)
		if err != nil {
			adminError(rw, http.StatusInternalServerError, err.Error())
			return
		}
		writeJSON(rw, map[string]any{"buckets": dropped, "dryRun": dry})
	})
}
