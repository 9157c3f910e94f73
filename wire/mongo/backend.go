package mongo

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/meta/plain"
	"github.com/chronogo/chronogo/storage"
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
	// ReplaceCollection puts time-series collection staging (a hidden name,
	// meta.HiddenStaging, filled by a $out) in target's place in one step: readers see the old
	// target or the new one, never a mix, and a crash leaves one of them whole. The replaced
	// collection's data is then dropped. NamespaceNotFound when staging is gone.
	ReplaceCollection(ctx context.Context, db, target, staging string) error
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
	// UpdateMeta applies upd to the meta field of every document whose meta value matches
	// filter (a pushdown of the meta field only: no time bounds, Exact). It returns the documents
	// matched and those whose meta value changed. A *storage.PathConflictError from some series
	// is returned as a PathNotViable error.
	UpdateMeta(ctx context.Context, c *meta.Collection, filter *Pushdown, upd *storage.TagUpdate) (matched, modified int64, err error)
	// Aggregate calls fn with the per-column aggregates of every series that may match p, per
	// time bin of q (the storage engine's pre-aggregating scan). A bin of one series and column may
	// arrive in several parts (one per storage bucket) to be merged. Parts are only valid during
	// the call.
	Aggregate(ctx context.Context, c *meta.Collection, p *Pushdown, q AggPlanQuery, fn func(*AggPart) error) error
	// SetDatabaseConsistency sets the default write level (any, one, quorum, all) of database db.
	SetDatabaseConsistency(ctx context.Context, db, level string) error
	// PlainWrite applies document writes to a plain collection (meta/docs/plain.md) and returns
	// the status of each.
	PlainWrite(ctx context.Context, c *meta.Collection, items []plain.Item, ordered bool) (plain.Result, error)
	// PlainScan calls fn with the documents of a plain collection a page at a time: through the
	// index the store picks for preds (see plain.ScanQuery; a multikey document may come once per
	// key), else all of them in key order. It returns the index read ("" for a collection scan),
	// which fn also gets.
	PlainScan(ctx context.Context, c *meta.Collection, preds []plain.Pred, fn func(index string, d *plain.Doc) error) (string, error)
	// PlainAdmin runs an index command (plain.OpCreateIndexes, OpDropIndexes) on a plain
	// collection.
	PlainAdmin(ctx context.Context, c *meta.Collection, cmd plain.Command) (plain.Result, error)
	// PlainGet reads the document of a plain collection at key.
	PlainGet(ctx context.Context, c *meta.Collection, key []byte) (plain.Doc, bool, error)
	// DBStorage returns what database db takes (for dbStats and collStats).
	DBStorage(ctx context.Context, db string) (DBStorage, error)
	// PeerOps lists the commands running on the cluster's other nodes (none in standalone): per
	// node that answered, its name and currentOp entries of tenant's commands (every tenant's
	// with all).
	PeerOps(ctx context.Context, tenant string, all bool) []NodeOps
	// KillPeerOp interrupts command id on the node named node (of tenant, unless all); false
	// when that node runs no such command.
	KillPeerOp(ctx context.Context, node string, id int64, tenant string, all bool) (bool, error)
}

// AggPlanQuery gives the time bins of Backend.Aggregate: bins start at Origin + k*Window (BSON
// datetime ms); Window 0 means one bin per series over the whole range.
type AggPlanQuery struct {
	Window, Origin int64
	// LastOnly: only the last point of each column is needed (Window is 0); parts then carry
	// Last/LastTime (First/FirstTime equal to them) and Count 1.
	LastOnly bool
	// SumsOnly: only Count, Sum, FSum, SumOverflow and the first and last times of parts are
	// read (Min, Max, First and Last may be unset), so storage may fold hour sums.
	SumsOnly bool
	// ValueFields, when not nil, lists the fields whose values are read: parts of other fields
	// may be presence marks (Count 1, nothing else set) saying the series has documents in the
	// bin (engine.AggQuery.ValueFields).
	ValueFields []string
}

// AggPart is the (partial) aggregate of one column (a field stored with one BSON type) of one
// series in one time bin. Int32, Int64, DateTime, Timestamp and Boolean columns use the integer
// fields (Boolean: Sum counts trues, Min and Max are 0 or 1), Double columns the F fields, other
// types only Count and the stored value bytes of the first and last points.
type AggPart struct {
	// Series identifies the series key (the same bytes in every bucket).
	Series []byte
	// Meta is the series' metaField value (zero when the documents have none).
	Meta bson.RawValue
	// Start is the bin start in ms (unspecified when Window is 0).
	Start                           int64
	Field                           string
	Type                            bson.Type
	Count                           int64
	Sum, Min, Max, First, Last      int64
	SumOverflow                     bool
	FSum, FMin, FMax, FFirst, FLast float64
	FirstBytes, LastBytes           []byte
	// FirstTime and LastTime are the times (ns) of the first and last points.
	FirstTime, LastTime int64
}

// DatabaseInfo is one entry of listDatabases.
type DatabaseInfo struct {
	Name        string
	SizeOnDisk  int64
	Empty       bool
	Consistency string // the default write level; "" if unknown
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
	// Stats, when set, receives what Find read (explain).
	Stats *ScanStats
}

// ScanStats is what a Find read: buckets of the time range, vnodes read, series the meta
// predicate matched, TSM blocks decoded and skipped (outside the range), memcache columns.
type ScanStats struct {
	Buckets, Vnodes, Series, BlocksRead, BlocksSkipped, CacheColumns int64
}

// NodeOps are the currentOp entries of another node.
type NodeOps struct {
	Node string
	Ops  []bson.Raw
}
