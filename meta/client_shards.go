package meta

import (
	"sort"

	"github.com/lni/dragonboat/v4"

	"github.com/chronogo/chronogo/meta/internal/smcodec"
	"github.com/chronogo/chronogo/meta/model"
	"github.com/chronogo/chronogo/meta/plain"
)

// PlainShardBase is the lowest id of a plain shard.
const PlainShardBase = model.PlainShardBase

// ShardStatus is how this node sees one Raft shard (a meta shard or a database's plain shard).
type ShardStatus struct {
	ID        uint64            `json:"id"`
	Name      string            `json:"name"`
	ReplicaID uint64            `json:"replicaId"` // this node's replica
	LeaderID  uint64            `json:"leaderId"`  // 0: no leader known
	Term      uint64            `json:"term"`
	Members   map[uint64]string `json:"members"` // voting replica id -> Raft address
	NonVoting bool              `json:"nonVoting"`
	Pending   bool              `json:"pending,omitempty"` // details not available yet
	// LastIndex is the last entry of this replica's log, Applied the last entry its state machine
	// applied (0 when unknown: none since it started from a snapshot); the commit index lies
	// between them (dragonboat does not expose it). Snapshot is the index of its latest snapshot
	// (0: none).
	LastIndex uint64 `json:"lastIndex"`
	Applied   uint64 `json:"applied"`
	Snapshot  uint64 `json:"snapshot"`
}

// shardNames name the meta shards.
var shardNames = map[uint64]string{ShardCatalog: "catalog", ShardPlacement: "placement", ShardLocks: "locks"}

// Shards lists the meta shards this node holds a replica of, by id (local state, no Raft round).
func (c *Client) Shards() []ShardStatus {
	info := c.nh.GetNodeHostInfo(dragonboat.NodeHostInfoOption{SkipLogInfo: true})
	out := make([]ShardStatus, 0, len(info.ShardInfoList))
	for _, s := range info.ShardInfoList {
		name := shardNames[s.ShardID]
		if p, ok := c.CachedPlainShardByID(s.ShardID); ok {
			name = "plain " + p.Tenant + "/" + p.DB
		}
		out = append(out, ShardStatus{ID: s.ShardID, Name: name, ReplicaID: s.ReplicaID, LeaderID: s.LeaderID,
			Term: s.Term, Members: s.Replicas, NonVoting: s.IsNonVoting, Pending: s.Pending})
		st := &out[len(out)-1]
		if lr, err := c.nh.GetLogReader(s.ShardID); err == nil {
			_, st.LastIndex = lr.GetRange()
			st.Snapshot = lr.Snapshot().Index
		}
		var q any = smcodec.AppliedQuery{}
		if s.ShardID >= PlainShardBase {
			q = plain.AppliedQuery{}
		}
		if v, err := c.nh.StaleRead(s.ShardID, q); err == nil {
			st.Applied, _ = v.(uint64)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
