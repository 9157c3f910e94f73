package placement

import (
	"fmt"
	"math"
	"slices"

	"github.com/chronogo/chronogo/meta/model"
)

// Apply applies one command to s and returns its outcome. It is deterministic: no clock, no
// randomness, nodes taken in ID order; `now` arrives in the command. Every command that changes s
// bumps s.Version; the result carries the version after the command.
func Apply(s *State, c Command) Result {
	r := apply(s, c)
	r.Version = s.Version
	return r
}

// apply dispatches on the op.
func apply(s *State, c Command) Result {
	switch c.Op {
	case OpRegisterNode:
		return registerNode(s, c)
	case OpCreateBucket:
		return createBucket(s, c)
	case OpDropBucket:
		return dropBucket(s, c)
	case OpDropBuckets:
		return dropBuckets(s, c)
	case OpNodeState:
		return nodeState(s, c)
	case OpJoinVnode:
		return joinVnode(s, c)
	case OpPromoteVnode:
		return promoteVnode(s, c)
	case OpAbortVnode:
		return abortVnode(s, c)
	case OpDrainNode:
		return drainNode(s, c)
	case OpRemoveNode:
		return removeNode(s, c)
	case OpCreatePlainShard:
		return createPlainShard(s, c)
	case OpDropPlainShard:
		return dropPlainShard(s, c)
	case OpJoinPlainReplica:
		return joinPlainReplica(s, c)
	case OpMovePlainReplica:
		return movePlainReplica(s, c)
	}
	return invalid("unknown op %q", c.Op)
}

// invalid builds a CodeInvalid result.
func invalid(format string, args ...any) Result {
	return Result{Code: CodeInvalid, Message: fmt.Sprintf(format, args...)}
}

// registerNode adds a node or updates its addresses and role, and marks it up. Re-registering an
// unchanged node that is up changes nothing.
func registerNode(s *State, c Command) Result {
	if c.Node == nil || c.Node.ID == 0 {
		return invalid("node id is zero")
	}
	i, found := slices.BinarySearchFunc(s.Nodes, c.Node.ID, func(r NodeRecord, id uint64) int {
		switch {
		case r.Node.ID < id:
			return -1
		case r.Node.ID > id:
			return 1
		}
		return 0
	})
	if found {
		if s.Nodes[i].Node == *c.Node && s.Nodes[i].DownSince == 0 {
			return Result{Code: CodeOK}
		}
		// a node registers when it starts: it is up
		s.Nodes[i].Node, s.Nodes[i].UpdatedAt, s.Nodes[i].DownSince = *c.Node, c.Now, 0
	} else {
		s.Nodes = slices.Insert(s.Nodes, i, NodeRecord{Node: *c.Node, RegisteredAt: c.Now, UpdatedAt: c.Now})
	}
	s.Version++
	return Result{Code: CodeOK}
}

// nodeState marks a registered node down since Now, or up. A node already in that state is left
// as it is (the first report of a down node dates it).
func nodeState(s *State, c Command) Result {
	if c.Node == nil || c.Node.ID == 0 {
		return invalid("node id is zero")
	}
	i := slices.IndexFunc(s.Nodes, func(r NodeRecord) bool { return r.Node.ID == c.Node.ID })
	if i < 0 {
		return Result{Code: CodeNotFound, Message: fmt.Sprintf("node %d is not registered", c.Node.ID)}
	}
	r := &s.Nodes[i]
	switch {
	case c.Down && r.DownSince == 0:
		r.DownSince = max(c.Now, 1)
	case !c.Down && r.DownSince != 0:
		r.DownSince = 0
	default:
		return Result{Code: CodeOK}
	}
	s.Version++
	return Result{Code: CodeOK}
}

// placeable are the nodes new vnodes go to: the nodes that are up when there are enough of them
// for the replication factor, else every node (a replica on a down node gets its writes as hints).
func placeable(s *State, rf int) []NodeRecord {
	up := make([]NodeRecord, 0, len(s.Nodes))
	active := make([]NodeRecord, 0, len(s.Nodes))
	for _, r := range s.Nodes {
		if r.Draining {
			continue
		}
		active = append(active, r)
		if r.DownSince == 0 {
			up = append(up, r)
		}
	}
	if len(up) >= rf {
		return up
	}
	if len(active) >= rf {
		return active
	}
	return s.Nodes
}

// createBucket returns the bucket covering TS, creating it when missing: [start, end) from
// BucketRange (clipped to its neighbours so buckets never overlap), ShardCount replica sets of
// ReplicationFactor vnodes. Replica set i places its vnodes on distinct nodes of the ring of
// placeable nodes sorted by ID, from node (Cursor + i) mod n on, preferring zones the set does not
// use yet (pickReplicas; without zones vnode j is on node (Cursor + i + j) mod n); Cursor then
// advances by ShardCount.
// Ids come from LastID in order: bucket, then per replica set its id and its vnodes'.
func createBucket(s *State, c Command) Result {
	o := c.Options
	switch {
	case c.DB == "" || c.Tenant == "":
		return invalid("tenant or database is empty")
	case o == nil:
		return invalid("bucket options are missing")
	case o.Duration <= 0:
		return invalid("bucket duration %d; want > 0", o.Duration)
	case o.ShardCount < 1:
		return invalid("shard count %d; want >= 1", o.ShardCount)
	case o.ReplicationFactor < 1:
		return invalid("replication factor %d; want >= 1", o.ReplicationFactor)
	case o.TTL < 0:
		return invalid("ttl %d; want >= 0", o.TTL)
	}
	key := dbKey(c.Tenant, c.DB)
	bs := s.Buckets[key]
	i, found := FindBucket(bs, c.TS)
	if found {
		b := cloneBucket(bs[i])
		return Result{Code: CodeExists, Bucket: &b}
	}
	start, end := BucketRange(c.TS, o.Duration)
	if o.TTL > 0 && c.Now > math.MinInt64+o.TTL && end <= c.Now-o.TTL {
		return Result{Code: CodeExpired, Message: fmt.Sprintf("bucket [%d, %d) is older than the ttl", start, end)}
	}
	if len(s.Nodes) < o.ReplicationFactor {
		return Result{Code: CodeNotEnoughNodes,
			Message: fmt.Sprintf("%d nodes registered; replication factor %d", len(s.Nodes), o.ReplicationFactor)}
	}
	if i > 0 && bs[i-1].End > start {
		start = bs[i-1].End
	}
	if i < len(bs) && bs[i].Start < end {
		end = bs[i].Start
	}
	b := model.Bucket{ID: s.nextID(), Tenant: c.Tenant, DB: c.DB, Start: start, End: end,
		ReplicaSets: make([]model.ReplicaSet, o.ShardCount)}
	nodes := placeable(s, o.ReplicationFactor)
	for rs := range b.ReplicaSets {
		set := model.ReplicaSet{ID: s.nextID(), Vnodes: make([]model.Vnode, o.ReplicationFactor)}
		for j, node := range pickReplicas(nodes, s.Cursor+uint64(rs), o.ReplicationFactor) {
			set.Vnodes[j] = model.Vnode{ID: s.nextID(), NodeID: node}
		}
		b.ReplicaSets[rs] = set
	}
	s.Cursor += uint64(o.ShardCount)
	s.Buckets[key] = slices.Insert(bs, i, b)
	s.Version++
	out := cloneBucket(b)
	return Result{Code: CodeCreated, Bucket: &out}
}

// pickReplicas chooses rf distinct nodes for a replica set, walking the ring of nodes from start:
// each pick is the next node of a zone the set does not use yet, or, when every zone is used,
// the next node. Without zones (or with one) that is rf consecutive nodes of the ring.
func pickReplicas(nodes []NodeRecord, start uint64, rf int) []uint64 {
	n := uint64(len(nodes))
	taken := make([]bool, n)
	zones := map[string]bool{}
	out := make([]uint64, 0, rf)
	for len(out) < rf {
		pick := -1
		for k := uint64(0); k < n; k++ {
			i := int((start + k) % n)
			if taken[i] {
				continue
			}
			if pick < 0 {
				pick = i // the next free node, if no new zone turns up
			}
			if !zones[nodes[i].Node.Zone] {
				pick = i
				break
			}
		}
		taken[pick] = true
		zones[nodes[pick].Node.Zone] = true
		out = append(out, nodes[pick].Node.ID)
	}
	return out
}

// nextID hands out the next id of the shared sequence.
func (s *State) nextID() uint64 {
	s.LastID++
	return s.LastID
}

// dropBucket removes one bucket of a database (TTL expiry).
func dropBucket(s *State, c Command) Result {
	key := dbKey(c.Tenant, c.DB)
	bs := s.Buckets[key]
	i := slices.IndexFunc(bs, func(b model.Bucket) bool { return b.ID == c.BucketID })
	if i < 0 {
		return Result{Code: CodeNotFound}
	}
	b := bs[i]
	bs = slices.Delete(bs, i, i+1)
	if len(bs) == 0 {
		delete(s.Buckets, key)
	} else {
		s.Buckets[key] = bs
	}
	s.Version++
	return Result{Code: CodeOK, Bucket: &b}
}

// dropBuckets removes every bucket of a database (the database was dropped) and lists them.
func dropBuckets(s *State, c Command) Result {
	key := dbKey(c.Tenant, c.DB)
	bs, ok := s.Buckets[key]
	p, hasPlain := s.Plain[key]
	if !ok && !hasPlain {
		return Result{Code: CodeOK}
	}
	delete(s.Buckets, key)
	r := Result{Code: CodeOK, Dropped: bs}
	if hasPlain {
		delete(s.Plain, key)
		r.DroppedPlain = &p
	}
	s.Version++
	return r
}
