package model

// Types shared by the meta state machines, the meta client and its users (actors, wire). Package meta
// re-exports every one of them as an alias, so callers keep writing meta.Collection.

// DefaultTenant is the tenant of clients that do not authenticate.
const DefaultTenant = "default"

// Quotas bound what a tenant may hold and write; 0 means no limit.
type Quotas struct {
	MaxDatabases         int64 // databases
	MaxSeries            int64 // series, counted per data node over its replicas
	MaxBytes             int64 // bytes on disk (TSM, WAL, index), counted per data node
	MaxWriteValuesPerSec int64 // values written per second, per data node
}

// Tenant is a tenant: it owns databases and users (CnosDB's model).
type Tenant struct {
	Name      string
	CreatedAt int64 // unix ns
	Quotas    Quotas
	Databases int // how many it has (in listings)
	Users     int
}

// Database is a database of a tenant with its storage options.
type Database struct {
	Tenant            string
	Name              string
	ReplicationFactor int    // replicas per replica set (1 in standalone)
	ShardCount        int    // replica sets per bucket
	BucketDuration    int64  // ns of time each bucket covers
	TTL               int64  // ns; 0 = keep forever
	Consistency       string // "any" | "one" | "quorum" | "all"
	// CreatedAt is when the catalog created the database (the proposer's clock, unix ns), filled
	// in by the catalog's answers: it tells one incarnation of a name from the next.
	CreatedAt int64 `json:",omitempty"`
}

// Collection is a time-series collection (a table) and its MongoDB options.
type Collection struct {
	Tenant, DB, Name      string
	TimeField, MetaField  string // MetaField "" when the collection has none
	Granularity           string // "seconds" | "minutes" | "hours", or "" with custom bucketing
	BucketMaxSpanSeconds  int64
	BucketRoundingSeconds int64 // 0 unless custom bucketing
	ExpireAfterSeconds    int64 // valid when HasTTL
	HasTTL                bool
	Indexes               []Index
	CreatedAt             int64 // unix ns, from the proposing node's clock
	// Table names the collection's data in storage (series keys, deletes, scans) when it is not
	// Name: a collection that replaced another in one step ($out) keeps the table it was filled
	// in, and a name whose table a retired collection still holds gets a fresh one.
	Table string `json:",omitempty"`
}

// TableName is the storage table of c's points.
func (c *Collection) TableName() string {
	if c.Table != "" {
		return c.Table
	}
	return c.Name
}

// Plain reports whether c is a plain (regular) collection: one without a timeField, whose documents
// live in the plain-collections shard (meta/docs/plain.md).
func (c *Collection) Plain() bool { return c.TimeField == "" }

// Index is a secondary index as the user declared it (ChronoGo serves meta and time indexes from
// its own series index; the spec is kept for listIndexes).
type Index struct {
	Name string
	Key  []byte // the key document as raw BSON
	// Options is the rest of the createIndexes spec as raw BSON (may be empty).
	Options []byte
}

// Node is a member of the cluster.
type Node struct {
	ID        uint64
	Name      string `json:",omitempty"` // --node-id as given (ID is its hash when not a number)
	Role      string // "standalone" | "mnode" | "dnode"
	ActorAddr string
	RaftAddr  string
	MongoAddr string
	HTTPAddr  string
	// Zone is the node's failure domain (--zone: a rack, a data center): new buckets spread each
	// replica set's vnodes over as many zones as they can.
	Zone string `json:",omitempty"`
}

// PlainShard is the Raft shard of a database's plain collections (meta/docs/plain.md): its
// voting replicas are data nodes, as many as the database's replication factor.
type PlainShard struct {
	ID         uint64 // the dragonboat shard id: PlainShardBase + an id of the placement sequence
	Tenant, DB string
	// Replicas are the nodes of its voting replicas. Initial are those it was created with: they
	// bootstrap it together; a replica added later (a move) joins it.
	Replicas []uint64
	Initial  []uint64
	// DBCreatedAt is the CreatedAt of the database the shard was made for (0: not recorded): a
	// database dropped and created again is another incarnation, whose documents never include
	// the old shard's, even when the drop was cut short before the placement forgot it.
	DBCreatedAt int64 `json:",omitempty"`
	// Joining is the node a move is adding (0: none): it runs a replica that joins the shard's
	// Raft group, and becomes one of Replicas when the move ends.
	Joining uint64 `json:",omitempty"`
	// ReplicaIDs holds the Raft replica id of the replicas that joined (on Joining, and on nodes
	// of Replicas a move brought); an initial member's replica id is its node id. Each join gets
	// a new id: Raft never takes a removed replica id back, so a node may hold a replica again.
	ReplicaIDs map[uint64]uint64 `json:",omitempty"`
}

// ReplicaID is the Raft replica id of node's replica of the shard.
func (p PlainShard) ReplicaID(node uint64) uint64 {
	if r, ok := p.ReplicaIDs[node]; ok {
		return r
	}
	return node
}

// PlainShardBase is added to the ids of plain shards, so they never meet the meta shards' ids.
const PlainShardBase uint64 = 1 << 40

// Runs reports whether node id runs a replica of the shard: one of Replicas, or Joining.
func (p PlainShard) Runs(id uint64) bool { return id != 0 && (id == p.Joining || p.Has(id)) }

// Has reports whether node id holds a voting replica of the shard (one of Replicas).
func (p PlainShard) Has(id uint64) bool {
	for _, r := range p.Replicas {
		if r == id {
			return true
		}
	}
	return false
}

// Bucket holds one database's data for a time range [Start, End) in ns.
type Bucket struct {
	ID          uint64
	Tenant, DB  string
	Start, End  int64
	ReplicaSets []ReplicaSet
}

// ReplicaSet is a group of vnodes holding the same data (one per replica).
type ReplicaSet struct {
	ID     uint64
	Vnodes []Vnode
}

// FindReplicaSet returns replica set rsID of bucket bucketID among buckets.
func FindReplicaSet(buckets []Bucket, bucketID, rsID uint64) (ReplicaSet, bool) {
	for _, b := range buckets {
		if b.ID != bucketID {
			continue
		}
		for _, rs := range b.ReplicaSets {
			if rs.ID == rsID {
				return rs, true
			}
		}
	}
	return ReplicaSet{}, false
}

// HasVnode reports whether the set has vnode id on node.
func (rs ReplicaSet) HasVnode(id, node uint64) bool {
	for _, v := range rs.Vnodes {
		if v.ID == id && v.NodeID == node {
			return true
		}
	}
	return false
}

// Vnode is one replica of a replica set, placed on a node.
type Vnode struct {
	ID     uint64
	NodeID uint64
	// Joining marks a vnode being filled by a move or copy: it is written to like the others but
	// not counted for a write's consistency, and never read from, until it is promoted.
	Joining bool `json:",omitempty"`
}
