// Package actorstest holds test helpers for the actor packages: an in-memory Placement that creates
// buckets on demand the way the meta placement shard does.
package actorstest

import (
	"context"
	"fmt"
	"math"
	"sort"
	"sync"

	"github.com/chronogo/chronogo/meta"
)

// MemPlacement is an in-memory actors.Placement. Buckets cover [k*Duration, (k+1)*Duration); each
// has ShardCount replica sets with one vnode per node in NodeIDs (the replication factor is
// len(NodeIDs)), or on the nodes Replicas chooses. Vnode, replica set and bucket ids are allocated from one counter.
type MemPlacement struct {
	mu      sync.Mutex
	dbs     map[string]meta.Database
	nodes   map[uint64]meta.Node
	buckets map[string]map[int64]meta.Bucket // tenant/db -> bucket start -> bucket
	nextID  uint64
	// NodeIDs are the nodes every replica set is placed on, in order.
	NodeIDs []uint64
	// Replicas, when set, places replica set rs (0-based) of the new bucket starting at start on
	// the returned nodes, in order, instead of NodeIDs. Set it before the first write.
	Replicas func(start int64, rs int) []uint64
}

// NewMemPlacement returns a placement with the given nodes (replicas go on every one of them).
func NewMemPlacement(nodes ...meta.Node) *MemPlacement {
	p := &MemPlacement{dbs: map[string]meta.Database{}, nodes: map[uint64]meta.Node{}, buckets: map[string]map[int64]meta.Bucket{}, nextID: 1}
	for _, n := range nodes {
		p.nodes[n.ID] = n
		p.NodeIDs = append(p.NodeIDs, n.ID)
	}
	return p
}

// SetNode adds or replaces a node (its address may only be known once it runs).
func (p *MemPlacement) SetNode(n meta.Node) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.nodes[n.ID] = n
}

// Nodes lists the nodes by id (as meta.Client.CachedNodes does; liveness.Config.Peers).
func (p *MemPlacement) Nodes() []meta.Node {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]meta.Node, 0, len(p.nodes))
	for _, n := range p.nodes {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// AddDatabase registers a database.
func (p *MemPlacement) AddDatabase(db meta.Database) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dbs[db.Tenant+"/"+db.Name] = db
}

// Database implements actors.Placement.
func (p *MemPlacement) Database(_ context.Context, tenant, db string) (meta.Database, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	d, ok := p.dbs[tenant+"/"+db]
	if !ok {
		return meta.Database{}, fmt.Errorf("database %s/%s not found", tenant, db)
	}
	return d, nil
}

// Node implements actors.Placement.
func (p *MemPlacement) Node(_ context.Context, id uint64) (meta.Node, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n, ok := p.nodes[id]
	if !ok {
		return meta.Node{}, fmt.Errorf("node %d not found", id)
	}
	return n, nil
}

// BucketFor implements actors.Placement.
func (p *MemPlacement) BucketFor(_ context.Context, tenant, db string, ts int64) (meta.Bucket, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	d, ok := p.dbs[tenant+"/"+db]
	if !ok {
		return meta.Bucket{}, fmt.Errorf("database %s/%s not found", tenant, db)
	}
	start := ts - ((ts%d.BucketDuration)+d.BucketDuration)%d.BucketDuration
	key := tenant + "/" + db
	if p.buckets[key] == nil {
		p.buckets[key] = map[int64]meta.Bucket{}
	}
	if b, ok := p.buckets[key][start]; ok {
		return b, nil
	}
	b := meta.Bucket{ID: p.alloc(), Tenant: tenant, DB: db, Start: start, End: start + d.BucketDuration}
	for i := range max(d.ShardCount, 1) {
		rs := meta.ReplicaSet{ID: p.alloc()}
		nodes := p.NodeIDs
		if p.Replicas != nil {
			nodes = p.Replicas(start, i)
		}
		for _, n := range nodes {
			rs.Vnodes = append(rs.Vnodes, meta.Vnode{ID: p.alloc(), NodeID: n})
		}
		b.ReplicaSets = append(b.ReplicaSets, rs)
	}
	p.buckets[key][start] = b
	return b, nil
}

func (p *MemPlacement) alloc() uint64 {
	id := p.nextID
	p.nextID++
	return id
}

// BucketsIn implements actors.Placement.
func (p *MemPlacement) BucketsIn(_ context.Context, tenant, db string, minTs, maxTs int64) ([]meta.Bucket, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []meta.Bucket
	for _, b := range p.buckets[tenant+"/"+db] {
		if b.Start <= maxTs && b.End > minTs {
			out = append(out, b)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Start < out[j].Start })
	return out, nil
}

// AllBuckets lists every bucket of a database (node.BucketLister).
func (p *MemPlacement) AllBuckets(ctx context.Context, tenant, db string) ([]meta.Bucket, error) {
	return p.BucketsIn(ctx, tenant, db, math.MinInt64, math.MaxInt64)
}

// DropBuckets forgets every bucket of a database (a dropped database).
func (p *MemPlacement) DropBuckets(tenant, db string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.buckets, tenant+"/"+db)
}

// SetBucket adds or replaces a bucket of a database (a vnode move in tests).
func (p *MemPlacement) SetBucket(b meta.Bucket) {
	p.mu.Lock()
	defer p.mu.Unlock()
	key := b.Tenant + "/" + b.DB
	if p.buckets[key] == nil {
		p.buckets[key] = map[int64]meta.Bucket{}
	}
	p.buckets[key][b.Start] = b
}
