package meta

import (
	"context"
	"fmt"
	"maps"

	"github.com/chronogo/chronogo/meta/placement"
)

// VnodeMove names a replica set for the vnode move commands.
type VnodeMove struct {
	Tenant, DB   string
	BucketID     uint64
	ReplicaSetID uint64
}

func (m VnodeMove) command(op placement.Op) placement.Command {
	return placement.Command{Op: op, Tenant: m.Tenant, DB: m.DB, BucketID: m.BucketID, ReplicaSetID: m.ReplicaSetID}
}

// moveResult turns the codes a move command can end with into errors.
func moveResult(r placement.Result, err error) (placement.Result, error) {
	if err != nil {
		return r, err
	}
	switch r.Code {
	case placement.CodeNotFound:
		return r, fmt.Errorf("%w: %s", ErrNotFound, r.Message)
	case placement.CodeConflict:
		return r, fmt.Errorf("%w: %s", ErrConflict, r.Message)
	}
	return r, nil
}

// JoinVnode adds a joining vnode on node to the replica set (or returns the one it has there
// already) and the placement version after the command.
func (c *Client) JoinVnode(ctx context.Context, m VnodeMove, node uint64) (Vnode, uint64, error) {
	cmd := m.command(placement.OpJoinVnode)
	cmd.Node = &Node{ID: node}
	r, err := moveResult(c.proposePlacement(ctx, cmd))
	if err != nil {
		return Vnode{}, 0, err
	}
	return *r.Vnode, r.Version, nil
}

// PromoteVnode makes the joining vnode a full member and removes the vnode remove (0: none) from
// the set; it returns the placement version after the command.
func (c *Client) PromoteVnode(ctx context.Context, m VnodeMove, vnode, remove uint64) (uint64, error) {
	cmd := m.command(placement.OpPromoteVnode)
	cmd.VnodeID, cmd.RemoveVnodeID = vnode, remove
	r, err := moveResult(c.proposePlacement(ctx, cmd))
	return r.Version, err
}

// AbortVnode removes a joining vnode from its set.
func (c *Client) AbortVnode(ctx context.Context, m VnodeMove, vnode uint64) (uint64, error) {
	cmd := m.command(placement.OpAbortVnode)
	cmd.VnodeID = vnode
	r, err := moveResult(c.proposePlacement(ctx, cmd))
	return r.Version, err
}

// SetNodeDraining sets whether new buckets may place vnodes on a node.
func (c *Client) SetNodeDraining(ctx context.Context, id uint64, draining bool) error {
	_, err := moveResult(c.proposePlacement(ctx, placement.Command{Op: placement.OpDrainNode, Node: &Node{ID: id}, Draining: draining}))
	return err
}

// RemoveNode forgets a node that holds no vnode (ErrConflict while it does).
func (c *Client) RemoveNode(ctx context.Context, id uint64) error {
	_, err := moveResult(c.proposePlacement(ctx, placement.Command{Op: placement.OpRemoveNode, Node: &Node{ID: id}}))
	return err
}

// CachedDraining returns the nodes the cached placement holds draining.
func (c *Client) CachedDraining() map[uint64]bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return maps.Clone(c.placement.Draining)
}

// CachedPlacementVersion is the version of the cached placement.
func (c *Client) CachedPlacementVersion() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.placement.Version
}

// SyncPlacementTo waits until the cached placement is at least version v (and at least a
// linearizable read of the shard's version).
func (c *Client) SyncPlacementTo(ctx context.Context, v uint64) error {
	if err := c.SyncPlacement(ctx); err != nil {
		return err
	}
	if !c.placementAtLeast(v) {
		return fmt.Errorf("%w: placement version %d is beyond the shard's %d", ErrInvalid, v, c.CachedPlacementVersion())
	}
	return nil
}
