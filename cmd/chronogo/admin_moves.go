package main

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/chronogo/chronogo/actors/coordinator"
	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/wire/httpapi"
)

var _ httpapi.Moves = nodeAdmin{}

// JoinVnode adds a joining vnode on node to a replica set.
func (a nodeAdmin) JoinVnode(ctx context.Context, m meta.VnodeMove, node uint64) (meta.Vnode, uint64, error) {
	return a.mc.JoinVnode(ctx, m, node)
}

// PlacementBarrier brings this node's placement cache to version v and waits for the writes it
// started before.
func (a nodeAdmin) PlacementBarrier(ctx context.Context, v uint64) (uint64, error) {
	if err := a.mc.SyncPlacementTo(ctx, v); err != nil {
		return 0, err
	}
	if err := a.n.WaitWrites(ctx); err != nil {
		return 0, err
	}
	return a.mc.CachedPlacementVersion(), nil
}

// FillVnode fills the joining vnode to from the full member from (linearizable placement read).
func (a nodeAdmin) FillVnode(ctx context.Context, m meta.VnodeMove, from, to uint64) (coordinator.FillReport, error) {
	buckets, err := a.mc.BucketsIn(ctx, m.Tenant, m.DB, math.MinInt64, math.MaxInt64)
	if err != nil {
		return coordinator.FillReport{}, err
	}
	for _, b := range buckets {
		if b.ID != m.BucketID {
			continue
		}
		for _, rs := range b.ReplicaSets {
			if rs.ID != m.ReplicaSetID {
				continue
			}
			var src, dst *meta.Vnode
			for i := range rs.Vnodes {
				switch v := &rs.Vnodes[i]; v.ID {
				case from:
					src = v
				case to:
					dst = v
				}
			}
			switch {
			case src == nil || dst == nil:
				return coordinator.FillReport{}, fmt.Errorf("%w: replica set %d has no vnode %d or %d", meta.ErrNotFound, rs.ID, from, to)
			case src.Joining:
				return coordinator.FillReport{}, fmt.Errorf("%w: vnode %d is joining: it cannot be a source", meta.ErrConflict, from)
			case !dst.Joining:
				return coordinator.FillReport{}, fmt.Errorf("%w: vnode %d is a full member already", meta.ErrConflict, to)
			}
			return a.n.FillVnode(ctx, b, rs, *src, *dst, nil)
		}
	}
	return coordinator.FillReport{}, fmt.Errorf("%w: bucket %d replica set %d of %s.%s", meta.ErrNotFound, m.BucketID, m.ReplicaSetID, m.Tenant, m.DB)
}

// PromoteVnode makes a joining vnode a full member and removes another.
func (a nodeAdmin) PromoteVnode(ctx context.Context, m meta.VnodeMove, vnode, remove uint64) (uint64, error) {
	return a.mc.PromoteVnode(ctx, m, vnode, remove)
}

// AbortVnode removes a joining vnode.
func (a nodeAdmin) AbortVnode(ctx context.Context, m meta.VnodeMove, vnode uint64) (uint64, error) {
	return a.mc.AbortVnode(ctx, m, vnode)
}

// DrainNode sets whether new buckets may place vnodes on a node.
func (a nodeAdmin) DrainNode(ctx context.Context, node uint64, draining bool) error {
	return a.mc.SetNodeDraining(ctx, node, draining)
}

// RemoveNode forgets a data node that holds no vnode: the placement drops it, then the meta
// shards drop its non-voting replicas. Meta nodes (voters) and the node answering are refused.
func (a nodeAdmin) RemoveNode(ctx context.Context, node uint64) error {
	if node == a.self {
		return fmt.Errorf("%w: node %d is the node answering: ask another node to remove it", meta.ErrConflict, node)
	}
	nodes, err := a.mc.Nodes(ctx)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(nodes, func(n meta.Node) bool { return n.ID == node })
	if i < 0 {
		return fmt.Errorf("%w: node %d is not registered", meta.ErrNotFound, node)
	}
	if nodes[i].Role != "dnode" {
		return fmt.Errorf("%w: node %d is a %s: only data nodes are removed this way", meta.ErrConflict, node, nodes[i].Role)
	}
	if err := a.mc.RemoveNode(ctx, node); err != nil {
		return err
	}
	if a.host == nil {
		return nil
	}
	return a.host.RemoveReplica(ctx, node)
}

// Sweep removes this node's data placed elsewhere now.
func (a nodeAdmin) Sweep(ctx context.Context) (int, error) {
	return a.n.SweepOrphans(ctx)
}

// PlainShards lists the databases' plain shards.
func (a nodeAdmin) PlainShards(ctx context.Context) ([]meta.PlainShard, error) {
	return a.b.PlainShards(ctx)
}

// MovePlainReplica moves a database's plain shard replica from one node to another.
func (a nodeAdmin) MovePlainReplica(ctx context.Context, tenant, db string, from, to uint64) (meta.PlainShard, error) {
	return a.b.MovePlainReplica(ctx, tenant, db, from, to)
}
