package placement

import (
	"fmt"
	"slices"

	"github.com/chronogo/chronogo/meta/model"
)

// A vnode moves in three commands: join_vnode adds a joining vnode on the target node (written
// to, not counted, not read); once it holds what the others hold, promote_vnode makes it a full
// member and removes the source vnode (a copy removes none); abort_vnode takes a joining vnode
// back out. drain_node keeps new buckets off a node, and remove_node forgets a node that holds
// no vnode any more.

// findSet returns the bucket and replica set a command names.
func findSet(s *State, c Command) (*model.Bucket, *model.ReplicaSet, *Result) {
	bs := s.Buckets[dbKey(c.Tenant, c.DB)]
	bi := slices.IndexFunc(bs, func(b model.Bucket) bool { return b.ID == c.BucketID })
	if bi < 0 {
		return nil, nil, &Result{Code: CodeNotFound, Message: fmt.Sprintf("bucket %d of %s.%s does not exist", c.BucketID, c.Tenant, c.DB)}
	}
	b := &bs[bi]
	ri := slices.IndexFunc(b.ReplicaSets, func(rs model.ReplicaSet) bool { return rs.ID == c.ReplicaSetID })
	if ri < 0 {
		return nil, nil, &Result{Code: CodeNotFound, Message: fmt.Sprintf("bucket %d has no replica set %d", c.BucketID, c.ReplicaSetID)}
	}
	return b, &b.ReplicaSets[ri], nil
}

// findVnode returns the bucket, replica set and index of the vnode (VnodeID) a command names.
func findVnode(s *State, c Command) (*model.Bucket, *model.ReplicaSet, int, *Result) {
	b, rs, res := findSet(s, c)
	if res != nil {
		return nil, nil, 0, res
	}
	vi := slices.IndexFunc(rs.Vnodes, func(v model.Vnode) bool { return v.ID == c.VnodeID })
	if vi < 0 {
		return nil, nil, 0, &Result{Code: CodeNotFound, Message: fmt.Sprintf("replica set %d has no vnode %d", rs.ID, c.VnodeID)}
	}
	return b, rs, vi, nil
}

// nodeIndex returns the index of node id in s.Nodes, or -1.
func nodeIndex(s *State, id uint64) int {
	return slices.IndexFunc(s.Nodes, func(r NodeRecord) bool { return r.Node.ID == id })
}

// joinVnode adds a joining vnode on node Node.ID to the replica set. The set must not have a
// vnode on that node already, nor another joining vnode (one move at a time per set); asking
// again for the same node returns the joining vnode it has (CodeExists), so a move resumes.
func joinVnode(s *State, c Command) Result {
	if c.Node == nil || c.Node.ID == 0 {
		return invalid("target node id is zero")
	}
	b, rs, res := findSet(s, c)
	if res != nil {
		return *res
	}
	ni := nodeIndex(s, c.Node.ID)
	if ni < 0 {
		return Result{Code: CodeNotFound, Message: fmt.Sprintf("node %d is not registered", c.Node.ID)}
	}
	for _, v := range rs.Vnodes {
		switch {
		case v.NodeID == c.Node.ID && v.Joining:
			out, vn := cloneBucket(*b), v
			return Result{Code: CodeExists, Bucket: &out, Vnode: &vn}
		case v.NodeID == c.Node.ID:
			return Result{Code: CodeConflict, Message: fmt.Sprintf("replica set %d has vnode %d on node %d already", rs.ID, v.ID, v.NodeID)}
		case v.Joining:
			return Result{Code: CodeConflict, Message: fmt.Sprintf("replica set %d is already taking vnode %d on node %d", rs.ID, v.ID, v.NodeID)}
		}
	}
	if s.Nodes[ni].Draining {
		return Result{Code: CodeConflict, Message: fmt.Sprintf("node %d is draining", c.Node.ID)}
	}
	vn := model.Vnode{ID: s.nextID(), NodeID: c.Node.ID, Joining: true}
	rs.Vnodes = append(rs.Vnodes, vn)
	s.Version++
	out := cloneBucket(*b)
	return Result{Code: CodeCreated, Bucket: &out, Vnode: &vn}
}

// promoteVnode makes the joining VnodeID a full member and removes RemoveVnodeID (when set) from
// the set. Repeating a promote that was applied changes nothing (CodeOK).
func promoteVnode(s *State, c Command) Result {
	b, rs, vi, res := findVnode(s, c)
	if res != nil {
		return *res
	}
	ri := -1
	if c.RemoveVnodeID != 0 {
		if c.RemoveVnodeID == c.VnodeID {
			return invalid("vnode %d cannot replace itself", c.VnodeID)
		}
		ri = slices.IndexFunc(rs.Vnodes, func(v model.Vnode) bool { return v.ID == c.RemoveVnodeID })
		if ri >= 0 && rs.Vnodes[ri].Joining {
			return Result{Code: CodeConflict, Message: fmt.Sprintf("vnode %d is joining: abort it instead", c.RemoveVnodeID)}
		}
	}
	if !rs.Vnodes[vi].Joining && ri < 0 {
		out := cloneBucket(*b)
		return Result{Code: CodeOK, Bucket: &out} // applied already
	}
	rs.Vnodes[vi].Joining = false
	if ri >= 0 {
		rs.Vnodes = slices.Delete(rs.Vnodes, ri, ri+1)
	}
	s.Version++
	out := cloneBucket(*b)
	return Result{Code: CodeOK, Bucket: &out}
}

// abortVnode removes the joining VnodeID from its set; a full member is never removed this way.
func abortVnode(s *State, c Command) Result {
	b, rs, vi, res := findVnode(s, c)
	if res != nil {
		return *res
	}
	if !rs.Vnodes[vi].Joining {
		return Result{Code: CodeConflict, Message: fmt.Sprintf("vnode %d is a full member of replica set %d", c.VnodeID, rs.ID)}
	}
	rs.Vnodes = slices.Delete(rs.Vnodes, vi, vi+1)
	s.Version++
	out := cloneBucket(*b)
	return Result{Code: CodeOK, Bucket: &out}
}

// drainNode sets whether node Node.ID is draining.
func drainNode(s *State, c Command) Result {
	if c.Node == nil || c.Node.ID == 0 {
		return invalid("node id is zero")
	}
	ni := nodeIndex(s, c.Node.ID)
	if ni < 0 {
		return Result{Code: CodeNotFound, Message: fmt.Sprintf("node %d is not registered", c.Node.ID)}
	}
	if s.Nodes[ni].Draining == c.Draining {
		return Result{Code: CodeOK}
	}
	s.Nodes[ni].Draining = c.Draining
	s.Version++
	return Result{Code: CodeOK}
}

// removeNode forgets node Node.ID. It is refused while a vnode (joining or not) is placed on it.
func removeNode(s *State, c Command) Result {
	if c.Node == nil || c.Node.ID == 0 {
		return invalid("node id is zero")
	}
	ni := nodeIndex(s, c.Node.ID)
	if ni < 0 {
		return Result{Code: CodeNotFound, Message: fmt.Sprintf("node %d is not registered", c.Node.ID)}
	}
	if n := VnodesOn(s, c.Node.ID); n > 0 {
		return Result{Code: CodeConflict, Message: fmt.Sprintf("node %d still holds %d vnodes: drain it first", c.Node.ID, n)}
	}
	if ps := PlainShardsOn(s, c.Node.ID); len(ps) > 0 {
		return Result{Code: CodeConflict, Message: fmt.Sprintf("node %d still holds %d plain shard replicas: drain it first", c.Node.ID, len(ps))}
	}
	s.Nodes = slices.Delete(s.Nodes, ni, ni+1)
	s.Version++
	return Result{Code: CodeOK}
}

// VnodesOn counts the vnodes placed on a node.
func VnodesOn(s *State, id uint64) int {
	n := 0
	for _, bs := range s.Buckets {
		for _, b := range bs {
			for _, rs := range b.ReplicaSets {
				for _, v := range rs.Vnodes {
					if v.NodeID == id {
						n++
					}
				}
			}
		}
	}
	return n
}
