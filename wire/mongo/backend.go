package mongo

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/storage/index"
)

// Backend is what the wire layer needs from the database. The server's implementation routes
// through the coordinator actors and the meta client; errors that clients should see with a
// MongoDB code are *mongoerr.Error.
type Backend interface {
	// ListDatabases returns every database of the connection's tenant with its size on disk.
	ListDatabases(ctx context.Context) ([]DatabaseInfo, error)
	// DropDatabase drops a database and all its collections; dropping a missing database succeeds.
	DropDatabase(ctx context.Context, db string) error
	// CreateCollection creates a time-series collection (creating its database if needed). Creating
	// one that exists with identical options succeeds; with other options it fails with code 48.
	CreateCollection(ctx context.Context, c *meta.Collection) error
	// Collection returns a collection's definition, or false if it does not exist.
	Collection(ctx context.Context, db, name string) (*meta.Collection, bool, error)
	// ListCollections returns the collections of a database (none if it does not exist).
	ListCollections(ctx context.Context, db string) ([]*meta.Collection, error)
	// DropCollection drops a collection and its data; it reports whether it existed.
	DropCollection(ctx context.Context, db, name string) (bool, error)
	// UpdateCollection replaces a collection's mutable options (TTL, indexes, granularity).
	UpdateCollection(ctx context.Context, c *meta.Collection) error
	// Insert writes already validated measurements (each has a BSON date in the time field) of one
	// collection. All of them are durable when it returns nil; on error none may be assumed written.
	Insert(ctx context.Context, c *meta.Collection, docs []bson.Raw) error
	// Find calls fn with every document of the collection that may match p, with the fields,
	// values and BSON types they were inserted with. Documents are only valid during the call.
	Find(ctx context.Context, c *meta.Collection, p *Pushdown, fn func(doc bson.Raw) error) error
	// Delete removes the documents matching p; p.Exact must be true. It returns how many it removed.
	Delete(ctx context.Context, c *meta.Collection, p *Pushdown) (int64, error)
}

// DatabaseInfo is one entry of listDatabases.
type DatabaseInfo struct {
	Name       string
	SizeOnDisk int64
	Empty      bool
}

// Pushdown is the part of a query filter the storage engine evaluates: a time range on the
// collection's timeField and a predicate on its metaField (tag keys are the dotted paths of the
// meta value, starting with the metaField name: "tags.location"; a scalar meta value is the tag
// named after the metaField itself). Documents outside it are never read.
type Pushdown struct {
	MinTime, MaxTime int64      // BSON datetime ms, inclusive; math.MinInt64 / math.MaxInt64 when open
	Meta             index.Expr // nil: every series
	// Fields lists the measurement fields the query needs; nil means all.
	Fields []string
	// Exact is true when the pushdown is the whole filter (nothing left to evaluate on documents).
	Exact bool
}
