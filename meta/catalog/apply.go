package catalog

import (
	"fmt"
	"slices"

	"github.com/chronogo/chronogo/meta/model"
)

// Apply applies one command to s and returns its outcome. It is deterministic: no clock, no
// randomness, map iteration only over sorted keys; `now` arrives in the command. Every command that
// changes s bumps s.Version; the result carries the version after the command.
func Apply(s *State, c Command) Result {
	r := apply(s, c)
	r.Version = s.Version
	return r
}

// apply dispatches on the op.
func apply(s *State, c Command) Result {
	switch c.Op {
	case OpCreateTenant:
		return createTenant(s, c)
	case OpUpdateTenant:
		return updateTenant(s, c)
	case OpDropTenant:
		return dropTenant(s, c)
	case OpCreateUser:
		return createUser(s, c)
	case OpDropUser:
		return dropUser(s, c)
	case OpUpdateUser:
		return updateUser(s, c)
	case OpCreateDatabase:
		return createDatabase(s, c)
	case OpDropDatabase:
		return dropDatabase(s, c)
	case OpCreateCollection:
		return createCollection(s, c)
	case OpDropCollection:
		return dropCollection(s, c)
	case OpUpdateCollection:
		return updateCollection(s, c)
	case OpUpdateDatabase:
		return updateDatabase(s, c)
	case OpReplaceCollection:
		return replaceCollection(s, c)
	}
	return invalid("unknown op %q", c.Op)
}

// invalid builds a CodeInvalid result.
func invalid(format string, args ...any) Result {
	return Result{Code: CodeInvalid, Message: fmt.Sprintf(format, args...)}
}

// createTenant creates a tenant; the default tenant always exists.
func createTenant(s *State, c Command) Result {
	if c.Name == "" {
		return invalid("tenant name is empty")
	}
	if c.Name == model.DefaultTenant || s.Tenants[c.Name] != nil {
		return Result{Code: CodeExists}
	}
	t := newTenant(c.Name, c.Now)
	if c.Quotas != nil {
		if err := checkQuotas(*c.Quotas); err != nil {
			return invalid("%v", err)
		}
		t.Quotas = *c.Quotas
	}
	s.Tenants[c.Name] = t
	s.Version++
	return Result{Code: CodeCreated}
}

func checkQuotas(q model.Quotas) error {
	if q.MaxDatabases < 0 || q.MaxSeries < 0 || q.MaxBytes < 0 || q.MaxWriteValuesPerSec < 0 {
		return fmt.Errorf("quotas must not be negative")
	}
	return nil
}

// updateTenant replaces a tenant's quotas (the default tenant's too).
func updateTenant(s *State, c Command) Result {
	t := s.tenant(c.Name, true, c.Now)
	if t == nil {
		return Result{Code: CodeTenantNotFound}
	}
	if c.Quotas == nil {
		return invalid("update_tenant without quotas")
	}
	if err := checkQuotas(*c.Quotas); err != nil {
		return invalid("%v", err)
	}
	t.Quotas = *c.Quotas
	s.Version++
	return Result{Code: CodeOK}
}

// dropTenant removes a tenant and its users; one that still has databases is refused (drop them
// first), and the default tenant cannot be dropped.
func dropTenant(s *State, c Command) Result {
	if c.Name == model.DefaultTenant {
		return invalid("the default tenant cannot be dropped")
	}
	t := s.Tenants[c.Name]
	if t == nil {
		return Result{Code: CodeTenantNotFound}
	}
	if len(t.Databases) > 0 {
		return Result{Code: CodeNotEmpty, Message: fmt.Sprintf("tenant %q still has %d databases: drop them first", c.Name, len(t.Databases))}
	}
	delete(s.Tenants, c.Name)
	s.Version++
	return Result{Code: CodeOK}
}

// userTenant is the tenant that has a user named name, if any: user names are unique across
// tenants, so a login names its tenant.
func (s *State) userTenant(name string) (*Tenant, bool) {
	for _, k := range sortedKeys(s.Tenants) {
		if s.Tenants[k].Users[name] != nil {
			return s.Tenants[k], true
		}
	}
	return nil, false
}

// createUser adds a user to a tenant; an existing user is left unchanged (CodeExists).
func createUser(s *State, c Command) Result {
	if c.User == nil || c.User.Name == "" {
		return invalid("user name is empty")
	}
	t := s.tenant(c.Tenant, true, c.Now)
	if t == nil {
		return Result{Code: CodeTenantNotFound}
	}
	if t.Users[c.User.Name] != nil {
		return Result{Code: CodeExists}
	}
	if _, taken := s.userTenant(c.User.Name); taken && c.GlobalUserName {
		return Result{Code: CodeExists}
	}
	u := cloneUser(c.User)
	u.Tenant, u.CreatedAt = c.Tenant, c.Now
	t.Users[u.Name] = u
	s.Version++
	return Result{Code: CodeCreated}
}

// dropUser removes a user.
func dropUser(s *State, c Command) Result {
	t := s.Tenants[c.Tenant]
	if t == nil || t.Users[c.Name] == nil {
		return Result{Code: CodeUserNotFound}
	}
	delete(t.Users, c.Name)
	s.Version++
	return Result{Code: CodeOK}
}

// updateUser changes a user's credentials and roles.
func updateUser(s *State, c Command) Result {
	t := s.Tenants[c.Tenant]
	if t == nil || t.Users[c.Name] == nil {
		return Result{Code: CodeUserNotFound}
	}
	if c.UserUpdate == nil {
		return invalid("update_user without an update")
	}
	u := cloneUser(t.Users[c.Name])
	upd := c.UserUpdate
	if upd.Credentials != nil {
		u.Credentials = append([]byte(nil), upd.Credentials...)
	}
	if upd.SetRoles {
		u.Roles = append([]string{}, upd.Roles...)
	}
	for _, r := range upd.AddRoles {
		if !slices.Contains(u.Roles, r) {
			u.Roles = append(u.Roles, r)
		}
	}
	u.Roles = slices.DeleteFunc(u.Roles, func(r string) bool { return slices.Contains(upd.RemoveRoles, r) })
	t.Users[c.Name] = u
	s.Version++
	return Result{Code: CodeOK}
}

// createDatabase creates a database with defaults for zero options. It is idempotent: an existing
// database is returned unchanged with CodeExists, whatever options the command carries.
func createDatabase(s *State, c Command) Result {
	if c.Database == nil {
		return invalid("database is missing")
	}
	d := *c.Database
	d.Tenant = c.Tenant
	if err := normalizeDatabase(&d); err != nil {
		return invalid("%v", err)
	}
	t := s.tenant(c.Tenant, true, c.Now)
	if t == nil {
		return Result{Code: CodeTenantNotFound}
	}
	if old := t.Databases[d.Name]; old != nil {
		opts := old.Options
		return Result{Code: CodeExists, Database: &opts}
	}
	if err := t.roomForDatabase(); err != nil {
		return *err
	}
	t.Databases[d.Name] = &Database{Options: d, CreatedAt: c.Now, Collections: map[string]*model.Collection{}}
	s.Version++
	return Result{Code: CodeCreated, Database: &d}
}

// updateDatabase sets a database's default write level.
func updateDatabase(s *State, c Command) Result {
	d := s.database(c.Tenant, c.DB)
	if d == nil {
		return Result{Code: CodeDatabaseNotFound}
	}
	switch c.Consistency {
	case "any", "one", "quorum", "all":
	default:
		return invalid("consistency %q; want any, one, quorum or all", c.Consistency)
	}
	d.Options.Consistency = c.Consistency
	s.Version++
	opts := d.Options
	return Result{Code: CodeOK, Database: &opts}
}

// dropDatabase removes a database and all its collections.
func dropDatabase(s *State, c Command) Result {
	d := s.database(c.Tenant, c.DB)
	if d == nil {
		return Result{Code: CodeDatabaseNotFound}
	}
	opts := d.Options
	dropped := sortedKeys(d.Collections)
	delete(s.Tenants[c.Tenant].Databases, c.DB)
	s.Version++
	return Result{Code: CodeOK, Database: &opts, Dropped: dropped}
}

// createCollection creates a collection, and its database when missing: with the command's
// Database options as a template (zero fields take the defaults). An existing
// collection answers CodeExists when its options equal the command's, else CodeExistsDifferent.
func createCollection(s *State, c Command) Result {
	if c.Collection == nil {
		return invalid("collection is missing")
	}
	coll := cloneCollection(c.Collection)
	coll.Tenant, coll.DB, coll.CreatedAt = c.Tenant, c.DB, c.Now
	if err := normalizeCollection(coll); err != nil {
		return invalid("%v", err)
	}
	t := s.tenant(c.Tenant, true, c.Now)
	if t == nil {
		return Result{Code: CodeTenantNotFound}
	}
	d := t.Databases[c.DB]
	if d == nil {
		if err := t.roomForDatabase(); err != nil {
			return *err
		}
		// the command may carry the proposing node's defaults for an implicit database
		opts := model.Database{}
		if c.Database != nil {
			opts = *c.Database
		}
		opts.Tenant, opts.Name = c.Tenant, c.DB
		if opts.BucketDuration == 0 {
			opts.BucketDuration = BucketDurationFor(coll)
		}
		if err := normalizeDatabase(&opts); err != nil {
			return invalid("%v", err)
		}
		d = &Database{Options: opts, CreatedAt: c.Now, Collections: map[string]*model.Collection{}}
		t.Databases[c.DB] = d
	} else if old := d.Collections[coll.Name]; old != nil {
		code := CodeExists
		if !sameOptions(old, coll) {
			code = CodeExistsDifferent
		}
		return Result{Code: code, Collection: cloneCollection(old)}
	}
	if d.tableTaken(coll.TableName()) {
		// a retired collection still holds the name's table: its data is dropped by a
		// versioned delete of that table, which must not reach this collection's points
		for n := 0; ; n++ {
			if t := fmt.Sprintf("%s$t.%x.%d", coll.Name, c.Now, n); !d.tableTaken(t) {
				coll.Table = t
				break
			}
		}
	}
	d.Collections[coll.Name] = coll
	s.Version++
	opts := d.Options
	return Result{Code: CodeCreated, Collection: cloneCollection(coll), Database: &opts}
}

// dropCollection removes a collection (its database stays).
func dropCollection(s *State, c Command) Result {
	d := s.database(c.Tenant, c.DB)
	if d == nil {
		return Result{Code: CodeDatabaseNotFound}
	}
	old := d.Collections[c.Name]
	if old == nil {
		return Result{Code: CodeCollectionNotFound}
	}
	delete(d.Collections, c.Name)
	s.Version++
	return Result{Code: CodeOK, Collection: cloneCollection(old)}
}

// updateCollection applies a collMod: TTL, indexes and a coarser granularity.
func updateCollection(s *State, c Command) Result {
	if c.Update == nil {
		return invalid("update is missing")
	}
	d := s.database(c.Tenant, c.DB)
	if d == nil {
		return Result{Code: CodeDatabaseNotFound}
	}
	old := d.Collections[c.Name]
	if old == nil {
		return Result{Code: CodeCollectionNotFound}
	}
	u := c.Update
	next := cloneCollection(old)
	if u.SetTTL {
		if u.HasTTL && u.ExpireAfterSeconds < 0 {
			return invalid("expireAfterSeconds %d; want >= 0", u.ExpireAfterSeconds)
		}
		next.HasTTL, next.ExpireAfterSeconds = u.HasTTL, u.ExpireAfterSeconds
		if !u.HasTTL {
			next.ExpireAfterSeconds = 0
		}
	}
	if u.SetIndexes {
		next.Indexes = cloneCollection(&model.Collection{Indexes: u.Indexes}).Indexes
	}
	if u.Granularity != "" && u.Granularity != old.Granularity {
		rank, ok := granularityRank[u.Granularity]
		switch {
		case !ok:
			return invalid("granularity %q; want seconds, minutes or hours", u.Granularity)
		case old.Granularity == "":
			return invalid("cannot set granularity on a collection with custom bucketing")
		case rank < granularityRank[old.Granularity]:
			return invalid("granularity may only increase: %s to %s", old.Granularity, u.Granularity)
		}
		next.Granularity, next.BucketMaxSpanSeconds = u.Granularity, granularitySpan[u.Granularity]
	}
	d.Collections[c.Name] = next
	s.Version++
	return Result{Code: CodeOK, Collection: cloneCollection(next)}
}

// roomForDatabase refuses one more database past the tenant's max_databases quota.
func (t *Tenant) roomForDatabase() *Result {
	if max := t.Quotas.MaxDatabases; max > 0 && int64(len(t.Databases)) >= max {
		return &Result{Code: CodeQuotaExceeded, Message: fmt.Sprintf("tenant %q: quota max_databases=%d reached", t.Name, max)}
	}
	return nil
}
