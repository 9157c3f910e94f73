package meta

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/chronogo/chronogo/meta/model"
	"github.com/chronogo/chronogo/meta/placement"
)

// proposePlacement proposes a placement command, refreshes the cache and decodes the result.
func (c *Client) proposePlacement(ctx context.Context, cmd placement.Command) (placement.Result, error) {
	cmd.Now = c.now()
	r, err := proposeFor[placement.Result](ctx, c, ShardPlacement, "placement "+string(cmd.Op), cmd)
	if err != nil {
		return r, err
	}
	c.refreshPlacement()
	switch r.Code {
	case placement.CodeNotEnoughNodes:
		return r, fmt.Errorf("placement %s: %w: %s", cmd.Op, ErrNotEnoughNodes, r.Message)
	case placement.CodeExpired:
		return r, fmt.Errorf("placement %s: %w: %s", cmd.Op, ErrBucketExpired, r.Message)
	case placement.CodeInvalid:
		return r, fmt.Errorf("placement %s: %w: %s", cmd.Op, ErrInvalid, r.Message)
	}
	return r, nil
}

// RegisterNode records a node (or updates its addresses); nodes are where vnodes get placed.
func (c *Client) RegisterNode(ctx context.Context, n Node) error {
	_, err := c.proposePlacement(ctx, placement.Command{Op: placement.OpRegisterNode, Node: &n})
	return err
}

// Nodes lists the registered nodes sorted by id (linearizable).
func (c *Client) Nodes(ctx context.Context) ([]Node, error) {
	v, err := c.read(ctx, ShardPlacement, placement.NodesQuery{})
	if err != nil {
		return nil, fmt.Errorf("listing nodes: %w", err)
	}
	return v.([]Node), nil
}

// BucketFor returns the bucket of a database covering ts: from the cache when it has one, else
// it proposes CreateBucket (idempotent) with the database's options (ErrDatabaseNotFound,
// ErrNotEnoughNodes, ErrBucketExpired).
func (c *Client) BucketFor(ctx context.Context, tenant, db string, ts int64) (Bucket, error) {
	if b, ok := c.cachedBucket(tenant, db, ts); ok {
		return b, nil
	}
	return c.CreateBucket(ctx, tenant, db, ts)
}

// CreateBucket returns the bucket covering ts, creating it when missing; the database's options
// come from the cache, or a linearizable read when the cache does not know the database yet.
func (c *Client) CreateBucket(ctx context.Context, tenant, db string, ts int64) (Bucket, error) {
	opts, ok := c.CachedDatabase(tenant, db)
	if !ok {
		var err error
		if opts, ok, err = c.GetDatabase(ctx, tenant, db); err != nil {
			return Bucket{}, err
		}
		if !ok {
			return Bucket{}, fmt.Errorf("creating bucket in %s.%s: %w", tenant, db, ErrDatabaseNotFound)
		}
	}
	r, err := c.proposePlacement(ctx, placement.Command{Op: placement.OpCreateBucket, Tenant: tenant, DB: db, TS: ts,
		Options: &placement.BucketOptions{Duration: opts.BucketDuration, ShardCount: opts.ShardCount,
			ReplicationFactor: opts.ReplicationFactor, TTL: opts.TTL}})
	if err != nil {
		return Bucket{}, err
	}
	return *r.Bucket, nil
}

// cachedBucket finds the cached bucket covering ts.
func (c *Client) cachedBucket(tenant, db string, ts int64) (Bucket, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	bs := c.placement.Buckets[placement.DBKey{Tenant: tenant, DB: db}]
	i, found := placement.FindBucket(bs, ts)
	if !found {
		return Bucket{}, false
	}
	return bs[i], true
}

// CachedBucketsIn lists the cached buckets of a database intersecting [minTS, maxTS] (hot read
// path; the ReplicaSets are shared with the cache: do not modify them).
func (c *Client) CachedBucketsIn(tenant, db string, minTS, maxTS int64) []Bucket {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []Bucket
	for _, b := range c.placement.Buckets[placement.DBKey{Tenant: tenant, DB: db}] {
		if b.Start <= maxTS && b.End > minTS {
			out = append(out, b)
		}
	}
	return out
}

// CachedNodes returns the cached node list.
func (c *Client) CachedNodes() []Node {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return slices.Clone(c.placement.Nodes)
}

// BucketsIn lists the buckets of a database intersecting [minTS, maxTS], sorted by start
// (linearizable).
func (c *Client) BucketsIn(ctx context.Context, tenant, db string, minTS, maxTS int64) ([]Bucket, error) {
	v, err := c.read(ctx, ShardPlacement, placement.BucketsInQuery{Tenant: tenant, DB: db, MinTS: minTS, MaxTS: maxTS})
	if err != nil {
		return nil, fmt.Errorf("listing buckets of %s.%s: %w", tenant, db, err)
	}
	return v.([]Bucket), nil
}

// ExpiredBuckets lists the buckets of a database that end at or before before (linearizable).
func (c *Client) ExpiredBuckets(ctx context.Context, tenant, db string, before int64) ([]Bucket, error) {
	v, err := c.read(ctx, ShardPlacement, placement.ExpiredBucketsQuery{Tenant: tenant, DB: db, Before: before})
	if err != nil {
		return nil, fmt.Errorf("listing expired buckets of %s.%s: %w", tenant, db, err)
	}
	return v.([]Bucket), nil
}

// DropBucket drops one bucket (TTL expiry); it reports false when it did not exist.
func (c *Client) DropBucket(ctx context.Context, tenant, db string, id uint64) (bool, error) {
	r, err := c.proposePlacement(ctx, placement.Command{Op: placement.OpDropBucket, Tenant: tenant, DB: db, BucketID: id})
	return err == nil && r.Code == placement.CodeOK, err
}

// DropBuckets drops every bucket of a database and returns them.
func (c *Client) DropBuckets(ctx context.Context, tenant, db string) ([]Bucket, error) {
	r, err := c.proposePlacement(ctx, placement.Command{Op: placement.OpDropBuckets, Tenant: tenant, DB: db})
	return r.Dropped, err
}

// PlacedDatabase is a database that has buckets or a plain shard in the placement, with their
// ids (PlainShard 0: none).
type PlacedDatabase struct {
	Tenant, DB string
	BucketIDs  []uint64
	PlainShard uint64
}

// PlacedDatabases lists every database that has buckets or a plain shard, as the placement holds
// it now (linearizable: the cache is brought up to the leader's version first).
func (c *Client) PlacedDatabases(ctx context.Context) ([]PlacedDatabase, error) {
	if err := c.SyncPlacement(ctx); err != nil {
		return nil, err
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]PlacedDatabase, 0, len(c.placement.Buckets))
	seen := map[placement.DBKey]bool{}
	for k, bs := range c.placement.Buckets {
		p := PlacedDatabase{Tenant: k.Tenant, DB: k.DB, PlainShard: c.placement.Plain[k].ID}
		for _, b := range bs {
			p.BucketIDs = append(p.BucketIDs, b.ID)
		}
		out = append(out, p)
		seen[k] = true
	}
	for k, ps := range c.placement.Plain {
		if !seen[k] {
			out = append(out, PlacedDatabase{Tenant: k.Tenant, DB: k.DB, PlainShard: ps.ID})
		}
	}
	return out, nil
}

// SetNodeDown reports a node seen down (down) or up again; the first down report dates it.
// A report about a node that is not registered changes nothing.
func (c *Client) SetNodeDown(ctx context.Context, id uint64, down bool) error {
	_, err := c.proposePlacement(ctx, placement.Command{Op: placement.OpNodeState, Node: &Node{ID: id}, Down: down})
	return err
}

// CachedDownSince returns the nodes the cached placement holds down, with since when (unix ns).
func (c *Client) CachedDownSince() map[uint64]int64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return maps.Clone(c.placement.DownSince)
}

// CachedVnodeOn reports whether the cached placement has vnode vnodeID, as a member or joining, in
// replica set rsID of bucket bucketID of the database, on node nodeID (the fence of a node's vnode
// manager: writes to a vnode placed elsewhere are refused).
func (c *Client) CachedVnodeOn(tenant, db string, bucketID, rsID, vnodeID, nodeID uint64) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	rs, ok := model.FindReplicaSet(c.placement.Buckets[placement.DBKey{Tenant: tenant, DB: db}], bucketID, rsID)
	return ok && rs.HasVnode(vnodeID, nodeID)
}
