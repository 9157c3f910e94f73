package meta

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/chronogo/chronogo/meta/catalog"
)

// proposeCatalog proposes a catalog command, refreshes the cache and decodes the result.
func (c *Client) proposeCatalog(ctx context.Context, cmd catalog.Command) (catalog.Result, error) {
	cmd.Now = c.now()
	r, err := proposeFor[catalog.Result](ctx, c, ShardCatalog, "catalog "+string(cmd.Op), cmd)
	if err != nil {
		return r, err
	}
	c.refreshCatalog()
	return r, catalogError(cmd.Op, r)
}

// catalogError maps the error codes of a result to the package errors.
func catalogError(op catalog.Op, r catalog.Result) error {
	switch r.Code {
	case catalog.CodeTenantNotFound:
		return fmt.Errorf("catalog %s: %w", op, ErrTenantNotFound)
	case catalog.CodeDatabaseNotFound:
		return fmt.Errorf("catalog %s: %w", op, ErrDatabaseNotFound)
	case catalog.CodeCollectionNotFound:
		return fmt.Errorf("catalog %s: %w", op, ErrCollectionNotFound)
	case catalog.CodeUserNotFound:
		return fmt.Errorf("catalog %s: %w", op, ErrUserNotFound)
	case catalog.CodeInvalid:
		return fmt.Errorf("catalog %s: %w: %s", op, ErrInvalid, r.Message)
	case catalog.CodeQuotaExceeded:
		return fmt.Errorf("%w: %s", ErrQuotaExceeded, r.Message)
	case catalog.CodeNotEmpty:
		return fmt.Errorf("%w: %s", ErrTenantNotEmpty, r.Message)
	}
	return nil
}

// CreateTenant creates a tenant with quotas; it reports false when it already existed (default
// always does).
func (c *Client) CreateTenant(ctx context.Context, name string, q Quotas) (bool, error) {
	if err := ValidDatabaseName(name); err != nil { // a tenant name is a directory name too
		return false, fmt.Errorf("create tenant: %w", err)
	}
	r, err := c.proposeCatalog(ctx, catalog.Command{Op: catalog.OpCreateTenant, Name: name, Quotas: &q})
	return r.Code == catalog.CodeCreated, err
}

// UpdateTenant replaces a tenant's quotas (ErrTenantNotFound when missing).
func (c *Client) UpdateTenant(ctx context.Context, name string, q Quotas) error {
	_, err := c.proposeCatalog(ctx, catalog.Command{Op: catalog.OpUpdateTenant, Name: name, Quotas: &q})
	return err
}

// DropTenant drops a tenant and its users (ErrTenantNotEmpty while it has databases).
func (c *Client) DropTenant(ctx context.Context, name string) error {
	_, err := c.proposeCatalog(ctx, catalog.Command{Op: catalog.OpDropTenant, Name: name})
	return err
}

// TenantInfos lists the tenants with their quotas and counts (linearizable).
func (c *Client) TenantInfos(ctx context.Context) ([]Tenant, error) {
	v, err := c.read(ctx, ShardCatalog, catalog.TenantInfosQuery{})
	if err != nil {
		return nil, fmt.Errorf("listing tenants: %w", err)
	}
	return v.([]Tenant), nil
}

// FindUser reads a user by name in whichever tenant has it (user names are unique across
// tenants; linearizable: a dropped user cannot log in).
func (c *Client) FindUser(ctx context.Context, name string) (User, bool, error) {
	v, err := c.read(ctx, ShardCatalog, catalog.UserByNameQuery{Name: name})
	if err != nil {
		return User{}, false, fmt.Errorf("reading user %s: %w", name, err)
	}
	r := v.(catalog.UserResult)
	return r.User, r.Found, nil
}

// CachedQuotas returns a tenant's quotas from the local cache (zero: none, or no such tenant).
func (c *Client) CachedQuotas(tenant string) Quotas {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.catalog.Quotas[tenant]
}

// CachedUserAnyTenant returns a user (without credentials) by name from the local cache,
// whichever tenant has it.
func (c *Client) CachedUserAnyTenant(name string) (User, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for k, u := range c.catalog.Users {
		if k.Name == name {
			return u, true
		}
	}
	return User{}, false
}

// ListTenants lists tenant names, default included (linearizable).
func (c *Client) ListTenants(ctx context.Context) ([]string, error) {
	v, err := c.read(ctx, ShardCatalog, catalog.TenantsQuery{})
	if err != nil {
		return nil, fmt.Errorf("listing tenants: %w", err)
	}
	return v.([]string), nil
}

// CreateUser creates a user of u.Tenant; it reports false when the user already existed (it is
// left unchanged).
func (c *Client) CreateUser(ctx context.Context, u User) (bool, error) {
	r, err := c.proposeCatalog(ctx, catalog.Command{Op: catalog.OpCreateUser, Tenant: u.Tenant, User: &u, GlobalUserName: true})
	return r.Code == catalog.CodeCreated, err
}

// DropUser drops a user (ErrUserNotFound when missing).
func (c *Client) DropUser(ctx context.Context, tenant, name string) error {
	_, err := c.proposeCatalog(ctx, catalog.Command{Op: catalog.OpDropUser, Tenant: tenant, Name: name})
	return err
}

// UserUpdate changes a user in one catalog command (catalog.UserUpdate).
type UserUpdate = catalog.UserUpdate

// UpdateUser changes a user's credentials and roles (ErrUserNotFound when missing).
func (c *Client) UpdateUser(ctx context.Context, tenant, name string, upd UserUpdate) error {
	_, err := c.proposeCatalog(ctx, catalog.Command{Op: catalog.OpUpdateUser, Tenant: tenant, Name: name, UserUpdate: &upd})
	return err
}

// GetUser reads a user (linearizable).
func (c *Client) GetUser(ctx context.Context, tenant, name string) (User, bool, error) {
	v, err := c.read(ctx, ShardCatalog, catalog.UserQuery{Tenant: tenant, Name: name})
	if err != nil {
		return User{}, false, fmt.Errorf("reading user %s.%s: %w", tenant, name, err)
	}
	r := v.(catalog.UserResult)
	return r.User, r.Found, nil
}

// ListUsers lists a tenant's users sorted by name (linearizable).
func (c *Client) ListUsers(ctx context.Context, tenant string) ([]User, error) {
	v, err := c.read(ctx, ShardCatalog, catalog.UsersQuery{Tenant: tenant})
	if err != nil {
		return nil, fmt.Errorf("listing users of %s: %w", tenant, err)
	}
	return v.([]User), nil
}

// CreateDatabase creates db.Name in db.Tenant; zero options take the defaults (replication 1,
// 1 shard, 24h buckets, consistency one when replication is 1 else quorum). Idempotent: when the
// database exists it reports false and returns the existing options unchanged.
func (c *Client) CreateDatabase(ctx context.Context, db Database) (bool, Database, error) {
	if err := ValidDataDatabase(db.Name); err != nil {
		return false, Database{}, err
	}
	db = c.withDatabaseDefaults(db)
	r, err := c.proposeCatalog(ctx, catalog.Command{Op: catalog.OpCreateDatabase, Tenant: db.Tenant, Database: &db})
	if err != nil {
		return false, Database{}, err
	}
	return r.Code == catalog.CodeCreated, *r.Database, nil
}

// SetDatabaseConsistency sets a database's default write level (any, one, quorum, all) and
// returns its options.
func (c *Client) SetDatabaseConsistency(ctx context.Context, tenant, db, level string) (Database, error) {
	r, err := c.proposeCatalog(ctx, catalog.Command{Op: catalog.OpUpdateDatabase, Tenant: tenant, DB: db, Consistency: level})
	if err != nil {
		return Database{}, err
	}
	return *r.Database, nil
}

// DropDatabase drops a database, its collections and then its buckets (placement shard). It
// reports whether the database existed and returns the dropped buckets, whose vnodes the caller
// deletes. The buckets are dropped even when the catalog had no such database.
func (c *Client) DropDatabase(ctx context.Context, tenant, name string) (bool, []Bucket, error) {
	r, err := c.proposeCatalog(ctx, catalog.Command{Op: catalog.OpDropDatabase, Tenant: tenant, DB: name})
	existed := r.Code == catalog.CodeOK
	if err != nil && r.Code != catalog.CodeDatabaseNotFound {
		return false, nil, err
	}
	buckets, err := c.DropBuckets(ctx, tenant, name)
	return existed, buckets, err
}

// GetDatabase reads a database's options (linearizable).
func (c *Client) GetDatabase(ctx context.Context, tenant, name string) (Database, bool, error) {
	v, err := c.read(ctx, ShardCatalog, catalog.DatabaseQuery{Tenant: tenant, Name: name})
	if err != nil {
		return Database{}, false, fmt.Errorf("reading database %s.%s: %w", tenant, name, err)
	}
	r := v.(catalog.DatabaseResult)
	return r.Database, r.Found, nil
}

// ListDatabases lists a tenant's databases sorted by name (linearizable).
func (c *Client) ListDatabases(ctx context.Context, tenant string) ([]Database, error) {
	v, err := c.read(ctx, ShardCatalog, catalog.DatabasesQuery{Tenant: tenant})
	if err != nil {
		return nil, fmt.Errorf("listing databases of %s: %w", tenant, err)
	}
	return v.([]Database), nil
}

// CreateCollection creates coll (its Tenant, DB and Name say where; CreatedAt is set from this
// node's clock), creating the database with defaults when missing (bucket duration 7 days for
// hours granularity or custom spans above a day, else 24h). It returns the outcome and the
// collection as stored: the existing one for ExistsIdentical and ExistsDifferent.
func (c *Client) CreateCollection(ctx context.Context, coll Collection) (CreateOutcome, Collection, error) {
	if err := ValidDataDatabase(coll.DB); err != nil {
		return 0, Collection{}, err
	}
	if err := validHiddenName(coll.DB, coll.Name); err != nil {
		return 0, Collection{}, err
	}
	cmd := catalog.Command{Op: catalog.OpCreateCollection, Tenant: coll.Tenant, DB: coll.DB, Collection: &coll}
	if c.dbDefaults != (Database{}) {
		d := c.withDatabaseDefaults(Database{})
		cmd.Database = &d
	}
	r, err := c.proposeCatalog(ctx, cmd)
	if err != nil {
		return 0, Collection{}, err
	}
	out := Created
	switch r.Code {
	case catalog.CodeExists:
		out = ExistsIdentical
	case catalog.CodeExistsDifferent:
		out = ExistsDifferent
	}
	return out, *r.Collection, nil
}

// DropCollection drops a collection; it reports false when the collection (or its database) did
// not exist.
func (c *Client) DropCollection(ctx context.Context, tenant, db, name string) (bool, error) {
	r, err := c.proposeCatalog(ctx, catalog.Command{Op: catalog.OpDropCollection, Tenant: tenant, DB: db, Name: name})
	if r.Code == catalog.CodeCollectionNotFound || r.Code == catalog.CodeDatabaseNotFound {
		return false, nil
	}
	return err == nil, err
}

// ReplaceCollection puts time-series collection from (a staging collection: HiddenStaging) in
// name's place in one Raft entry, and returns the new entry and the hidden name (HiddenRetired)
// under which the replaced collection waits for its data to be dropped ("" when name did not
// exist). ErrCollectionNotFound when from is gone (swept), ErrInvalid when either is plain.
func (c *Client) ReplaceCollection(ctx context.Context, tenant, db, name, from string) (Collection, string, error) {
	retire := HiddenCollectionName(name, HiddenRetired, rand.Uint64())
	r, err := c.proposeCatalog(ctx, catalog.Command{Op: catalog.OpReplaceCollection, Tenant: tenant, DB: db,
		Name: name, From: from, Retire: retire})
	if err != nil {
		return Collection{}, "", err
	}
	if len(r.Dropped) == 0 {
		retire = ""
	}
	return *r.Collection, retire, nil
}

// UpdateCollection applies a collMod and returns the updated collection (ErrCollectionNotFound,
// ErrDatabaseNotFound, ErrInvalid).
func (c *Client) UpdateCollection(ctx context.Context, tenant, db, name string, u CollectionUpdate) (Collection, error) {
	r, err := c.proposeCatalog(ctx, catalog.Command{Op: catalog.OpUpdateCollection, Tenant: tenant, DB: db,
		Name: name, Update: &u})
	if err != nil {
		return Collection{}, err
	}
	return *r.Collection, nil
}

// GetCollection reads a collection (linearizable: use it for DDL).
func (c *Client) GetCollection(ctx context.Context, tenant, db, name string) (Collection, bool, error) {
	v, err := c.read(ctx, ShardCatalog, catalog.CollectionQuery{Tenant: tenant, DB: db, Name: name})
	if err != nil {
		return Collection{}, false, fmt.Errorf("reading collection %s.%s.%s: %w", tenant, db, name, err)
	}
	r := v.(catalog.CollectionResult)
	return r.Collection, r.Found, nil
}

// ListCollections lists a database's collections sorted by name (linearizable).
func (c *Client) ListCollections(ctx context.Context, tenant, db string) ([]Collection, error) {
	v, err := c.read(ctx, ShardCatalog, catalog.CollectionsQuery{Tenant: tenant, DB: db})
	if err != nil {
		return nil, fmt.Errorf("listing collections of %s.%s: %w", tenant, db, err)
	}
	return v.([]Collection), nil
}

// CachedCollection returns a collection from the local cache (hot path; may lag by one poll).
// The Indexes slice is shared with the cache: do not modify it.
func (c *Client) CachedCollection(tenant, db, name string) (Collection, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	coll, ok := c.catalog.Collections[catalog.Key{Tenant: tenant, DB: db, Name: name}]
	return coll, ok
}

// CachedUser returns a user (without credentials) from the local cache: what a node knows
// without asking the leader, refreshed as the catalog changes.
func (c *Client) CachedUser(tenant, name string) (User, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	u, ok := c.catalog.Users[catalog.Key{Tenant: tenant, Name: name}]
	return u, ok
}

// CachedDatabase returns a database's options from the local cache.
func (c *Client) CachedDatabase(tenant, db string) (Database, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	d, ok := c.catalog.Databases[catalog.Key{Tenant: tenant, DB: db}]
	return d, ok
}

// withDatabaseDefaults fills db's zero replication factor, shard count and consistency from the
// host's Config.DatabaseDefaults (the catalog fills what is still zero).
func (c *Client) withDatabaseDefaults(db Database) Database {
	if db.ReplicationFactor == 0 {
		db.ReplicationFactor = c.dbDefaults.ReplicationFactor
	}
	if db.ShardCount == 0 {
		db.ShardCount = c.dbDefaults.ShardCount
	}
	if db.Consistency == "" {
		db.Consistency = c.dbDefaults.Consistency
	}
	return db
}
