package httpapi

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/chronogo/chronogo/actors/coordinator"
	"github.com/chronogo/chronogo/meta"
)

// Moves is what the vnode move and node removal endpoints ask of a node. `chronogo ctl
// move-vnode` drives a move through them: join, a barrier on every node, fill, promote, a
// barrier again, and the sweep of the source node.
type Moves interface {
	// JoinVnode adds a joining vnode on node to the replica set (or finds the one there) and
	// returns it with the placement version after the command.
	JoinVnode(ctx context.Context, m meta.VnodeMove, node uint64) (meta.Vnode, uint64, error)
	// PlacementBarrier waits until this node routes by placement version v or newer and every
	// write it started before is done.
	PlacementBarrier(ctx context.Context, v uint64) (uint64, error)
	// FillVnode fills the joining vnode to from the full member from and verifies it.
	FillVnode(ctx context.Context, m meta.VnodeMove, from, to uint64) (coordinator.FillReport, error)
	// PromoteVnode makes the joining vnode a full member and removes the vnode remove (0: none).
	PromoteVnode(ctx context.Context, m meta.VnodeMove, vnode, remove uint64) (uint64, error)
	// AbortVnode removes a joining vnode.
	AbortVnode(ctx context.Context, m meta.VnodeMove, vnode uint64) (uint64, error)
	// DrainNode sets whether new buckets may place vnodes on a node.
	DrainNode(ctx context.Context, node uint64, draining bool) error
	// RemoveNode forgets a node that holds no vnode.
	RemoveNode(ctx context.Context, node uint64) error
	// Sweep removes this node's data of buckets and vnodes placed elsewhere now, and says how
	// many it removed.
	Sweep(ctx context.Context) (int, error)
	// MoveVnode runs a whole move of the replica set's vnode on node from to node to, as ctl
	// move-vnode does (join, barrier, fill, promote, sweep), through the admin API of this node
	// and the others with the caller's credentials (user "" without --auth).
	// from and to are node ids or names.
	MoveVnode(ctx context.Context, m meta.VnodeMove, from, to string, user, password string) (coordinator.FillReport, error)
	// PlainShards lists the databases' plain shards.
	PlainShards(ctx context.Context) ([]meta.PlainShard, error)
	// MovePlainReplica moves a database's plain shard replica from one node to another, online.
	MovePlainReplica(ctx context.Context, tenant, db string, from, to uint64) (meta.PlainShard, error)
}

// PlainShardInfo is a database's plain shard in GET /api/v1/plain.
type PlainShardInfo struct {
	ID       uint64   `json:"id"`
	Tenant   string   `json:"tenant"`
	DB       string   `json:"db"`
	Replicas []uint64 `json:"replicas"`
	Joining  uint64   `json:"joining,omitempty"`
}

func plainInfo(p meta.PlainShard) PlainShardInfo {
	return PlainShardInfo{ID: p.ID, Tenant: p.Tenant, DB: p.DB, Replicas: p.Replicas, Joining: p.Joining}
}

// uintParams reads required unsigned parameters; the first missing or malformed one is the error.
func uintParams(q url.Values, names ...string) ([]uint64, string) {
	out := make([]uint64, len(names))
	for i, n := range names {
		v, err := strconv.ParseUint(q.Get(n), 10, 64)
		if err != nil || v == 0 {
			return nil, n + ": a positive integer is required"
		}
		out[i] = v
	}
	return out, ""
}

// moveOf reads tenant, db, bucket and replicaSet.
func moveOf(q url.Values) (meta.VnodeMove, string) {
	if q.Get("db") == "" {
		return meta.VnodeMove{}, "db is required"
	}
	ids, msg := uintParams(q, "bucket", "replicaSet")
	if msg != "" {
		return meta.VnodeMove{}, msg
	}
	tenant := q.Get("tenant")
	if tenant == "" {
		tenant = meta.DefaultTenant
	}
	return meta.VnodeMove{Tenant: tenant, DB: q.Get("db"), BucketID: ids[0], ReplicaSetID: ids[1]}, ""
}

// moveError answers err with the status its kind calls for.
func moveError(rw http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, meta.ErrNotFound):
		adminError(rw, http.StatusNotFound, err.Error())
	case errors.Is(err, meta.ErrConflict):
		adminError(rw, http.StatusConflict, err.Error())
	case errors.Is(err, meta.ErrInvalid):
		adminError(rw, http.StatusBadRequest, err.Error())
	default:
		adminError(rw, http.StatusInternalServerError, err.Error())
	}
}

// moveRoutes adds the vnode move and node removal endpoints (cluster administrators).
func moveRoutes(mux *http.ServeMux, mv Moves, auth AdminAuth, stopping context.Context) {
	// withMove handles a POST that names a replica set plus the given unsigned parameters
	withMove := func(path string, names []string, optional []string, h func(ctx context.Context, m meta.VnodeMove, ids []uint64, opt map[string]uint64) (any, error)) {
		mux.HandleFunc("POST "+path, func(rw http.ResponseWriter, r *http.Request) {
			if !adminAllowed(rw, r, auth) {
				return
			}
			q := r.URL.Query()
			m, msg := moveOf(q)
			var ids []uint64
			if msg == "" {
				ids, msg = uintParams(q, names...)
			}
			opt := map[string]uint64{}
			for _, n := range optional {
				if q.Get(n) == "" {
					continue
				}
				v, err := strconv.ParseUint(q.Get(n), 10, 64)
				if err != nil {
					msg = n + ": an unsigned integer"
				}
				opt[n] = v
			}
			if msg != "" {
				adminError(rw, http.StatusBadRequest, msg)
				return
			}
			ctx, cancel := context.WithCancel(r.Context())
			defer cancel()
			if stopping != nil {
				defer context.AfterFunc(stopping, cancel)()
			}
			out, err := h(ctx, m, ids, opt)
			if err != nil {
				moveError(rw, err)
				return
			}
			writeJSON(rw, out)
		})
	}
	withMove("/api/v1/vnodes/join", []string{"node"}, nil, func(ctx context.Context, m meta.VnodeMove, ids []uint64, _ map[string]uint64) (any, error) {
		v, version, err := mv.JoinVnode(ctx, m, ids[0])
		return map[string]any{"vnode": VnodeInfo{ID: v.ID, Node: v.NodeID, Joining: v.Joining}, "version": version}, err
	})
	withMove("/api/v1/vnodes/fill", []string{"from", "to"}, nil, func(ctx context.Context, m meta.VnodeMove, ids []uint64, _ map[string]uint64) (any, error) {
		rep, err := mv.FillVnode(ctx, m, ids[0], ids[1])
		return map[string]any{"report": rep}, err
	})
	withMove("/api/v1/vnodes/promote", []string{"vnode"}, []string{"remove"}, func(ctx context.Context, m meta.VnodeMove, ids []uint64, opt map[string]uint64) (any, error) {
		version, err := mv.PromoteVnode(ctx, m, ids[0], opt["remove"])
		return map[string]any{"version": version}, err
	})
	withMove("/api/v1/vnodes/abort", []string{"vnode"}, nil, func(ctx context.Context, m meta.VnodeMove, ids []uint64, _ map[string]uint64) (any, error) {
		version, err := mv.AbortVnode(ctx, m, ids[0])
		return map[string]any{"version": version}, err
	})
	mux.HandleFunc("POST /api/v1/vnodes/move", func(rw http.ResponseWriter, r *http.Request) {
		if !adminAllowed(rw, r, auth) {
			return
		}
		q := r.URL.Query()
		m, msg := moveOf(q)
		if msg == "" && (q.Get("from") == "" || q.Get("to") == "") {
			msg = "from and to (node ids or names) are required"
		}
		if msg != "" {
			adminError(rw, http.StatusBadRequest, msg)
			return
		}
		user, password, _ := r.BasicAuth()
		started := time.Now()
		rep, err := mv.MoveVnode(r.Context(), m, q.Get("from"), q.Get("to"), user, password)
		if err != nil {
			moveError(rw, err)
			return
		}
		writeJSON(rw, map[string]any{"report": rep, "seconds": time.Since(started).Seconds()})
	})
	mux.HandleFunc("POST /api/v1/placement/barrier", func(rw http.ResponseWriter, r *http.Request) {
		if !adminAllowed(rw, r, auth) {
			return
		}
		v, err := strconv.ParseUint(r.URL.Query().Get("version"), 10, 64)
		if err != nil {
			adminError(rw, http.StatusBadRequest, "version: an unsigned integer is required")
			return
		}
		got, err := mv.PlacementBarrier(r.Context(), v)
		if err != nil {
			moveError(rw, err)
			return
		}
		writeJSON(rw, map[string]any{"version": got})
	})
	mux.HandleFunc("POST /api/v1/nodes/drain", func(rw http.ResponseWriter, r *http.Request) {
		if !adminAllowed(rw, r, auth) {
			return
		}
		ids, msg := uintParams(r.URL.Query(), "node")
		undo := r.URL.Query().Get("undo")
		if msg == "" && undo != "" && undo != "true" && undo != "false" {
			msg = "undo: true or false"
		}
		if msg != "" {
			adminError(rw, http.StatusBadRequest, msg)
			return
		}
		if err := mv.DrainNode(r.Context(), ids[0], undo != "true"); err != nil {
			moveError(rw, err)
			return
		}
		writeJSON(rw, map[string]any{"node": ids[0], "draining": undo != "true"})
	})
	mux.HandleFunc("POST /api/v1/nodes/remove", func(rw http.ResponseWriter, r *http.Request) {
		if !adminAllowed(rw, r, auth) {
			return
		}
		ids, msg := uintParams(r.URL.Query(), "node")
		if msg != "" {
			adminError(rw, http.StatusBadRequest, msg)
			return
		}
		if err := mv.RemoveNode(r.Context(), ids[0]); err != nil {
			moveError(rw, err)
			return
		}
		writeJSON(rw, map[string]any{"node": ids[0], "removed": true})
	})
	mux.HandleFunc("GET /api/v1/plain", func(rw http.ResponseWriter, r *http.Request) {
		if !adminAllowed(rw, r, auth) {
			return
		}
		ps, err := mv.PlainShards(r.Context())
		if err != nil {
			moveError(rw, err)
			return
		}
		out := make([]PlainShardInfo, len(ps))
		for i, p := range ps {
			out[i] = plainInfo(p)
		}
		writeJSON(rw, map[string]any{"shards": out})
	})
	mux.HandleFunc("POST /api/v1/plain/move", func(rw http.ResponseWriter, r *http.Request) {
		if !adminAllowed(rw, r, auth) {
			return
		}
		q := r.URL.Query()
		ids, msg := uintParams(q, "from", "to")
		if msg == "" && q.Get("db") == "" {
			msg = "db is required"
		}
		if msg != "" {
			adminError(rw, http.StatusBadRequest, msg)
			return
		}
		tenant := q.Get("tenant")
		if tenant == "" {
			tenant = meta.DefaultTenant
		}
		started := time.Now()
		p, err := mv.MovePlainReplica(r.Context(), tenant, q.Get("db"), ids[0], ids[1])
		if err != nil {
			moveError(rw, err)
			return
		}
		writeJSON(rw, map[string]any{"shard": plainInfo(p), "seconds": time.Since(started).Seconds()})
	})
	mux.HandleFunc("POST /api/v1/sweep", func(rw http.ResponseWriter, r *http.Request) {
		if !adminAllowed(rw, r, auth) {
			return
		}
		n, err := mv.Sweep(r.Context())
		if err != nil {
			moveError(rw, err)
			return
		}
		writeJSON(rw, map[string]any{"removed": n})
	})
}
