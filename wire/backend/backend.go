package backend

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/actors/coordinator"
	"github.com/chronogo/chronogo/actors/node"
	"github.com/chronogo/chronogo/messages"
	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/engine"
	"github.com/chronogo/chronogo/storage/layout"
	"github.com/chronogo/chronogo/wire/mongo"
	"github.com/chronogo/chronogo/wire/mongo/tsdoc"
	"github.com/chronogo/chronogo/wire/mongoerr"
)

// Backend serves every tenant: each call acts for meta.TenantOf(ctx).
type Backend struct {
	meta    *meta.Client
	node    *node.Node
	dataDir string
	quotas  quotaState
	log     logrus.FieldLogger
	pool    sync.Pool // *tsdoc.Builder per collection call
	// StagingMaxAge is how old a $out's staging collection is when the TTL pass drops it
	// (mongo.OutStagingMaxAge when 0). Set before RunTTL.
	StagingMaxAge time.Duration
}

var _ mongo.Backend = (*Backend)(nil)

// New returns a backend over a meta client and a node whose data lives in dataDir.
func New(m *meta.Client, n *node.Node, dataDir string, log logrus.FieldLogger) *Backend {
	return &Backend{meta: m, node: n, dataDir: dataDir, log: log}
}

// ListDatabases lists the tenant's databases with their size on disk.
func (b *Backend) ListDatabases(ctx context.Context) ([]mongo.DatabaseInfo, error) {
	dbs, err := b.meta.ListDatabases(ctx, meta.TenantOf(ctx))
	if err != nil {
		return nil, err
	}
	out := make([]mongo.DatabaseInfo, 0, len(dbs))
	for _, d := range dbs {
		size := dirSize(filepath.Join(b.dataDir, layout.DataDir, meta.TenantOf(ctx), d.Name))
		colls, err := b.meta.ListCollections(ctx, meta.TenantOf(ctx), d.Name)
		if err != nil {
			return nil, err
		}
		out = append(out, mongo.DatabaseInfo{Name: d.Name, SizeOnDisk: size, Empty: len(colls) == 0, Consistency: d.Consistency})
	}
	return out, nil
}

// SetDatabaseConsistency sets a database's default write level through the catalog.
func (b *Backend) SetDatabaseConsistency(ctx context.Context, db, level string) error {
	_, err := b.meta.SetDatabaseConsistency(ctx, meta.TenantOf(ctx), db, level)
	if errors.Is(err, meta.ErrDatabaseNotFound) {
		return mongoerr.New(mongoerr.NamespaceNotFound, "database %s does not exist", db)
	}
	return err
}

func dirSize(dir string) int64 {
	var n int64
	_ = filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			n += fi.Size()
		}
		return nil
	})
	return n
}

// DropDatabase drops a database in two phases: the catalog and the placement forget it and its
// buckets and plain shard in one Raft step each (clients no longer see it, on any node, even with
// nodes down), then every node's sweep removes the buckets' directories (and every replica of the
// plain shard removes itself): this node's at once, the others' at
// their next sweep or, for a node that was down, when it starts again. A database created again
// under the same name gets new buckets, so nothing of the old one can come back.
func (b *Backend) DropDatabase(ctx context.Context, db string) error {
	if _, _, err := b.meta.DropDatabase(ctx, meta.TenantOf(ctx), db); err != nil && !errors.Is(err, meta.ErrDatabaseNotFound) {
		return err
	}
	b.node.TriggerSweep()
	return nil
}

// CreateCollection creates a time-series collection (code 48 if it exists with other options).
func (b *Backend) CreateCollection(ctx context.Context, c *meta.Collection) error {
	c.Tenant = meta.TenantOf(ctx)
	out, stored, err := b.meta.CreateCollection(ctx, *c)
	if err != nil {
		if errors.Is(err, meta.ErrInvalidName) {
			return mongoerr.New(mongoerr.InvalidNamespace, "%s", err.Error())
		}
		if errors.Is(err, meta.ErrInvalid) {
			return mongoerr.New(mongoerr.InvalidOptions, "%v", err)
		}
		if errors.Is(err, meta.ErrQuotaExceeded) {
			return mongoerr.Wrap(mongoerr.QuotaExceeded, err)
		}
		return err
	}
	if out == meta.ExistsDifferent {
		return mongoerr.New(mongoerr.NamespaceExists, "Collection %s.%s already exists.", c.DB, c.Name)
	}
	c.Table, c.CreatedAt = stored.Table, stored.CreatedAt // where its points go
	return nil
}

// Collection returns a collection from the meta cache, reading through on a miss.
func (b *Backend) Collection(ctx context.Context, db, name string) (*meta.Collection, bool, error) {
	if c, ok := b.meta.CachedCollection(meta.TenantOf(ctx), db, name); ok {
		return &c, true, nil
	}
	c, ok, err := b.meta.GetCollection(ctx, meta.TenantOf(ctx), db, name)
	if err != nil || !ok {
		if errors.Is(err, meta.ErrDatabaseNotFound) {
			err = nil
		}
		return nil, false, err
	}
	return &c, true, nil
}

// ListCollections lists a database's collections (not the hidden ones of a $out).
func (b *Backend) ListCollections(ctx context.Context, db string) ([]*meta.Collection, error) {
	colls, err := b.meta.ListCollections(ctx, meta.TenantOf(ctx), db)
	if errors.Is(err, meta.ErrDatabaseNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := make([]*meta.Collection, 0, len(colls))
	for i := range colls {
		if _, hidden := meta.HiddenKind(colls[i].Name); !hidden {
			out = append(out, &colls[i])
		}
	}
	return out, nil
}

// DropCollection drops a collection's data and then its catalog entry.
//
// The collection's points are first deleted by a versioned delete of the whole table, which a
// replica that is down gets as a hint (so the drop works with replicas down, and a collection
// created again under the same name never shows the old points: they are older than the
// delete); then the catalog forgets it; then DropTable removes its series and data at once where
// it can (a replica that misses it keeps only hidden points, which compactions drop).
func (b *Backend) DropCollection(ctx context.Context, db, name string) (bool, error) {
	tenant := meta.TenantOf(ctx)
	c, ok, err := b.Collection(ctx, db, name)
	if err != nil || !ok {
		return false, err
	}
	if c.Plain() {
		if err := b.dropPlain(ctx, tenant, db, name); err != nil {
			return false, err
		}
		existed, err := b.meta.DropCollection(ctx, tenant, db, name)
		if errors.Is(err, meta.ErrDatabaseNotFound) || errors.Is(err, meta.ErrCollectionNotFound) {
			return false, nil
		}
		return existed, err
	}
	if err := b.node.Delete(ctx, tenant, db, c.TableName(), nil, math.MinInt64, math.MaxInt64); err != nil {
		return false, fmt.Errorf("drop %s.%s: %w", db, name, err)
	}
	existed, err := b.meta.DropCollection(ctx, tenant, db, name)
	if errors.Is(err, meta.ErrDatabaseNotFound) || errors.Is(err, meta.ErrCollectionNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := b.node.DropTable(ctx, tenant, db, c.TableName()); err != nil {
		b.log.WithError(err).WithFields(logrus.Fields{"db": db, "collection": name}).
			Warn("drop: a replica keeps the dropped collection's series until it is reached again; its points are hidden")
	}
	return existed, nil
}

// UpdateCollection applies changed TTL, indexes and granularity.
func (b *Backend) UpdateCollection(ctx context.Context, c *meta.Collection) error {
	cur, ok, err := b.meta.GetCollection(ctx, collTenant(ctx, c), c.DB, c.Name)
	if err != nil {
		return err
	}
	if !ok {
		return mongoerr.New(mongoerr.NamespaceNotFound, "ns does not exist: %s.%s", c.DB, c.Name)
	}
	u := meta.CollectionUpdate{SetTTL: true, HasTTL: c.HasTTL, ExpireAfterSeconds: c.ExpireAfterSeconds,
		SetIndexes: true, Indexes: c.Indexes}
	if c.Granularity != cur.Granularity {
		u.Granularity = c.Granularity
	}
	if _, err := b.meta.UpdateCollection(ctx, collTenant(ctx, c), c.DB, c.Name, u); err != nil {
		if errors.Is(err, meta.ErrInvalid) {
			return mongoerr.New(mongoerr.InvalidOptions, "%v", err)
		}
		return err
	}
	return nil
}

// Insert turns documents into one columnar batch and writes it through the coordinator.
func (b *Backend) Insert(ctx context.Context, c *meta.Collection, docs []bson.Raw) error {
	bld, _ := b.pool.Get().(*tsdoc.Builder)
	if bld == nil {
		bld = tsdoc.NewBuilder(c)
	}
	bld.Reset(c)
	defer b.pool.Put(bld)
	for _, d := range docs {
		if err := bld.Add(d); err != nil {
			return mongoerr.New(mongoerr.BadValue, "%v", err)
		}
	}
	batch := bld.Batch()
	if err := b.checkQuotas(collTenant(ctx, c), batch.NumValues()); err != nil {
		return writeErr(err)
	}
	return writeErr(b.node.Write(levelCtx(ctx), collTenant(ctx, c), c.DB, c.TableName(), batch))
}

// msToNs converts an inclusive ms bound to ns, clamping at the int64 range.
func msToNs(ms int64, upper bool) int64 {
	switch {
	case ms >= math.MaxInt64/1_000_000:
		return math.MaxInt64
	case ms <= math.MinInt64/1_000_000:
		return math.MinInt64
	case upper:
		return ms*1_000_000 + 999_999
	}
	return ms * 1_000_000
}

// findSliceRows bounds the rows of one series that Find holds at once (engine.ScanQuery.SliceRows):
// 8192 rows of a few fields are a few MB, so an open cursor costs that much, not its series.
const findSliceRows = 8192

// Find streams the collection's documents that may match p.
func (b *Backend) Find(ctx context.Context, c *meta.Collection, p *mongo.Pushdown, fn func(doc bson.Raw) error) error {
	q := engine.ScanQuery{Filter: p.Meta, MinTime: msToNs(p.MinTime, false), MaxTime: msToNs(p.MaxTime, true), SliceRows: findSliceRows}
	if p.Fields != nil {
		q.Fields = append([]string{"_id"}, p.Fields...)
	}
	if p.Stats != nil {
		st := &engine.ScanStats{}
		q.Stats = st
		defer func() {
			*p.Stats = mongo.ScanStats{Buckets: st.Buckets, Vnodes: st.Vnodes, Series: st.Series,
				BlocksRead: st.BlocksRead, BlocksSkipped: st.BlocksSkipped, CacheColumns: st.CacheColumns}
		}()
	}
	var (
		cur     storage.SeriesID
		curPart int
		curSnap coordinator.Source
		cols    []tsdoc.Column
		pool    []tsdoc.Column
	)
	flush := func() error {
		if len(cols) == 0 {
			return nil
		}
		key, ok := curSnap.SeriesKey(cur)
		if !ok {
			return fmt.Errorf("series %d of %s.%s has no key", cur, c.DB, c.Name)
		}
		err := tsdoc.Documents(c, key, cols, fn)
		pool, cols = cols[:0], nil
		return err
	}
	err := b.node.Scan(ctx, collTenant(ctx, c), c.DB, c.TableName(), q, func(snap coordinator.Source, col *engine.ScanColumn) error {
		if snap != curSnap || col.Series != cur || col.Part != curPart {
			if err := flush(); err != nil {
				return err
			}
			curSnap, cur, curPart = snap, col.Series, col.Part
			cols = pool[:0]
		}
		cols = append(cols, copyColumn(col))
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}

func copyColumn(col *engine.ScanColumn) tsdoc.Column {
	p := col.Points
	out := tsdoc.Column{Field: col.Field, Times: append([]int64(nil), p.Times...), Values: storage.Values{Type: p.Values.Type}}
	v := &out.Values
	switch p.Values.Type.Class() {
	case storage.ClassFloat:
		v.Floats = append([]float64(nil), p.Values.Floats...)
	case storage.ClassInt:
		v.Ints = append([]int64(nil), p.Values.Ints...)
	case storage.ClassBool:
		v.Bools = append([]bool(nil), p.Values.Bools...)
	case storage.ClassBytes:
		v.Bytes = append([][]byte(nil), p.Values.Bytes...) // block buffers are per decode, not reused
	}
	return out
}

// Delete removes the documents matching an exact pushdown and returns how many there were.
func (b *Backend) Delete(ctx context.Context, c *meta.Collection, p *mongo.Pushdown) (int64, error) {
	if !p.Exact {
		return 0, mongoerr.New(mongoerr.InvalidOptions, "Cannot perform an update or delete on a time-series collection when querying on a field that is not the metaField '%s'", c.MetaField)
	}
	var n int64
	if err := b.Find(ctx, c, p, func(bson.Raw) error { n++; return nil }); err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, nil
	}
	return n, writeErr(b.node.Delete(levelCtx(ctx), collTenant(ctx, c), c.DB, c.TableName(), p.Meta, msToNs(p.MinTime, false), msToNs(p.MaxTime, true)))
}

// UpdateMeta renames the series matching an exact, meta-only pushdown by upd at every vnode of
// the collection's database (see coordinator.Client.Rename) and returns the documents matched
// and changed. A series whose update would create a field inside a scalar fails with
// PathNotViable (other vnodes may have applied the update already, as MongoDB's multi-document
// updates are not atomic either).
func (b *Backend) UpdateMeta(ctx context.Context, c *meta.Collection, p *mongo.Pushdown, upd *storage.TagUpdate) (int64, int64, error) {
	if !p.Exact {
		return 0, 0, mongoerr.New(mongoerr.InvalidOptions, "Cannot perform an update or delete on a time-series collection when querying on a field that is not the metaField '%s'", c.MetaField)
	}
	res, err := b.node.Rename(levelCtx(ctx), collTenant(ctx, c), c.DB, c.TableName(), p.Meta, upd)
	var re *coordinator.ReplyError
	if errors.As(err, &re) && re.Code == messages.ErrorCode_ERROR_CODE_PATH_NOT_VIABLE {
		return res.Rows, res.RenamedRows, mongoerr.New(mongoerr.PathNotViable, "%s", re.Message)
	}
	return res.Rows, res.RenamedRows, writeErr(err)
}

// collTenant is the tenant of a collection the request resolved (its catalog entry says), or the
// request's tenant for one without.
func collTenant(ctx context.Context, c *meta.Collection) string {
	if c.Tenant != "" {
		return c.Tenant
	}
	return meta.TenantOf(ctx)
}
