package meta

import (
	"errors"

	"github.com/chronogo/chronogo/meta/catalog"
	"github.com/chronogo/chronogo/meta/locks"
)

// Errors returned by the Client; match them with errors.Is (they come wrapped with context).
var (
	ErrTenantNotFound = errors.New("tenant not found")
	// ErrQuotaExceeded: a tenant quota refused the command; the message names the quota.
	ErrQuotaExceeded = errors.New("quota exceeded")
	// ErrTenantNotEmpty: a tenant with databases cannot be dropped.
	ErrTenantNotEmpty     = errors.New("tenant is not empty")
	ErrUserNotFound       = errors.New("user not found")
	ErrDatabaseNotFound   = errors.New("database not found")
	ErrCollectionNotFound = errors.New("collection not found")
	// ErrInvalid wraps the state machine's explanation of a rejected command.
	ErrInvalid = errors.New("invalid meta command")
	// ErrNotEnoughNodes: fewer registered nodes than the database's replication factor.
	ErrNotEnoughNodes = errors.New("not enough nodes for the replication factor")
	// ErrBucketExpired: the bucket for that timestamp lies entirely beyond the database's TTL.
	ErrBucketExpired = errors.New("bucket is older than the ttl")
	ErrLockNotFound  = errors.New("lock not found")
	// ErrNotLockHolder: the holder or fencing token does not match the lease.
	ErrNotLockHolder = errors.New("not the lock holder")
	// ErrLeaseExpired: the lease expired before the renewal; acquire it again (new token).
	ErrLeaseExpired = errors.New("lease expired")
	// ErrPlainNotHere: this node runs no replica of the plain shard asked for (a node holding one
	// must serve the call).
	ErrPlainNotHere = errors.New("no replica of this plain shard on this node")
	// ErrNotFound: a bucket, replica set, vnode or node a placement command names does not exist.
	ErrNotFound = errors.New("not found in the placement")
	// ErrConflict: a placement command contradicts the state (a move already in progress, a node
	// that still holds vnodes); the message says which.
	ErrConflict = errors.New("placement conflict")
)

// CollectionUpdate is a collMod (catalog.CollectionUpdate).
type CollectionUpdate = catalog.CollectionUpdate

// Lease is a granted lock with its fencing token (locks.Lease).
type Lease = locks.Lease

// CreateOutcome is the result of CreateCollection.
type CreateOutcome int

// The CreateCollection outcomes.
const (
	// Created: the collection is new.
	Created CreateOutcome = iota
	// ExistsIdentical: it existed with the same options; MongoDB answers ok.
	ExistsIdentical
	// ExistsDifferent: it existed with other options; MongoDB answers NamespaceExists (code 48).
	ExistsDifferent
)

// String names the outcome.
func (o CreateOutcome) String() string {
	switch o {
	case Created:
		return "created"
	case ExistsIdentical:
		return "exists_identical"
	case ExistsDifferent:
		return "exists_different"
	}
	return "unknown"
}
