package placement

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/meta/model"
)

// moveState is three nodes and one bucket [0, 10) of one replica set on nodes 1 and 2:
// bucket 1, replica set 2, vnodes 3 (node 1) and 4 (node 2).
func moveState(t *testing.T) *State {
	s := New()
	nodes(s, 1, 2, 3)
	r := Apply(s, Command{Op: OpCreateBucket, Tenant: "t", DB: "d", TS: 5, Options: opts(10, 1, 2)})
	require.Equal(t, CodeCreated, r.Code)
	require.Equal(t, []model.Vnode{{ID: 3, NodeID: 1}, {ID: 4, NodeID: 2}}, r.Bucket.ReplicaSets[0].Vnodes)
	return s
}

func setVnodes(s *State) []model.Vnode { return s.Buckets[dbKey("t", "d")][0].ReplicaSets[0].Vnodes }

func TestMoveVnode(t *testing.T) {
	s := moveState(t)
	v0 := s.Version
	join := Command{Op: OpJoinVnode, Tenant: "t", DB: "d", BucketID: 1, ReplicaSetID: 2, Node: &model.Node{ID: 3}}
	r := Apply(s, join)
	require.Equal(t, CodeCreated, r.Code, r.Message)
	require.Equal(t, &model.Vnode{ID: 5, NodeID: 3, Joining: true}, r.Vnode)
	require.Equal(t, v0+1, r.Version)
	require.Equal(t, []model.Vnode{{ID: 3, NodeID: 1}, {ID: 4, NodeID: 2}, {ID: 5, NodeID: 3, Joining: true}}, setVnodes(s))

	// asking again resumes the same move
	r = Apply(s, join)
	require.Equal(t, CodeExists, r.Code)
	require.Equal(t, uint64(5), r.Vnode.ID)
	require.Equal(t, v0+1, s.Version)

	// promote with the removal of the source
	promote := Command{Op: OpPromoteVnode, Tenant: "t", DB: "d", BucketID: 1, ReplicaSetID: 2, VnodeID: 5, RemoveVnodeID: 3}
	r = Apply(s, promote)
	require.Equal(t, CodeOK, r.Code, r.Message)
	require.Equal(t, []model.Vnode{{ID: 4, NodeID: 2}, {ID: 5, NodeID: 3}}, setVnodes(s))
	require.Equal(t, v0+2, s.Version)
	// a repeated promote changes nothing
	r = Apply(s, promote)
	require.Equal(t, CodeOK, r.Code, r.Message)
	require.Equal(t, v0+2, s.Version)
	require.Equal(t, []model.Vnode{{ID: 4, NodeID: 2}, {ID: 5, NodeID: 3}}, setVnodes(s))
}

func TestMoveVnodeRefusals(t *testing.T) {
	base := func(cmd Command) Command {
		cmd.Tenant, cmd.DB = "t", "d"
		if cmd.BucketID == 0 {
			cmd.BucketID = 1
		}
		if cmd.ReplicaSetID == 0 {
			cmd.ReplicaSetID = 2
		}
		return cmd
	}
	joined := func(s *State) {
		r := Apply(s, base(Command{Op: OpJoinVnode, Node: &model.Node{ID: 3}}))
		require.Equal(t, CodeCreated, r.Code)
	}
	cases := []struct {
		name  string
		prep  func(*State)
		cmd   Command
		code  Code
		match string
	}{
		{"join onto a node of the set", nil, Command{Op: OpJoinVnode, Node: &model.Node{ID: 2}}, CodeConflict, "has vnode 4 on node 2"},
		{"join an unknown node", nil, Command{Op: OpJoinVnode, Node: &model.Node{ID: 9}}, CodeNotFound, "not registered"},
		{"join without a node", nil, Command{Op: OpJoinVnode}, CodeInvalid, "zero"},
		{"join an unknown bucket", nil, Command{Op: OpJoinVnode, BucketID: 7, Node: &model.Node{ID: 3}}, CodeNotFound, "bucket 7"},
		{"join an unknown set", nil, Command{Op: OpJoinVnode, ReplicaSetID: 7, Node: &model.Node{ID: 3}}, CodeNotFound, "replica set 7"},
		{"a second move of the set", func(s *State) {
			nodes(s, 4)
			joined(s)
		}, Command{Op: OpJoinVnode, Node: &model.Node{ID: 4}}, CodeConflict, "already taking vnode 5"},
		{"join a draining node", func(s *State) {
			Apply(s, Command{Op: OpDrainNode, Node: &model.Node{ID: 3}, Draining: true})
		}, Command{Op: OpJoinVnode, Node: &model.Node{ID: 3}}, CodeConflict, "draining"},
		{"promote an unknown vnode", nil, Command{Op: OpPromoteVnode, VnodeID: 9}, CodeNotFound, "no vnode 9"},
		{"promote to replace itself", joined, Command{Op: OpPromoteVnode, VnodeID: 5, RemoveVnodeID: 5}, CodeInvalid, "itself"},
		{"abort a full member", nil, Command{Op: OpAbortVnode, VnodeID: 3}, CodeConflict, "full member"},
		{"remove a node with vnodes", nil, Command{Op: OpRemoveNode, Node: &model.Node{ID: 1}}, CodeConflict, "holds 1 vnodes"},
		{"remove a node with a joining vnode", joined, Command{Op: OpRemoveNode, Node: &model.Node{ID: 3}}, CodeConflict, "holds 1 vnodes"},
		{"remove an unknown node", nil, Command{Op: OpRemoveNode, Node: &model.Node{ID: 9}}, CodeNotFound, "not registered"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := moveState(t)
			if c.prep != nil {
				c.prep(s)
			}
			before := s.Version
			vnodes := append([]model.Vnode(nil), setVnodes(s)...)
			r := Apply(s, base(c.cmd))
			require.Equal(t, c.code, r.Code, r.Message)
			require.Contains(t, r.Message, c.match)
			require.Equal(t, before, s.Version, "a refused command changes nothing")
			require.Equal(t, vnodes, setVnodes(s))
		})
	}
}

func TestAbortDrainRemove(t *testing.T) {
	s := moveState(t)
	r := Apply(s, Command{Op: OpJoinVnode, Tenant: "t", DB: "d", BucketID: 1, ReplicaSetID: 2, Node: &model.Node{ID: 3}})
	require.Equal(t, CodeCreated, r.Code)
	r = Apply(s, Command{Op: OpAbortVnode, Tenant: "t", DB: "d", BucketID: 1, ReplicaSetID: 2, VnodeID: r.Vnode.ID})
	require.Equal(t, CodeOK, r.Code, r.Message)
	require.Equal(t, []model.Vnode{{ID: 3, NodeID: 1}, {ID: 4, NodeID: 2}}, setVnodes(s))

	// a draining node gets no vnode of a new bucket, even when it is the ring's next
	require.Equal(t, CodeOK, Apply(s, Command{Op: OpDrainNode, Node: &model.Node{ID: 3}, Draining: true}).Code)
	v, _ := s.Lookup(ViewQuery{})
	require.Equal(t, map[uint64]bool{3: true}, v.(View).Draining)
	for ts := int64(10); ts < 100; ts += 10 {
		r := Apply(s, Command{Op: OpCreateBucket, Tenant: "t", DB: "d", TS: ts, Options: opts(10, 2, 2)})
		require.Equal(t, CodeCreated, r.Code)
		for _, rs := range r.Bucket.ReplicaSets {
			for _, vn := range rs.Vnodes {
				require.NotEqual(t, uint64(3), vn.NodeID, "bucket at %d", ts)
			}
		}
	}
	// node 3 holds nothing: it can be removed, and then it is gone from the view
	require.Equal(t, CodeOK, Apply(s, Command{Op: OpRemoveNode, Node: &model.Node{ID: 3}}).Code)
	v, _ = s.Lookup(ViewQuery{})
	require.Len(t, v.(View).Nodes, 2)
	require.Empty(t, v.(View).Draining)
}
