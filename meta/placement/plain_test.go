package placement

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/meta/model"
)

func TestPlainShards(t *testing.T) {
	s := New()
	r := Apply(s, Command{Op: OpCreatePlainShard, Tenant: "t", DB: "d", ReplicationFactor: 2})
	require.Equal(t, CodeNotEnoughNodes, r.Code)
	nodes(s, 30, 10, 20)
	v0 := s.Version

	r = Apply(s, Command{Op: OpCreatePlainShard, Tenant: "t", DB: "d", ReplicationFactor: 2})
	require.Equal(t, CodeCreated, r.Code)
	want := model.PlainShard{ID: model.PlainShardBase + 1, Tenant: "t", DB: "d", Replicas: []uint64{10, 20}, Initial: []uint64{10, 20}}
	require.Equal(t, &want, r.Plain)
	require.Equal(t, v0+1, r.Version)
	// asked again (another node, a retry): the same shard, nothing changes
	r = Apply(s, Command{Op: OpCreatePlainShard, Tenant: "t", DB: "d", ReplicationFactor: 3})
	require.Equal(t, CodeExists, r.Code)
	require.Equal(t, &want, r.Plain)
	require.Equal(t, v0+1, s.Version)

	// the next database's shard starts one node further round the ring and takes the next id
	r = Apply(s, Command{Op: OpCreatePlainShard, Tenant: "t", DB: "e", ReplicationFactor: 2})
	require.Equal(t, CodeCreated, r.Code)
	require.Equal(t, model.PlainShardBase+2, r.Plain.ID)
	require.Equal(t, []uint64{20, 30}, r.Plain.Replicas)
	require.Equal(t, []model.PlainShard{want}, PlainShardsOn(s, 10))
	require.Len(t, PlainShardsOn(s, 20), 2)

	// a node holding a replica cannot be removed
	r = Apply(s, Command{Op: OpRemoveNode, Node: &model.Node{ID: 10}})
	require.Equal(t, CodeConflict, r.Code)

	// moves: conflicts change nothing; a done move repeated is ok
	v := s.Version
	for _, c := range []struct {
		from, to uint64
		code     Code
	}{{10, 20, CodeConflict}, {30, 40, CodeNotFound}, {30, 10, CodeOK} /* looks done */} {
		r = Apply(s, Command{Op: OpMovePlainReplica, Tenant: "t", DB: "d", FromNode: c.from, ToNode: c.to})
		require.Equal(t, c.code, r.Code, "move %d → %d: %s", c.from, c.to, r.Message)
	}
	require.Equal(t, v, s.Version)
	r = Apply(s, Command{Op: OpMovePlainReplica, Tenant: "t", DB: "nope", FromNode: 10, ToNode: 30})
	require.Equal(t, CodeNotFound, r.Code)
	// a move: 30 joins (once; another node joining meanwhile is refused), then takes 10's place
	r = Apply(s, Command{Op: OpJoinPlainReplica, Tenant: "t", DB: "d", ToNode: 30})
	require.Equal(t, CodeOK, r.Code)
	require.Equal(t, uint64(30), r.Plain.Joining)
	rid := r.Plain.ReplicaID(30)
	require.NotEqual(t, uint64(30), rid, "a joining replica gets a replica id of its own")
	require.Equal(t, uint64(10), r.Plain.ReplicaID(10), "an initial member's is its node id")
	require.Len(t, PlainShardsOn(s, 30), 2, "the joining replica runs there")
	require.Equal(t, CodeOK, Apply(s, Command{Op: OpJoinPlainReplica, Tenant: "t", DB: "d", ToNode: 30}).Code)
	require.Equal(t, CodeOK, Apply(s, Command{Op: OpJoinPlainReplica, Tenant: "t", DB: "d", ToNode: 20}).Code, "a replica already")
	require.Equal(t, v+1, s.Version)
	nodes(s, 40)
	require.Equal(t, CodeConflict, Apply(s, Command{Op: OpJoinPlainReplica, Tenant: "t", DB: "d", ToNode: 40}).Code)
	v = s.Version
	r = Apply(s, Command{Op: OpMovePlainReplica, Tenant: "t", DB: "d", FromNode: 10, ToNode: 30})
	require.Equal(t, CodeOK, r.Code)
	require.Equal(t, []uint64{20, 30}, r.Plain.Replicas)
	require.Zero(t, r.Plain.Joining)
	require.Equal(t, rid, r.Plain.ReplicaID(30))
	require.Equal(t, []uint64{10, 20}, r.Plain.Initial, "the founding members stay recorded")
	require.Equal(t, v+1, s.Version)
	r = Apply(s, Command{Op: OpMovePlainReplica, Tenant: "t", DB: "d", FromNode: 10, ToNode: 30})
	require.Equal(t, CodeOK, r.Code)
	require.Equal(t, v+1, s.Version)
	require.Empty(t, PlainShardsOn(s, 10))
	// 10 may hold a replica again: a new replica id (Raft never takes a removed one back)
	r = Apply(s, Command{Op: OpJoinPlainReplica, Tenant: "t", DB: "d", ToNode: 10})
	require.Equal(t, CodeOK, r.Code, r.Message)
	require.NotEqual(t, uint64(10), r.Plain.ReplicaID(10))
	require.NotEqual(t, rid, r.Plain.ReplicaID(10))
	r = Apply(s, Command{Op: OpMovePlainReplica, Tenant: "t", DB: "d", FromNode: 20, ToNode: 10})
	require.Equal(t, CodeOK, r.Code, r.Message)
	require.Equal(t, []uint64{10, 30}, r.Plain.Replicas)
	require.Equal(t, uint64(20), r.Plain.ReplicaID(20), "no id kept for the node that left")
	require.Equal(t, CodeConflict, Apply(s, Command{Op: OpRemoveNode, Node: &model.Node{ID: 10}}).Code)
	require.Equal(t, CodeOK, Apply(s, Command{Op: OpRemoveNode, Node: &model.Node{ID: 40}}).Code)

	// the view carries them; dropping the database drops its shard, even with no bucket
	view, err := s.Lookup(ViewQuery{})
	require.NoError(t, err)
	require.Len(t, view.(View).Plain, 2)
	v = s.Version
	require.Equal(t, CodeNotFound, Apply(s, Command{Op: OpDropPlainShard, Tenant: "t", DB: "e", PlainShardID: model.PlainShardBase + 1}).Code, "another database's id")
	require.Equal(t, v, s.Version)
	r = Apply(s, Command{Op: OpDropPlainShard, Tenant: "t", DB: "e", PlainShardID: model.PlainShardBase + 2})
	require.Equal(t, CodeOK, r.Code)
	require.Equal(t, model.PlainShardBase+2, r.DroppedPlain.ID)
	r = Apply(s, Command{Op: OpDropBuckets, Tenant: "t", DB: "d"})
	require.Equal(t, CodeOK, r.Code)
	require.NotNil(t, r.DroppedPlain)
	require.Equal(t, model.PlainShardBase+1, r.DroppedPlain.ID)
	r = Apply(s, Command{Op: OpCreatePlainShard, Tenant: "t", DB: "d", ReplicationFactor: 1})
	require.Equal(t, CodeCreated, r.Code)
	require.Greater(t, r.Plain.ID, model.PlainShardBase+2, "a database made again gets a new shard")
}
