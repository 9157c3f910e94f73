package main

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/actors/node"
	"github.com/chronogo/chronogo/meta"
)

// nodeStatus is serverStatus's "chronogo" section: this node, its view of its peers and the
// nodes the placement holds down.
func nodeStatus(cfg config, n *node.Node, mc *meta.Client) func(context.Context) bson.Raw {
	return func(context.Context) bson.Raw {
		peers := bson.A{}
		for _, p := range n.Peers() {
			peers = append(peers, bson.D{{Key: "node", Value: p.Name}, {Key: "up", Value: p.Up}, {Key: "since", Value: p.Since},
				{Key: "restarts", Value: int64(p.Restarted)}})
		}
		down := bson.A{}
		byID := map[uint64]string{}
		for _, nd := range mc.CachedNodes() {
			byID[nd.ID] = nodeLabel(nd)
		}
		for id := range mc.CachedDownSince() {
			down = append(down, byID[id])
		}
		raw, err := bson.Marshal(bson.D{{Key: "node", Value: cfg.NodeID}, {Key: "role", Value: cfg.ClusterRole},
			{Key: "version", Value: version}, {Key: "peers", Value: peers}, {Key: "nodesDown", Value: down}})
		if err != nil {
			return nil
		}
		return raw
	}
}
