package backend

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/messages"
	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/wire/mongo"
)

// peerOpsTimeout bounds how long currentOp waits for another node's list: a node that does not
// answer in time is left out.
const peerOpsTimeout = 2 * time.Second

// nodeName is how currentOp names a node: its --node-id, else its id.
func nodeName(n meta.Node) string {
	if n.Name != "" {
		return n.Name
	}
	return strconv.FormatUint(n.ID, 10)
}

// peers are the other data nodes of the cluster that are not seen down.
func (b *Backend) peers() []meta.Node {
	down := b.meta.CachedDownSince()
	var out []meta.Node
	for _, n := range b.meta.CachedNodes() {
		if n.ID != b.node.ID() && n.ActorAddr != "" && down[n.ID] == 0 {
			out = append(out, n)
		}
	}
	return out
}

// PeerOps asks every other node at once for its running commands.
func (b *Backend) PeerOps(ctx context.Context, tenant string, all bool) []mongo.NodeOps {
	peers := b.peers()
	out := make([]mongo.NodeOps, len(peers))
	ctx, cancel := context.WithTimeout(ctx, peerOpsTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for i, n := range peers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := b.node.PeerOps(ctx, n.ID, &messages.OpsRequest{Tenant: tenant, All: all})
			if err != nil {
				b.log.WithError(err).WithField("peer", nodeName(n)).Debug("currentOp: a node did not list its commands")
				return
			}
			out[i].Node = nodeName(n)
			for _, op := range r.GetOps() {
				if bson.Raw(op).Validate() == nil {
					out[i].Ops = append(out[i].Ops, bson.Raw(op))
				}
			}
		}()
	}
	wg.Wait()
	return out
}

// KillPeerOp asks the node named node to interrupt command id.
func (b *Backend) KillPeerOp(ctx context.Context, node string, id int64, tenant string, all bool) (bool, error) {
	for _, n := range b.meta.CachedNodes() {
		if nodeName(n) != node {
			continue
		}
		r, err := b.node.PeerOps(ctx, n.ID, &messages.OpsRequest{Tenant: tenant, All: all, KillOp: id})
		if err != nil {
			return false, fmt.Errorf("killOp on node %s: %w", node, err)
		}
		return r.GetKilled(), nil
	}
	return false, nil // no such node: like an opid that runs nowhere
}
