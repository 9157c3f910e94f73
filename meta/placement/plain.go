package placement

import (
	"cmp"
	"fmt"
	"maps"
	"slices"

	"github.com/chronogo/chronogo/meta/model"
)

// createPlainShard returns the plain shard of a database, creating it when missing: id
// PlainShardBase + the next id of the sequence, ReplicationFactor replicas picked as a replica set
// of a bucket is (pickReplicas on the placeable nodes from Cursor, which then advances by one).
func createPlainShard(s *State, c Command) Result {
	switch {
	case c.DB == "" || c.Tenant == "":
		return invalid("tenant or database is empty")
	case c.ReplicationFactor < 1:
		return invalid("replication factor %d; want >= 1", c.ReplicationFactor)
	}
	key := dbKey(c.Tenant, c.DB)
	if p, ok := s.Plain[key]; ok {
		out := clonePlain(p)
		return Result{Code: CodeExists, Plain: &out}
	}
	if len(s.Nodes) < c.ReplicationFactor {
		return Result{Code: CodeNotEnoughNodes,
			Message: fmt.Sprintf("%d nodes registered; replication factor %d", len(s.Nodes), c.ReplicationFactor)}
	}
	replicas := pickReplicas(placeable(s, c.ReplicationFactor), s.Cursor, c.ReplicationFactor)
	slices.Sort(replicas)
	p := model.PlainShard{ID: model.PlainShardBase + s.nextID(), Tenant: c.Tenant, DB: c.DB,
		Replicas: replicas, Initial: slices.Clone(replicas), DBCreatedAt: c.DBCreatedAt}
	s.Cursor++
	if s.Plain == nil {
		s.Plain = map[string]model.PlainShard{}
	}
	s.Plain[key] = p
	s.Version++
	out := clonePlain(p)
	return Result{Code: CodeCreated, Plain: &out}
}

// dropPlainShard drops the plain shard of a database whose catalog entry is gone (a drop cut
// short between its two steps), when it is still PlainShardID: a newer database's is kept.
func dropPlainShard(s *State, c Command) Result {
	key := dbKey(c.Tenant, c.DB)
	p, ok := s.Plain[key]
	if !ok || p.ID != c.PlainShardID {
		return Result{Code: CodeNotFound}
	}
	delete(s.Plain, key)
	s.Version++
	return Result{Code: CodeOK, DroppedPlain: &p}
}

// plainMove finds the plain shard a move works on and checks its target node is registered
// (else the result to answer).
func plainMove(s *State, c Command) (string, model.PlainShard, *Result) {
	key := dbKey(c.Tenant, c.DB)
	p, ok := s.Plain[key]
	switch {
	case !ok:
		return key, p, &Result{Code: CodeNotFound, Message: fmt.Sprintf("database %s.%s has no plain shard", c.Tenant, c.DB)}
	case nodeIndex(s, c.ToNode) < 0:
		return key, p, &Result{Code: CodeNotFound, Message: fmt.Sprintf("node %d is not registered", c.ToNode)}
	}
	return key, p, nil
}

// joinPlainReplica starts moving a replica of a database's plain shard to ToNode: it runs a
// replica, with a new replica id, that joins the Raft group (the mover adds it there). One move
// at a time: another node joining is a conflict; the same node joining again, or one that holds
// a replica already, changes nothing.
func joinPlainReplica(s *State, c Command) Result {
	key, p, res := plainMove(s, c)
	switch {
	case res != nil:
		return *res
	case p.Joining == c.ToNode || p.Has(c.ToNode):
		out := clonePlain(p)
		return Result{Code: CodeOK, Plain: &out}
	case p.Joining != 0:
		return Result{Code: CodeConflict, Message: fmt.Sprintf("node %d is joining plain shard %d already", p.Joining, p.ID)}
	}
	p = clonePlain(p)
	p.Joining = c.ToNode
	// a replica id no replica of the shard has or had: the sequence never repeats, and it must
	// differ from the initial members' (their node ids)
	rid := s.nextID()
	for slices.Contains(p.Initial, rid) {
		rid = s.nextID()
	}
	if p.ReplicaIDs == nil {
		p.ReplicaIDs = map[uint64]uint64{}
	}
	p.ReplicaIDs[c.ToNode] = rid
	s.Plain[key] = p
	s.Version++
	out := clonePlain(p)
	return Result{Code: CodeOK, Plain: &out}
}

// movePlainReplica ends a move: the replica on FromNode is now the one on ToNode (the mover has
// removed FromNode from the Raft group once ToNode caught up), and nothing is joining. Moving to
// a node that holds one, or from one that does not, is a conflict; repeating a move that is done
// changes nothing.
func movePlainReplica(s *State, c Command) Result {
	key, p, res := plainMove(s, c)
	switch {
	case res != nil:
		return *res
	case p.Has(c.ToNode) && !p.Has(c.FromNode):
		out := clonePlain(p)
		return Result{Code: CodeOK, Plain: &out} // done already
	case p.Has(c.ToNode):
		return Result{Code: CodeConflict, Message: fmt.Sprintf("node %d holds a replica of plain shard %d already", c.ToNode, p.ID)}
	case !p.Has(c.FromNode):
		return Result{Code: CodeConflict, Message: fmt.Sprintf("node %d holds no replica of plain shard %d", c.FromNode, p.ID)}
	}
	p = clonePlain(p)
	p.Replicas[slices.Index(p.Replicas, c.FromNode)] = c.ToNode
	slices.Sort(p.Replicas)
	p.Joining = 0
	delete(p.ReplicaIDs, c.FromNode)
	s.Plain[key] = p
	s.Version++
	out := clonePlain(p)
	return Result{Code: CodeOK, Plain: &out}
}

// PlainShardsOn lists the plain shards with a replica (or one joining) on node id.
func PlainShardsOn(s *State, id uint64) []model.PlainShard {
	var out []model.PlainShard
	for _, p := range s.Plain {
		if p.Runs(id) {
			out = append(out, clonePlain(p))
		}
	}
	slices.SortFunc(out, func(a, b model.PlainShard) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

func clonePlain(p model.PlainShard) model.PlainShard {
	p.Replicas, p.Initial, p.ReplicaIDs = slices.Clone(p.Replicas), slices.Clone(p.Initial), maps.Clone(p.ReplicaIDs)
	return p
}
