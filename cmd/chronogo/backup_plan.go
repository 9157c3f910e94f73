package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/chronogo/chronogo/wire/httpapi"
)

// backupPart is what one node contributes to a backup: all its vnodes (vnodes nil: a standalone
// node or --node-only) or the replicas chosen on it, and, from the first part only, the catalog
// and the plain collections.
type backupPart struct {
	ac     *adminClient
	node   uint64
	vnodes []uint64
}

// query is the backup request of the part.
func (p backupPart) query(tenant, db string) string {
	q := url.Values{}
	if tenant != "" {
		q.Set("tenant", tenant)
	}
	if db != "" {
		q.Set("db", db)
	}
	if p.vnodes != nil {
		ids := make([]string, len(p.vnodes))
		for i, v := range p.vnodes {
			ids[i] = strconv.FormatUint(v, 10)
		}
		q.Set("vnodes", strings.Join(ids, ","))
	}
	return q.Encode()
}

// backupPlan decides which node backs up which vnodes: one replica of every replica set, on a
// data node that is up, spread over the nodes (the node at --addr first, as it also gives the
// catalog), so a backup of a cluster holds all its data once. A replica set without a live replica fails the backup.
func backupPlan(ctx context.Context, ac *adminClient, tenant, db string, nodeOnly bool) ([]backupPart, error) {
	if nodeOnly {
		return []backupPart{{ac: ac}}, nil
	}
	var nodes struct{ Nodes []httpapi.NodeInfo }
	if err := ac.json(ctx, http.MethodGet, "/api/v1/nodes", nil, &nodes); err != nil {
		return nil, err
	}
	live := map[uint64]httpapi.NodeInfo{}
	var self uint64
	for _, n := range nodes.Nodes {
		if n.Self {
			self = n.ID
		}
		if n.Role != "mnode" && n.HTTPAddr != "" && n.DownSince == "" && n.Seen != "down" {
			live[n.ID] = n
		}
	}
	if len(live) <= 1 {
		return []backupPart{{ac: ac}}, nil
	}
	q := url.Values{"tenant": {tenant}, "db": {db}}.Encode()
	var vn httpapi.VnodesInfo
	if err := ac.json(ctx, http.MethodGet, "/api/v1/vnodes?"+q, nil, &vn); err != nil {
		return nil, err
	}
	chosen := map[uint64][]uint64{}
	for _, b := range vn.Buckets {
		for _, rs := range b.ReplicaSets {
			// the live replica on the node with the fewest so far: the nodes share the work
			var pick *httpapi.VnodeInfo
			for i, v := range rs.Vnodes {
				if _, ok := live[v.Node]; !ok || v.Joining {
					continue // a joining vnode is still being filled
				}
				if pick == nil || len(chosen[v.Node]) < len(chosen[pick.Node]) ||
					(len(chosen[v.Node]) == len(chosen[pick.Node]) && v.Node == self) {
					pick = &rs.Vnodes[i]
				}
			}
			if pick == nil {
				return nil, fmt.Errorf("replica set %d of bucket %d (%s/%s) has no replica on a data node that is up", rs.ID, b.ID, b.Tenant, b.DB)
			}
			chosen[pick.Node] = append(chosen[pick.Node], pick.ID)
		}
	}
	parts := []backupPart{{ac: ac, node: self, vnodes: append([]uint64{}, chosen[self]...)}}
	ids := make([]uint64, 0, len(chosen))
	for id := range chosen {
		if id != self {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		parts = append(parts, backupPart{ac: newAdminClient(live[id].HTTPAddr, ac.user, ac.password), node: id, vnodes: chosen[id]})
	}
	return parts, nil
}
