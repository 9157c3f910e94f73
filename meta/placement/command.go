package placement

import "github.com/chronogo/chronogo/meta/model"

// Op names a placement command. The names travel in the Raft log, so never rename one.
type Op string

// The placement commands.
const (
	OpRegisterNode Op = "register_node"
	OpCreateBucket Op = "create_bucket"
	OpDropBucket   Op = "drop_bucket"
	OpDropBuckets  Op = "drop_buckets"
	OpNodeState    Op = "node_state"
	// Vnode moves and node removal (moves.go).
	OpJoinVnode    Op = "join_vnode"
	OpPromoteVnode Op = "promote_vnode"
	OpAbortVnode   Op = "abort_vnode"
	OpDrainNode    Op = "drain_node"
	OpRemoveNode   Op = "remove_node"
	// Plain shards (plain.go).
	OpCreatePlainShard Op = "create_plain_shard"
	OpDropPlainShard   Op = "drop_plain_shard"
	OpJoinPlainReplica Op = "join_plain_replica"
	OpMovePlainReplica Op = "move_plain_replica"
)

// Command is one proposed placement mutation. Only the fields of its Op are set. Now is the
// proposer's clock (unix ns): Apply never reads a clock.
type Command struct {
	Op     Op          `json:"op"`
	Now    int64       `json:"now"`
	Node   *model.Node `json:"node,omitempty"`
	Tenant string      `json:"tenant,omitempty"`
	DB     string      `json:"db,omitempty"`
	// TS is the timestamp (ns) a bucket must cover (create_bucket).
	TS int64 `json:"ts,omitempty"`
	// BucketID names the bucket to drop (drop_bucket).
	BucketID uint64 `json:"bucket_id,omitempty"`
	// Down is the state a node_state command reports for Node.ID: down (seen gone by a peer's
	// liveness watcher) or up again.
	Down bool `json:"down,omitempty"`
	// ReplicaSetID, VnodeID and RemoveVnodeID name the replica set and vnodes a move works on
	// (join_vnode: the new vnode goes to Node.ID; promote_vnode: VnodeID becomes a full member
	// and RemoveVnodeID, when set, leaves the set; abort_vnode: the joining VnodeID leaves).
	ReplicaSetID  uint64 `json:"replica_set_id,omitempty"`
	VnodeID       uint64 `json:"vnode_id,omitempty"`
	RemoveVnodeID uint64 `json:"remove_vnode_id,omitempty"`
	// Draining is the state drain_node sets for Node.ID: no new bucket places a vnode on it.
	Draining bool `json:"draining,omitempty"`
	// Options are the database's options, read from the catalog shard by the proposer, which the
	// placement shard does not hold (create_bucket).
	Options *BucketOptions `json:"options,omitempty"`
	// PlainShardID names the plain shard drop_plain_shard drops (only while the database's is that
	// one).
	PlainShardID uint64 `json:"plain_shard_id,omitempty"`
	// DBCreatedAt is the CreatedAt of the database a new plain shard is for (create_plain_shard).
	DBCreatedAt int64 `json:"db_created_at,omitempty"`
	// ReplicationFactor is the number of replicas of a new plain shard (create_plain_shard).
	ReplicationFactor int `json:"replication_factor,omitempty"`
	// FromNode and ToNode name the replica a move_plain_replica takes from one node to another;
	// join_plain_replica starts the move (ToNode joins).
	FromNode uint64 `json:"from_node,omitempty"`
	ToNode   uint64 `json:"to_node,omitempty"`
}

// BucketOptions are the database options a new bucket needs.
type BucketOptions struct {
	Duration          int64 `json:"duration"`           // ns covered by one bucket
	ShardCount        int   `json:"shard_count"`        // replica sets per bucket
	ReplicationFactor int   `json:"replication_factor"` // vnodes per replica set, on distinct nodes
	// TTL (ns, 0 = forever): a bucket whose whole range is older than Now-TTL is refused.
	TTL int64 `json:"ttl"`
}

// Code is the outcome of a command; it is also the dragonboat Result.Value.
type Code uint64

// The placement result codes.
const (
	CodeOK             Code = iota // applied (register, drop)
	CodeCreated                    // bucket created
	CodeExists                     // bucket covering TS exists: it is returned unchanged
	CodeNotFound                   // bucket to drop does not exist
	CodeNotEnoughNodes             // fewer registered nodes than the replication factor
	CodeExpired                    // the bucket would lie entirely beyond the TTL
	CodeInvalid                    // malformed command; Message says why
	CodeConflict                   // the command contradicts the state (a move in progress, vnodes left); Message says why
)

// String names the code for logs and errors.
func (c Code) String() string {
	switch c {
	case CodeOK:
		return "ok"
	case CodeCreated:
		return "created"
	case CodeExists:
		return "exists"
	case CodeNotFound:
		return "not_found"
	case CodeNotEnoughNodes:
		return "not_enough_nodes"
	case CodeExpired:
		return "expired"
	case CodeInvalid:
		return "invalid"
	case CodeConflict:
		return "conflict"
	}
	return "unknown"
}

// Result is what Apply returns.
type Result struct {
	Code    Code   `json:"code"`
	Message string `json:"message,omitempty"`
	// Bucket is the bucket created, found or dropped (create_bucket, drop_bucket), or the bucket
	// after a vnode command.
	Bucket *model.Bucket `json:"bucket,omitempty"`
	// Dropped lists the buckets removed by drop_buckets.
	Dropped []model.Bucket `json:"dropped,omitempty"`
	// Vnode is the vnode a join_vnode added (or found joining already).
	Vnode *model.Vnode `json:"vnode,omitempty"`
	// Plain is the plain shard created, found or changed (create_plain_shard, join_plain_replica,
	// move_plain_replica).
	Plain *model.PlainShard `json:"plain,omitempty"`
	// DroppedPlain is the plain shard drop_buckets removed with the database.
	DroppedPlain *model.PlainShard `json:"dropped_plain,omitempty"`
	Version      uint64            `json:"version"`
}
