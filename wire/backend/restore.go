package backend

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/meta/plain"
	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/wire/httpapi"
	"github.com/chronogo/chronogo/wire/mongo/mql"
)

// BackupCatalog reads the catalog of every tenant (or one), or of one database: databases,
// collections with their options and indexes, and users (with their credentials) when whole
// tenants are backed up.
func (b *Backend) BackupCatalog(ctx context.Context, tenant, db string) (httpapi.BackupCatalog, error) {
	cat := httpapi.BackupCatalog{Version: 1}
	tenants := []string{tenant}
	if tenant == "" {
		var err error
		if tenants, err = b.meta.ListTenants(ctx); err != nil {
			return cat, err
		}
		if len(tenants) == 0 {
			tenants = []string{meta.DefaultTenant}
		}
	}
	for _, t := range tenants {
		dbs, err := b.meta.ListDatabases(ctx, t)
		if err != nil {
			return cat, err
		}
		for _, d := range dbs {
			if db != "" && d.Name != db {
				continue
			}
			cat.Databases = append(cat.Databases, d)
			colls, err := b.meta.ListCollections(ctx, t, d.Name)
			if err != nil {
				return cat, err
			}
			for _, c := range colls {
				if _, hidden := meta.HiddenKind(c.Name); !hidden { // a $out's staging or retired data
					cat.Collections = append(cat.Collections, c)
				}
			}
		}
		if db == "" {
			users, err := b.meta.ListUsers(ctx, t)
			if err != nil {
				return cat, err
			}
			cat.Users = append(cat.Users, users...)
		}
	}
	return cat, nil
}

// BackupPlain writes every document of plain collection c to w, BSON after BSON.
func (b *Backend) BackupPlain(ctx context.Context, c *meta.Collection, w io.Writer) (int64, error) {
	var n int64
	_, err := b.PlainScan(meta.WithTenant(ctx, c.Tenant), c, nil, func(_ string, d *plain.Doc) error {
		n++
		_, err := w.Write(d.Doc)
		return err
	})
	return n, err
}

// RestoreCatalog creates what a catalog holds (into database as when it is set): databases with
// their time layout and consistency (replication and shards take this cluster's defaults),
// collections with their options and indexes (a plain collection's indexes built in the plain
// store), and users that do not exist yet. Existing identical collections are kept; a collection
// that exists with other options is an error.
func (b *Backend) RestoreCatalog(ctx context.Context, cat httpapi.BackupCatalog, as string) (httpapi.RestoreCatalogResult, error) {
	var res httpapi.RestoreCatalogResult
	if cat.Version != 1 {
		return res, fmt.Errorf("%w: catalog version %d", httpapi.ErrBadRequest, cat.Version)
	}
	if as != "" && len(cat.Databases) != 1 {
		return res, fmt.Errorf("%w: restoring under another name needs a catalog of one database, not %d", httpapi.ErrBadRequest, len(cat.Databases))
	}
	for _, d := range cat.Databases {
		if as != "" {
			d.Name = as
		}
		if d.Tenant == "" {
			d.Tenant = meta.DefaultTenant
		}
		d.ReplicationFactor, d.ShardCount = 0, 0
		if _, _, err := b.meta.CreateDatabase(ctx, d); err != nil {
			return res, restoreErr(fmt.Errorf("database %s: %w", d.Name, err))
		}
		res.Databases++
	}
	for _, c := range cat.Collections {
		if as != "" {
			c.DB = as
		}
		if c.Tenant == "" {
			c.Tenant = meta.DefaultTenant
		}
		c.Table = "" // this cluster picks the table; the batches name the collection
		out, got, err := b.meta.CreateCollection(ctx, c)
		if err != nil {
			return res, restoreErr(fmt.Errorf("collection %s.%s: %w", c.DB, c.Name, err))
		}
		if out == meta.ExistsDifferent {
			return res, fmt.Errorf("%w: collection %s.%s exists with other options", httpapi.ErrBadRequest, c.DB, c.Name)
		}
		if got.Plain() && len(got.Indexes) > 0 {
			cmd := plain.Command{Op: plain.OpCreateIndexes}
			for _, idx := range got.Indexes {
				spec := plain.IndexSpec{Name: idx.Name, Key: bson.Raw(idx.Key)}
				if len(idx.Options) > 0 {
					spec.Unique, _ = bson.Raw(idx.Options).Lookup("unique").BooleanOK()
					spec.Sparse, _ = bson.Raw(idx.Options).Lookup("sparse").BooleanOK()
				}
				cmd.Indexes = append(cmd.Indexes, spec)
			}
			if _, err := b.PlainAdmin(meta.WithTenant(ctx, got.Tenant), &got, cmd); err != nil {
				return res, fmt.Errorf("indexes of %s.%s: %w", c.DB, c.Name, err)
			}
		}
		res.Collections++
	}
	for _, u := range cat.Users {
		if u.Tenant == "" {
			u.Tenant = meta.DefaultTenant
		}
		created, err := b.meta.CreateUser(ctx, u)
		if err != nil {
			return res, restoreErr(fmt.Errorf("user %s: %w", u.Name, err))
		}
		if created {
			res.Users++
		}
	}
	return res, nil
}

// restoreErr marks the errors a catalog's content causes (names, options, unknown tenants) as bad
// requests.
func restoreErr(err error) error {
	if errors.Is(err, meta.ErrTenantNotFound) || errors.Is(err, meta.ErrInvalid) || errors.Is(err, meta.ErrInvalidName) {
		return fmt.Errorf("%w: %v", httpapi.ErrBadRequest, err)
	}
	return err
}

// RestorePlain upserts documents (BSON after BSON in r) into a plain collection by _id.
func (b *Backend) RestorePlain(ctx context.Context, tenant, db, coll string, r io.Reader) (int64, error) {
	ctx = meta.WithTenant(ctx, tenant)
	c, ok, err := b.Collection(ctx, db, coll)
	if err != nil {
		return 0, err
	}
	if !ok || !c.Plain() {
		return 0, fmt.Errorf("%w: %s.%s is not a plain collection of tenant %q", httpapi.ErrBadRequest, db, coll, tenant)
	}
	var n int64
	var items []plain.Item
	size := 0
	flush := func() error {
		if len(items) == 0 {
			return nil
		}
		res, err := b.PlainWrite(ctx, c, items, false)
		if err != nil {
			return err
		}
		for i, st := range res.Statuses {
			if st != plain.StatusOK {
				return fmt.Errorf("document %d of the batch: status %d", i, st)
			}
		}
		n += int64(len(items))
		items, size = items[:0], 0
		return nil
	}
	for {
		doc, err := readBSON(r)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return n, fmt.Errorf("%w: document %d: %v", httpapi.ErrBadRequest, n+int64(len(items)), err)
		}
		id, err := doc.LookupErr("_id")
		if err != nil {
			return n, fmt.Errorf("%w: document %d has no _id", httpapi.ErrBadRequest, n+int64(len(items)))
		}
		items = append(items, plain.Item{Mode: plain.ModeUpsert, Key: mql.AppendKey(nil, id), Doc: doc})
		if size += len(doc); len(items) >= 1000 || size >= 4<<20 {
			if err := flush(); err != nil {
				return n, err
			}
		}
	}
	return n, flush()
}

// RestoreBatch writes a batch of stored columns into a time-series collection.
func (b *Backend) RestoreBatch(ctx context.Context, tenant, db, coll string, batch *storage.Batch) error {
	ctx = meta.WithTenant(ctx, tenant)
	c, ok, err := b.Collection(ctx, db, coll)
	if err != nil {
		return err
	}
	if !ok || c.Plain() {
		return fmt.Errorf("%w: %s.%s is not a time-series collection of tenant %q", httpapi.ErrBadRequest, db, coll, tenant)
	}
	if err := batch.Validate(); err != nil {
		return fmt.Errorf("%w: %v", httpapi.ErrBadRequest, err)
	}
	if err := batch.Retable(coll, c.TableName()); err != nil {
		return fmt.Errorf("%w: %v", httpapi.ErrBadRequest, err)
	}
	return b.node.Write(ctx, collTenant(ctx, c), db, c.TableName(), batch)
}

// maxRestoreDoc bounds one document of a plain restore (MongoDB's 16 MiB).
const maxRestoreDoc = 16 << 20

// readBSON reads one BSON document of at most maxRestoreDoc bytes (io.EOF at a clean end) and
// checks it.
func readBSON(r io.Reader) (bson.Raw, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, errors.New("truncated document length")
		}
		return nil, err
	}
	n := int(binary.LittleEndian.Uint32(hdr[:]))
	if n < 5 || n > maxRestoreDoc {
		return nil, fmt.Errorf("a document of %d bytes", n)
	}
	doc := make([]byte, n)
	copy(doc, hdr[:])
	if _, err := io.ReadFull(r, doc[4:]); err != nil {
		return nil, fmt.Errorf("truncated document: %w", err)
	}
	if err := bson.Raw(doc).Validate(); err != nil {
		return nil, err
	}
	return doc, nil
}
