package placement

import (
	"math"
	"slices"

	"github.com/chronogo/chronogo/meta/model"
)

// State is the whole placement. Nodes are sorted by ID and each database's buckets by Start, so the
// JSON snapshot is canonical.
type State struct {
	// Version counts mutations.
	Version uint64 `json:"version"`
	// LastID is the last id handed out; buckets, replica sets and vnodes share this one sequence.
	LastID uint64 `json:"last_id"`
	// Cursor rotates the first node of each placement so replica sets spread over the nodes.
	Cursor uint64       `json:"cursor"`
	Nodes  []NodeRecord `json:"nodes"`
	// Buckets maps dbKey(tenant, db) to that database's buckets sorted by Start.
	Buckets map[string][]model.Bucket `json:"buckets"`
	// Plain maps dbKey(tenant, db) to the plain shard of that database, once it has one.
	Plain map[string]model.PlainShard `json:"plain,omitempty"`
}

// NodeRecord is a registered node, when it registered, and since when it is seen down (0: up).
type NodeRecord struct {
	Node         model.Node `json:"node"`
	RegisteredAt int64      `json:"registered_at"`
	UpdatedAt    int64      `json:"updated_at"`
	DownSince    int64      `json:"down_since,omitempty"`
	// Draining: the node is being emptied (ctl drain); new buckets place no vnode on it.
	Draining bool `json:"draining,omitempty"`
}

// New returns an empty placement.
func New() *State {
	return &State{Nodes: []NodeRecord{}, Buckets: map[string][]model.Bucket{}}
}

// dbKey joins tenant and database with a byte neither may contain.
func dbKey(tenant, db string) string { return tenant + "\x00" + db }

// BucketRange returns the [start, end) of the bucket of the given duration covering ts:
// start = floor(ts / duration) * duration, rounding toward -inf for negative ts. End saturates
// at MaxInt64.
func BucketRange(ts, duration int64) (start, end int64) {
	q := ts / duration
	if ts%duration != 0 && ts < 0 {
		q--
	}
	if q < math.MinInt64/duration {
		return math.MinInt64, math.MinInt64 + duration // the first bucket; q*duration would wrap
	}
	start = q * duration
	if start > math.MaxInt64-duration {
		return start, math.MaxInt64
	}
	return start, start + duration
}

// FindBucket returns the index of the bucket covering ts in bs (sorted by Start, not overlapping)
// and true, or where such a bucket would be inserted and false.
func FindBucket(bs []model.Bucket, ts int64) (int, bool) {
	i, _ := slices.BinarySearchFunc(bs, ts, func(b model.Bucket, ts int64) int {
		switch {
		case b.End <= ts:
			return -1
		case b.Start > ts:
			return 1
		}
		return 0
	})
	return i, i < len(bs) && bs[i].Start <= ts && ts < bs[i].End
}

// cloneBucket deep-copies a bucket.
func cloneBucket(b model.Bucket) model.Bucket {
	out := b
	out.ReplicaSets = make([]model.ReplicaSet, len(b.ReplicaSets))
	for i, rs := range b.ReplicaSets {
		out.ReplicaSets[i] = model.ReplicaSet{ID: rs.ID, Vnodes: slices.Clone(rs.Vnodes)}
	}
	return out
}

// cloneBuckets deep-copies a bucket list.
func cloneBuckets(bs []model.Bucket) []model.Bucket {
	out := make([]model.Bucket, len(bs))
	for i, b := range bs {
		out[i] = cloneBucket(b)
	}
	return out
}
