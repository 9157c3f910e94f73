package placement

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/meta/model"
)

func TestBucketRange(t *testing.T) {
	cases := []struct{ ts, d, start, end int64 }{
		{0, 10, 0, 10},
		{9, 10, 0, 10},
		{10, 10, 10, 20},
		{-1, 10, -10, 0},
		{-10, 10, -10, 0},
		{-11, 10, -20, -10},
		{math.MaxInt64, 10, math.MaxInt64 - 7, math.MaxInt64}, // MaxInt64 = ...807: floor to ...800
		{math.MinInt64, 8, math.MinInt64, math.MinInt64 + 8},
		// A day-long bucket at the very start: floor(ts/d)*d is below MinInt64 (it used to wrap
		// to a bucket whose start was after its end).
		{math.MinInt64, 86400e9, math.MinInt64, math.MinInt64 + 86400e9},
		{math.MinInt64 + 5, 86400e9, math.MinInt64, math.MinInt64 + 86400e9},
	}
	for _, c := range cases {
		s, e := BucketRange(c.ts, c.d)
		require.Equal(t, [2]int64{c.start, c.end}, [2]int64{s, e}, "BucketRange(%d, %d)", c.ts, c.d)
	}
}

func nodes(s *State, ids ...uint64) {
	for _, id := range ids {
		Apply(s, Command{Op: OpRegisterNode, Node: &model.Node{ID: id}})
	}
}

func opts(d int64, shards, rf int) *BucketOptions {
	return &BucketOptions{Duration: d, ShardCount: shards, ReplicationFactor: rf}
}

func TestCreateBucketPlacement(t *testing.T) {
	s := New()
	nodes(s, 30, 10, 20) // registered out of order: placement uses ID order
	require.Equal(t, uint64(3), s.Version)
	r := Apply(s, Command{Op: OpCreateBucket, Tenant: "t", DB: "d", TS: 25, Options: opts(10, 2, 2)})
	require.Equal(t, CodeCreated, r.Code)
	want := model.Bucket{ID: 1, Tenant: "t", DB: "d", Start: 20, End: 30, ReplicaSets: []model.ReplicaSet{
		{ID: 2, Vnodes: []model.Vnode{{ID: 3, NodeID: 10}, {ID: 4, NodeID: 20}}},
		{ID: 5, Vnodes: []model.Vnode{{ID: 6, NodeID: 20}, {ID: 7, NodeID: 30}}},
	}}
	require.Equal(t, &want, r.Bucket)
	require.Equal(t, uint64(4), r.Version)

	// idempotent: any ts in the range returns the same bucket and changes nothing
	r = Apply(s, Command{Op: OpCreateBucket, Tenant: "t", DB: "d", TS: 20, Options: opts(10, 2, 2)})
	require.Equal(t, CodeExists, r.Code)
	require.Equal(t, &want, r.Bucket)
	require.Equal(t, uint64(4), s.Version)

	// the next bucket starts where the cursor stopped (2 replica sets later) and wraps around
	r = Apply(s, Command{Op: OpCreateBucket, Tenant: "t", DB: "d", TS: -5, Options: opts(10, 1, 3)})
	require.Equal(t, CodeCreated, r.Code)
	require.Equal(t, int64(-10), r.Bucket.Start)
	require.Equal(t, []model.Vnode{{ID: 10, NodeID: 30}, {ID: 11, NodeID: 10}, {ID: 12, NodeID: 20}},
		r.Bucket.ReplicaSets[0].Vnodes)

	// buckets of another database are independent
	r = Apply(s, Command{Op: OpCreateBucket, Tenant: "t", DB: "other", TS: 25, Options: opts(10, 1, 1)})
	require.Equal(t, CodeCreated, r.Code)
	require.Equal(t, uint64(13), r.Bucket.ID)

	v, _ := s.Lookup(BucketsInQuery{Tenant: "t", DB: "d", MinTS: math.MinInt64, MaxTS: math.MaxInt64})
	bs := v.([]model.Bucket)
	require.Len(t, bs, 2)
	require.Equal(t, int64(-10), bs[0].Start)
	require.Equal(t, int64(20), bs[1].Start)
}

func TestCreateBucketClipsToNeighbours(t *testing.T) {
	s := New()
	nodes(s, 1)
	Apply(s, Command{Op: OpCreateBucket, Tenant: "t", DB: "d", TS: 5, Options: opts(10, 1, 1)})  // [0,10)
	Apply(s, Command{Op: OpCreateBucket, Tenant: "t", DB: "d", TS: 25, Options: opts(10, 1, 1)}) // [20,30)
	// a later, longer duration must not overlap the existing buckets
	r := Apply(s, Command{Op: OpCreateBucket, Tenant: "t", DB: "d", TS: 15, Options: opts(100, 1, 1)})
	require.Equal(t, CodeCreated, r.Code)
	require.Equal(t, [2]int64{10, 20}, [2]int64{r.Bucket.Start, r.Bucket.End})
}

func TestApplyErrors(t *testing.T) {
	cases := []struct {
		name string
		cmd  Command
		code Code
	}{
		{"register zero id", Command{Op: OpRegisterNode, Node: &model.Node{}}, CodeInvalid},
		{"register nil", Command{Op: OpRegisterNode}, CodeInvalid},
		{"not enough nodes", Command{Op: OpCreateBucket, Tenant: "t", DB: "d", Options: opts(10, 1, 3)}, CodeNotEnoughNodes},
		{"no options", Command{Op: OpCreateBucket, Tenant: "t", DB: "d"}, CodeInvalid},
		{"zero duration", Command{Op: OpCreateBucket, Tenant: "t", DB: "d", Options: opts(0, 1, 1)}, CodeInvalid},
		{"zero shards", Command{Op: OpCreateBucket, Tenant: "t", DB: "d", Options: opts(10, 0, 1)}, CodeInvalid},
		{"zero rf", Command{Op: OpCreateBucket, Tenant: "t", DB: "d", Options: opts(10, 1, 0)}, CodeInvalid},
		{"no db", Command{Op: OpCreateBucket, Tenant: "t", Options: opts(10, 1, 1)}, CodeInvalid},
		{"expired", Command{Op: OpCreateBucket, Tenant: "t", DB: "d", TS: 5, Now: 100,
			Options: &BucketOptions{Duration: 10, ShardCount: 1, ReplicationFactor: 1, TTL: 50}}, CodeExpired},
		{"drop missing bucket", Command{Op: OpDropBucket, Tenant: "t", DB: "d", BucketID: 99}, CodeNotFound},
		{"drop buckets of empty db", Command{Op: OpDropBuckets, Tenant: "t", DB: "zz"}, CodeOK},
		{"unknown op", Command{Op: "x"}, CodeInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := New()
			nodes(s, 1, 2)
			r := Apply(s, tc.cmd)
			require.Equal(t, tc.code, r.Code, r.Message)
			require.Equal(t, uint64(2), s.Version, "a failed or empty command must not bump the version")
		})
	}
}

func TestTTLKeepsRecentBucket(t *testing.T) {
	s := New()
	nodes(s, 1)
	// [50,60) ends after now-ttl = 55: still allowed
	r := Apply(s, Command{Op: OpCreateBucket, Tenant: "t", DB: "d", TS: 55, Now: 105,
		Options: &BucketOptions{Duration: 10, ShardCount: 1, ReplicationFactor: 1, TTL: 50}})
	require.Equal(t, CodeCreated, r.Code)
}

func TestRegisterNodeUpdates(t *testing.T) {
	s := New()
	Apply(s, Command{Op: OpRegisterNode, Node: &model.Node{ID: 1, MongoAddr: "a"}, Now: 1})
	r := Apply(s, Command{Op: OpRegisterNode, Node: &model.Node{ID: 1, MongoAddr: "a"}, Now: 2})
	require.Equal(t, CodeOK, r.Code)
	require.Equal(t, uint64(1), s.Version, "unchanged re-registration")
	Apply(s, Command{Op: OpRegisterNode, Node: &model.Node{ID: 1, MongoAddr: "b"}, Now: 3})
	require.Equal(t, uint64(2), s.Version)
	require.Equal(t, NodeRecord{Node: model.Node{ID: 1, MongoAddr: "b"}, RegisteredAt: 1, UpdatedAt: 3}, s.Nodes[0])
	v, _ := s.Lookup(NodesQuery{})
	require.Equal(t, []model.Node{{ID: 1, MongoAddr: "b"}}, v)
}

func TestDropAndExpired(t *testing.T) {
	s := New()
	nodes(s, 1)
	for _, ts := range []int64{5, 15, 25} {
		Apply(s, Command{Op: OpCreateBucket, Tenant: "t", DB: "d", TS: ts, Options: opts(10, 1, 1)})
	}
	v, _ := s.Lookup(ExpiredBucketsQuery{Tenant: "t", DB: "d", Before: 20})
	exp := v.([]model.Bucket)
	require.Len(t, exp, 2)
	require.Equal(t, int64(10), exp[1].Start)
	v, _ = s.Lookup(BucketsInQuery{Tenant: "t", DB: "d", MinTS: 10, MaxTS: 20})
	require.Len(t, v.([]model.Bucket), 2, "closed range [10,20] touches [10,20) and [20,30)")

	r := Apply(s, Command{Op: OpDropBucket, Tenant: "t", DB: "d", BucketID: exp[0].ID})
	require.Equal(t, CodeOK, r.Code)
	require.Equal(t, exp[0], *r.Bucket)
	r = Apply(s, Command{Op: OpDropBuckets, Tenant: "t", DB: "d"})
	require.Equal(t, CodeOK, r.Code)
	require.Len(t, r.Dropped, 2)
	v, _ = s.Lookup(BucketsInQuery{Tenant: "t", DB: "d", MinTS: math.MinInt64, MaxTS: math.MaxInt64})
	require.Empty(t, v)
	require.Empty(t, s.Buckets)
}

// TestNodeState: a node reported down is dated by the first report, shows in the View, and is up
// again after an up report or a registration (a node registers when it starts); unknown nodes
// are not found.
func TestNodeState(t *testing.T) {
	s := New()
	nodes(s, 1, 2)
	v0 := s.Version
	require.Equal(t, CodeOK, Apply(s, Command{Op: OpNodeState, Node: &model.Node{ID: 2}, Down: true, Now: 100}).Code)
	require.Equal(t, CodeOK, Apply(s, Command{Op: OpNodeState, Node: &model.Node{ID: 2}, Down: true, Now: 200}).Code)
	require.Equal(t, v0+1, s.Version, "a second down report changes nothing")
	require.EqualValues(t, 100, s.Nodes[1].DownSince)
	view, _ := s.Lookup(ViewQuery{})
	require.Equal(t, map[uint64]int64{2: 100}, view.(View).DownSince)

	require.Equal(t, CodeOK, Apply(s, Command{Op: OpNodeState, Node: &model.Node{ID: 2}, Now: 300}).Code)
	require.Zero(t, s.Nodes[1].DownSince)
	require.Equal(t, v0+2, s.Version)
	Apply(s, Command{Op: OpNodeState, Node: &model.Node{ID: 2}, Down: true, Now: 400})
	require.Equal(t, CodeOK, Apply(s, Command{Op: OpRegisterNode, Node: &model.Node{ID: 2}, Now: 500}).Code)
	require.Zero(t, s.Nodes[1].DownSince, "a node that registers is up")
	view, _ = s.Lookup(ViewQuery{})
	require.Empty(t, view.(View).DownSince)

	require.Equal(t, CodeNotFound, Apply(s, Command{Op: OpNodeState, Node: &model.Node{ID: 9}, Down: true}).Code)
	require.Equal(t, CodeInvalid, Apply(s, Command{Op: OpNodeState, Down: true}).Code)
}

// TestCreateBucketAvoidsDownNodes: new vnodes go to nodes that are up when enough are, and to
// every node when not (their writes reach a down node as hints).
func TestCreateBucketAvoidsDownNodes(t *testing.T) {
	s := New()
	nodes(s, 1, 2, 3, 4)
	Apply(s, Command{Op: OpNodeState, Node: &model.Node{ID: 3}, Down: true, Now: 1})
	for ts := int64(0); ts < 100; ts += 10 {
		r := Apply(s, Command{Op: OpCreateBucket, Tenant: "t", DB: "d", TS: ts, Options: opts(10, 2, 3)})
		require.Equal(t, CodeCreated, r.Code)
		for _, rs := range r.Bucket.ReplicaSets {
			for _, v := range rs.Vnodes {
				require.NotEqual(t, uint64(3), v.NodeID, "a vnode placed on the down node")
			}
		}
	}
	Apply(s, Command{Op: OpNodeState, Node: &model.Node{ID: 4}, Down: true, Now: 2})
	r := Apply(s, Command{Op: OpCreateBucket, Tenant: "t", DB: "d", TS: 500, Options: opts(10, 1, 3)})
	require.Equal(t, CodeCreated, r.Code, "two nodes up of three needed: placed on every node")
	seen := map[uint64]bool{}
	for _, v := range r.Bucket.ReplicaSets[0].Vnodes {
		seen[v.NodeID] = true
	}
	require.Len(t, seen, 3, "still three distinct nodes")
}

// TestCreateBucketSpreadsZones: with zones, every replica set spreads over as many zones as it
// has replicas (or as there are zones); without zones, the placement is the consecutive ring
// windows it always was (old Raft logs replay to the same buckets).
func TestCreateBucketSpreadsZones(t *testing.T) {
	zoned := func(zones ...string) *State {
		s := New()
		for i, z := range zones {
			n := model.Node{ID: uint64(i + 1), Role: "dnode", Zone: z}
			Apply(s, Command{Op: OpRegisterNode, Node: &n})
		}
		return s
	}
	zoneOf := func(s *State, id uint64) string {
		for _, r := range s.Nodes {
			if r.Node.ID == id {
				return r.Node.Zone
			}
		}
		t.Fatalf("node %d", id)
		return ""
	}
	for _, c := range []struct {
		zones []string
		rf    int
		want  int // distinct zones in every replica set
	}{
		{[]string{"a", "a", "a", "b"}, 2, 2},
		{[]string{"a", "a", "b", "b", "c", "c"}, 3, 3},
		{[]string{"a", "b", "a", "b", "a", "b"}, 3, 2},
		{[]string{"a", "a", "a"}, 2, 1},
	} {
		s := zoned(c.zones...)
		for ts := int64(0); ts < 40; ts += 10 {
			r := Apply(s, Command{Op: OpCreateBucket, Tenant: "t", DB: "d", TS: ts, Options: opts(10, 3, c.rf)})
			require.Equal(t, CodeCreated, r.Code)
			for _, rs := range r.Bucket.ReplicaSets {
				nodes, zones := map[uint64]bool{}, map[string]bool{}
				for _, v := range rs.Vnodes {
					nodes[v.NodeID] = true
					zones[zoneOf(s, v.NodeID)] = true
				}
				require.Len(t, nodes, c.rf, "%v: distinct nodes", c.zones)
				require.Len(t, zones, c.want, "%v: zones of %v", c.zones, rs.Vnodes)
			}
		}
	}
	// no zones: vnode j of replica set i on node (cursor + i + j) mod n
	s := zoned("", "", "", "", "")
	cursor := s.Cursor
	r := Apply(s, Command{Op: OpCreateBucket, Tenant: "t", DB: "d", TS: 0, Options: opts(10, 4, 3)})
	require.Equal(t, CodeCreated, r.Code)
	for i, rs := range r.Bucket.ReplicaSets {
		for j, v := range rs.Vnodes {
			require.Equal(t, uint64((cursor+uint64(i)+uint64(j))%5+1), v.NodeID, "set %d vnode %d", i, j)
		}
	}
}
