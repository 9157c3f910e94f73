package actors

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/chronogo/chronogo/meta"
)

// MetaPlacement routes by the meta client: buckets and nodes come from its cache, kept fresh by
// version watches, and missing buckets are created through Raft. With Linearizable set (a cluster,
// where other nodes create buckets) a read first brings the cache up to a linearizable read of the
// placement version, so it sees every bucket written to before it started.
type MetaPlacement struct {
	C            *meta.Client
	Linearizable bool
}

var _ Placement = MetaPlacement{}

// BucketFor returns (creating if needed) the bucket holding ts.
func (p MetaPlacement) BucketFor(ctx context.Context, tenant, db string, ts int64) (meta.Bucket, error) {
	return p.C.BucketFor(ctx, tenant, db, ts)
}

// BucketsIn returns the buckets overlapping [minTs, maxTs] from the cache (this node's own bucket
// creations refresh it at once; others' within the poll interval, or before the read when
// Linearizable is set).
func (p MetaPlacement) BucketsIn(ctx context.Context, tenant, db string, minTs, maxTs int64) ([]meta.Bucket, error) {
	if p.Linearizable {
		if err := p.C.SyncPlacement(ctx); err != nil {
			return nil, err
		}
	}
	return p.C.CachedBucketsIn(tenant, db, minTs, maxTs), nil
}

// Database returns the database's options.
func (p MetaPlacement) Database(ctx context.Context, tenant, db string) (meta.Database, error) {
	if d, ok := p.C.CachedDatabase(tenant, db); ok {
		return d, nil
	}
	d, ok, err := p.C.GetDatabase(ctx, tenant, db)
	if err != nil {
		return d, err
	}
	if !ok {
		return d, fmt.Errorf("database %s/%s: %w", tenant, db, meta.ErrDatabaseNotFound)
	}
	return d, nil
}

// Node returns a member by id.
func (p MetaPlacement) Node(ctx context.Context, id uint64) (meta.Node, error) {
	for _, n := range p.C.CachedNodes() {
		if n.ID == id {
			return n, nil
		}
	}
	nodes, err := p.C.Nodes(ctx)
	if err != nil {
		return meta.Node{}, err
	}
	for _, n := range nodes {
		if n.ID == id {
			return n, nil
		}
	}
	return meta.Node{}, errors.New("unknown node")
}

// AllBuckets lists every bucket of a database with a linearizable read of the placement shard
// (node.BucketLister: the sweep of dropped buckets must not trust a cache).
func (p MetaPlacement) AllBuckets(ctx context.Context, tenant, db string) ([]meta.Bucket, error) {
	return p.C.BucketsIn(ctx, tenant, db, math.MinInt64, math.MaxInt64)
}

// NotPlaced is in the message of the NOT_OWNER answer of a node to a write, delete or rename for a
// vnode that the placement does not have on it (moved or dropped; actors/vnode/fence.go).
const NotPlaced = "not placed on this node"

// VnodeFence is what a node's vnode manager asks before it takes a write for a vnode: whether the
// placement (as cached: cheap) has the vnode on this node, and to bring the cache up to date
// before it refuses one it does not find.
type VnodeFence interface {
	VnodePlaced(tenant, db string, bucketID, rsID, vnodeID, nodeID uint64) bool
	SyncPlacement(ctx context.Context) error
}

var _ VnodeFence = MetaPlacement{}

// VnodePlaced reports whether the cached placement has the vnode on node nodeID.
func (p MetaPlacement) VnodePlaced(tenant, db string, bucketID, rsID, vnodeID, nodeID uint64) bool {
	return p.C.CachedVnodeOn(tenant, db, bucketID, rsID, vnodeID, nodeID)
}

// SyncPlacement brings the cache up to a linearizable read of the placement.
func (p MetaPlacement) SyncPlacement(ctx context.Context) error { return p.C.SyncPlacement(ctx) }
