package placement

import (
	"fmt"

	"github.com/chronogo/chronogo/meta/model"
)

// Queries answered by Lookup. Each returns copies, never memory shared with the state.
type (
	// VersionQuery asks for the shard version (uint64).
	VersionQuery struct{}
	// NodesQuery lists the registered nodes sorted by ID ([]model.Node).
	NodesQuery struct{}
	// BucketsInQuery lists the buckets of a database intersecting the closed range [MinTS, MaxTS],
	// i.e. Start <= MaxTS && End > MinTS, sorted by Start ([]model.Bucket).
	BucketsInQuery struct {
		Tenant, DB   string
		MinTS, MaxTS int64
	}
	// ExpiredBucketsQuery lists the buckets of a database that end at or before Before
	// ([]model.Bucket).
	ExpiredBucketsQuery struct {
		Tenant, DB string
		Before     int64
	}
	// ViewQuery copies every node and bucket for a client cache (View).
	ViewQuery struct{}
)

// View is a copy of the placement at Version; Buckets is keyed by DBKey; DownSince holds the
// nodes seen down (unix ns since when); Draining the nodes being emptied.
type View struct {
	Version   uint64
	Nodes     []model.Node
	Buckets   map[DBKey][]model.Bucket
	DownSince map[uint64]int64
	Draining  map[uint64]bool
	// Plain holds the databases' plain shards.
	Plain map[DBKey]model.PlainShard
}

// DBKey names a database in a View.
type DBKey struct{ Tenant, DB string }

// Lookup answers one of the queries above.
func (s *State) Lookup(q any) (any, error) {
	switch q := q.(type) {
	case VersionQuery:
		return s.Version, nil
	case NodesQuery:
		return s.nodes(), nil
	case BucketsInQuery:
		out := []model.Bucket{}
		for _, b := range s.Buckets[dbKey(q.Tenant, q.DB)] {
			if b.Start <= q.MaxTS && b.End > q.MinTS {
				out = append(out, cloneBucket(b))
			}
		}
		return out, nil
	case ExpiredBucketsQuery:
		out := []model.Bucket{}
		for _, b := range s.Buckets[dbKey(q.Tenant, q.DB)] {
			if b.End <= q.Before {
				out = append(out, cloneBucket(b))
			}
		}
		return out, nil
	case ViewQuery:
		v := View{Version: s.Version, Nodes: s.nodes(), Buckets: make(map[DBKey][]model.Bucket, len(s.Buckets)),
			DownSince: map[uint64]int64{}, Draining: map[uint64]bool{}, Plain: make(map[DBKey]model.PlainShard, len(s.Plain))}
		for _, p := range s.Plain {
			v.Plain[DBKey{Tenant: p.Tenant, DB: p.DB}] = clonePlain(p)
		}
		for _, r := range s.Nodes {
			if r.DownSince != 0 {
				v.DownSince[r.Node.ID] = r.DownSince
			}
			if r.Draining {
				v.Draining[r.Node.ID] = true
			}
		}
		for _, bs := range s.Buckets {
			if len(bs) > 0 {
				v.Buckets[DBKey{Tenant: bs[0].Tenant, DB: bs[0].DB}] = cloneBuckets(bs)
			}
		}
		return v, nil
	}
	return nil, fmt.Errorf("placement: unknown query %T", q)
}

// nodes copies the node list.
func (s *State) nodes() []model.Node {
	out := make([]model.Node, len(s.Nodes))
	for i, r := range s.Nodes {
		out[i] = r.Node
	}
	return out
}
