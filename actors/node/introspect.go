package node

import (
	"context"
	"fmt"
	"time"

	"github.com/chronogo/chronogo/actors/handoff"
	"github.com/chronogo/chronogo/actors/opsrpc"
	"github.com/chronogo/chronogo/actors/plainrpc"
	"github.com/chronogo/chronogo/actors/reader"
	"github.com/chronogo/chronogo/actors/vnode"
	"github.com/chronogo/chronogo/messages"
	"github.com/chronogo/chronogo/storage/engine"
)

// TableSeries is how many series one table has in one vnode running on this node.
type TableSeries struct {
	Tenant, DB, Table string
	Vnode             uint64
	Series            int
}

// TableSeries lists, for every vnode running on this node, the series of each of its tables
// (read from the engines' indexes, without a message to the vnode actors).
func (n *Node) TableSeries() []TableSeries {
	var out []TableSeries
	n.open.Each(func(spec vnode.Spec, snap *engine.Snapshot) {
		for table, series := range snap.TableSeries() {
			out = append(out, TableSeries{Tenant: spec.Tenant, DB: spec.DB, Table: table, Vnode: spec.VnodeID, Series: series})
		}
	})
	return out
}

// ReaderCursors lists the cursors open in this node's reader (scans of its vnodes for readers
// on this or other nodes).
func (n *Node) ReaderCursors(ctx context.Context) ([]reader.CursorInfo, error) {
	done, err := n.enter()
	if err != nil {
		return nil, err
	}
	defer done()
	res, err := n.sys.Root.RequestFuture(n.reader, &reader.Stats{}, n.timeout(ctx)).Result()
	if err != nil {
		return nil, fmt.Errorf("reader cursors: %w", err)
	}
	st, ok := res.(*reader.StatsReply)
	if !ok {
		return nil, fmt.Errorf("reader cursors: unexpected reply %T", res)
	}
	return st.Cursors, nil
}

// HandOverHints hands the hint queue this node keeps for node target over to the other
// replicas of the hints' replica sets (handoff.HandOver), waiting at most until ctx ends.
func (n *Node) HandOverHints(ctx context.Context, target uint64) (handoff.HandOverResult, error) {
	done, err := n.enter()
	if err != nil {
		return handoff.HandOverResult{}, err
	}
	defer done()
	timeout := time.Hour
	if d, ok := ctx.Deadline(); ok {
		timeout = time.Until(d)
	}
	return n.handoff.HandOver(target, timeout)
}

// PlainCall sends a call to the plain actor of node id (actors/plainrpc): for a plain shard with
// no replica on this node.
func (n *Node) PlainCall(ctx context.Context, id uint64, call *messages.PlainCall) (*messages.PlainCallReply, error) {
	return askPeer(ctx, n, id, func(addr string) (*messages.PlainCallReply, error) {
		return plainrpc.Call(ctx, n.sys.Root, addr, call, n.timeout(ctx))
	})
}

// askPeer runs ask with the actor address of node id, as a call of the node.
func askPeer[R any](ctx context.Context, n *Node, id uint64, ask func(addr string) (R, error)) (R, error) {
	var zero R
	exit, err := n.enter()
	if err != nil {
		return zero, err
	}
	defer exit()
	node, err := n.cfg.Placement.Node(ctx, id)
	if err != nil {
		return zero, err
	}
	if node.ActorAddr == "" {
		return zero, fmt.Errorf("node %d has no actor address", id)
	}
	return ask(node.ActorAddr)
}

// ID is the node's id.
func (n *Node) ID() uint64 { return n.cfg.NodeID }

// SetOpsProvider installs the MongoDB listener whose running commands other nodes' currentOp
// lists and killOp interrupts.
func (n *Node) SetOpsProvider(p opsrpc.Provider) { n.ops.Set(p) }

// PeerOps sends req to the ops actor of node id.
func (n *Node) PeerOps(ctx context.Context, id uint64, req *messages.OpsRequest) (*messages.OpsReply, error) {
	return askPeer(ctx, n, id, func(addr string) (*messages.OpsReply, error) {
		return opsrpc.Ask(ctx, n.sys.Root, addr, req, n.timeout(ctx))
	})
}
