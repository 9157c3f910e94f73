package main

import (
	"context"
	"time"

	"github.com/chronogo/chronogo/actors/node"
	"github.com/chronogo/chronogo/actors/vnode"
	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/wire/backend"
	"github.com/chronogo/chronogo/wire/httpapi"
)

// nodeAdmin serves the admin API of a data node from its actor node and meta client.
type nodeAdmin struct {
	n          *node.Node
	mc         *meta.Client
	host       *meta.Host // this node's meta replicas (removing a node from the meta shards)
	self       uint64
	b          *backend.Backend
	backupRoot string                      // <data-dir>/backup: checkpoints of backups under way
	ops        func() *httpapi.OpLatencies // the MongoDB listener's latencies (nil: none)
	httpAddr   string                      // this node's HTTP address, through which MoveVnode drives a move
}

func (a nodeAdmin) Settle(ctx context.Context, f httpapi.VnodeFilter) (int, error) {
	return a.n.SettleWhere(ctx, keepVnode(f))
}

// Flush writes every vnode's memcaches to TSM files.
func (a nodeAdmin) Flush(ctx context.Context, f httpapi.VnodeFilter) (int, error) {
	return a.n.FlushWhere(ctx, keepVnode(f))
}

// keepVnode selects the vnodes a filter names (nil: all).
func keepVnode(f httpapi.VnodeFilter) func(vnode.Spec) bool {
	if f == (httpapi.VnodeFilter{}) {
		return nil
	}
	return func(s vnode.Spec) bool {
		return (f.Tenant == "" || s.Tenant == f.Tenant) && (f.DB == "" || s.DB == f.DB) && (f.Vnode == 0 || s.VnodeID == f.Vnode)
	}
}

// Nodes lists the placement's nodes (a linearizable read), each with the placement's down mark
// and how this node's liveness watcher sees it.
func (a nodeAdmin) Nodes(ctx context.Context) ([]httpapi.NodeInfo, error) {
	seen := map[uint64]string{}
	for _, p := range a.n.Peers() {
		seen[p.ID] = map[bool]string{true: "up", false: "down"}[p.Up]
	}
	return nodeInfos(ctx, a.mc, a.self, seen)
}

// nodeInfos lists the cluster's nodes as GET /api/v1/nodes shows them: self is the node
// answering, seen how it sees its peers (none on a meta node).
func nodeInfos(ctx context.Context, mc *meta.Client, self uint64, seen map[uint64]string) ([]httpapi.NodeInfo, error) {
	nodes, err := mc.Nodes(ctx)
	if err != nil {
		return nil, err
	}
	down, draining := mc.CachedDownSince(), mc.CachedDraining()
	out := make([]httpapi.NodeInfo, 0, len(nodes))
	for _, nd := range nodes {
		info := httpapi.NodeInfo{ID: nd.ID, Name: nodeLabel(nd), Role: nd.Role, MongoAddr: nd.MongoAddr, HTTPAddr: nd.HTTPAddr,
			ActorAddr: nd.ActorAddr, RaftAddr: nd.RaftAddr, Zone: nd.Zone, Self: nd.ID == self, Seen: seen[nd.ID]}
		if since, ok := down[nd.ID]; ok {
			info.DownSince = time.Unix(0, since).UTC().Format(time.RFC3339)
		}
		info.Draining = draining[nd.ID]
		out = append(out, info)
	}
	return out, nil
}
