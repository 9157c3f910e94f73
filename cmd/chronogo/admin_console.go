package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/wire/httpapi"
)

var _ httpapi.ClusterView = nodeAdmin{}

// started is when this process started (the console's uptime).
var started = time.Now()

// Cluster is the cluster as this node sees it: nodes and the meta shards it holds replicas of.
func (a nodeAdmin) Cluster(ctx context.Context) (httpapi.ClusterInfo, error) {
	nodes, err := a.Nodes(ctx)
	if err != nil {
		return httpapi.ClusterInfo{}, err
	}
	shards := a.mc.Shards()
	return httpapi.ClusterInfo{Node: a.self, Version: version, UptimeSeconds: time.Since(started).Seconds(), Nodes: withMetaMembers(nodes, shards), Shards: shards}, nil
}

// withMetaMembers adds the voting members of the meta shards that are not data nodes (the mnodes,
// which the placement does not list), each with the shards it leads.
func withMetaMembers(nodes []httpapi.NodeInfo, shards []meta.ShardStatus) []httpapi.NodeInfo {
	known := map[string]bool{}
	for _, n := range nodes {
		known[n.RaftAddr] = true
	}
	members := map[uint64]string{}
	leads := map[uint64][]string{}
	for _, s := range shards {
		for id, addr := range s.Members {
			members[id] = addr
			if s.LeaderID == id {
				leads[id] = append(leads[id], s.Name)
			}
		}
	}
	ids := make([]uint64, 0, len(members))
	for id := range members {
		if !known[members[id]] {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		nodes = append(nodes, httpapi.NodeInfo{Name: fmt.Sprintf("meta replica %d", id), Role: "mnode", RaftAddr: members[id], Leads: leads[id]})
	}
	return nodes
}

// Actors is the node's actor tree as its actor system has it, each vnode actor with its stats.
func (a nodeAdmin) Actors(ctx context.Context) (httpapi.ActorsInfo, error) {
	ids := a.n.ActorIDs()
	stats, err := a.n.Stats(ctx)
	if err != nil {
		return httpapi.ActorsInfo{}, err
	}
	byVnode := map[uint64]httpapi.VnodeStat{}
	for _, s := range stats {
		byVnode[s.GetVnodeId()] = vnodeStatOf(s)
	}
	cursors, err := a.n.ReaderCursors(ctx)
	if err != nil {
		return httpapi.ActorsInfo{}, err
	}
	byActor := map[string]*httpapi.CursorInfo{}
	infoCursors := make([]httpapi.CursorInfo, len(cursors))
	for i, c := range cursors {
		infoCursors[i] = httpapi.CursorInfo{ID: c.ID, Actor: c.Actor, Vnode: c.Vnode, DB: c.DB, Table: c.Table, Requester: c.Requester,
			AgeSeconds: time.Since(c.Opened).Seconds(), Requests: c.Requests}
		byActor[c.Actor] = &infoCursors[i]
	}
	known := make(map[string]bool, len(ids))
	for _, id := range ids {
		known[id] = true
	}
	info := httpapi.ActorsInfo{Node: a.self, Actors: make([]httpapi.ActorInfo, 0, len(ids)), Cursors: infoCursors}
	for _, id := range ids {
		ai := httpapi.ActorInfo{ID: id, Cursor: byActor[id]}
		if depth, ok := a.n.MailboxDepth(id); ok {
			ai.Mailbox = &depth
		}
		for p := id; strings.Contains(p, "/"); { // the nearest ancestor that is an actor
			p = p[:strings.LastIndex(p, "/")]
			if known[p] {
				ai.Parent = p
				break
			}
		}
		if i := strings.LastIndex(id, "vnode/"); i >= 0 {
			if vid, err := strconv.ParseUint(id[i+len("vnode/"):], 10, 64); err == nil {
				if s, ok := byVnode[vid]; ok {
					ai.Vnode = &s
				}
			}
		}
		info.Actors = append(info.Actors, ai)
	}
	info.Hints = []httpapi.HintQueueInfo{}
	for _, h := range a.n.HandoffStats() {
		q := httpapi.HintQueueInfo{Target: h.Node, Hints: h.Hints, Bytes: h.Bytes, Replayed: h.Replayed, Expired: h.Expired, Skipped: h.Skipped, Refused: h.Refused}
		if !h.Oldest.IsZero() {
			q.OldestSeconds = time.Since(h.Oldest).Seconds()
		}
		info.Hints = append(info.Hints, q)
	}
	info.Coordinator = a.n.CoordinatorStats()
	if a.ops != nil {
		info.Ops = a.ops()
	}
	return info, nil
}

// HandOverHints hands the hints this node keeps for node over to the other replicas.
func (a nodeAdmin) HandOverHints(ctx context.Context, node string) (httpapi.HandOverInfo, error) {
	id, err := strconv.ParseUint(node, 10, 64)
	if err != nil {
		nodes, err := a.Nodes(ctx)
		if err != nil {
			return httpapi.HandOverInfo{}, err
		}
		n, err := findNode(nodes, node)
		if err != nil {
			return httpapi.HandOverInfo{}, fmt.Errorf("%w: %v", meta.ErrNotFound, err)
		}
		id = n.ID
	}
	res, err := a.n.HandOverHints(ctx, id)
	if err != nil {
		return httpapi.HandOverInfo{}, err
	}
	info := httpapi.HandOverInfo{HandedOver: res.HandedOver, Remaining: res.Remaining}
	if res.Err != nil {
		info.Stopped = res.Err.Error()
	}
	return info, nil
}
