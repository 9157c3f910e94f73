package meta

import "github.com/chronogo/chronogo/meta/model"

// Types shared by the meta state machines, the meta client and its users (actors, wire).
// They are defined in meta/model (so the state machine packages can use them without importing
// this package, which imports them) and re-exported here as aliases.

// DefaultTenant is the tenant of clients that do not authenticate.
const DefaultTenant = model.DefaultTenant

// Database is a database of a tenant with its storage options.
type Database = model.Database

// Collection is a time-series collection (a table) and its MongoDB options.
type Collection = model.Collection

// Index is a secondary index as the user declared it (ChronoGo serves meta and time indexes from
// its own series index; the spec is kept for listIndexes).
type Index = model.Index

// Node is a member of the cluster.
type Node = model.Node

// Bucket holds one database's data for a time range [Start, End) in ns.
type Bucket = model.Bucket

// ReplicaSet is a group of vnodes holding the same data (one per replica).
type ReplicaSet = model.ReplicaSet

// Vnode is one replica of a replica set, placed on a node.
type Vnode = model.Vnode

// User is a user of a tenant with opaque credentials.
type User = model.User

// Tenant is a tenant with its quotas and counts (model.Tenant).
type Tenant = model.Tenant

// Quotas bound a tenant (model.Quotas).
type Quotas = model.Quotas

// FindReplicaSet returns replica set rsID of bucket bucketID among buckets.
func FindReplicaSet(buckets []Bucket, bucketID, rsID uint64) (ReplicaSet, bool) {
	return model.FindReplicaSet(buckets, bucketID, rsID)
}
