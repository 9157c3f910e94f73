package actors

import (
	"context"

	"github.com/chronogo/chronogo/meta"
)

// Placement is the part of the meta client the actors route by. Times are ns since the epoch.
type Placement interface {
	// BucketFor returns the bucket holding ts for the database, creating it if needed.
	BucketFor(ctx context.Context, tenant, db string, ts int64) (meta.Bucket, error)
	// BucketsIn returns the existing buckets overlapping [minTs, maxTs], sorted by start.
	BucketsIn(ctx context.Context, tenant, db string, minTs, maxTs int64) ([]meta.Bucket, error)
	// Database returns a database's options (consistency level, replication).
	Database(ctx context.Context, tenant, db string) (meta.Database, error)
	// Node returns a cluster member (its actor address).
	Node(ctx context.Context, id uint64) (meta.Node, error)
}
