package catalog

import (
	"fmt"
	"slices"
	"strings"

	"github.com/chronogo/chronogo/meta/model"
)

// Queries answered by Lookup. Each returns copies, never memory shared with the state.
type (
	// VersionQuery asks for the shard version (uint64).
	VersionQuery struct{}
	// TenantsQuery lists tenant names, default included ([]string, sorted).
	TenantsQuery struct{}
	// TenantInfosQuery lists the tenants with their quotas and counts ([]model.Tenant, sorted).
	TenantInfosQuery struct{}
	// UserByNameQuery finds a user in whichever tenant has it (UserResult): names are unique.
	UserByNameQuery struct{ Name string }
	// UsersQuery lists a tenant's users ([]model.User, sorted by name).
	UsersQuery struct{ Tenant string }
	// UserQuery gets one user (UserResult).
	UserQuery struct{ Tenant, Name string }
	// DatabasesQuery lists a tenant's databases ([]model.Database, sorted by name).
	DatabasesQuery struct{ Tenant string }
	// DatabaseQuery gets one database (DatabaseResult).
	DatabaseQuery struct{ Tenant, Name string }
	// CollectionsQuery lists a database's collections ([]model.Collection, sorted by name).
	CollectionsQuery struct{ Tenant, DB string }
	// CollectionQuery gets one collection (CollectionResult).
	CollectionQuery struct{ Tenant, DB, Name string }
	// ViewQuery copies every database, collection and user (without credentials) for a client
	// cache (View).
	ViewQuery struct{}
)

// UserResult answers UserQuery.
type UserResult struct {
	User  model.User
	Found bool
}

// DatabaseResult answers DatabaseQuery.
type DatabaseResult struct {
	Database model.Database
	Found    bool
}

// CollectionResult answers CollectionQuery; DatabaseFound tells a missing database from a missing
// collection.
type CollectionResult struct {
	Collection    model.Collection
	Found         bool
	DatabaseFound bool
}

// Key names a collection or (with an empty Name) a database in a View.
type Key struct{ Tenant, DB, Name string }

// View is a copy of the catalog's databases and collections at Version.
type View struct {
	Version     uint64
	Databases   map[Key]model.Database
	Collections map[Key]model.Collection
	Users       map[Key]model.User // Key{Tenant, Name: user}; without credentials
	Quotas      map[string]model.Quotas
}

// Lookup answers one of the queries above.
func (s *State) Lookup(q any) (any, error) {
	switch q := q.(type) {
	case VersionQuery:
		return s.Version, nil
	case TenantsQuery:
		names := sortedKeys(s.Tenants)
		if s.Tenants[model.DefaultTenant] == nil {
			names = append([]string{model.DefaultTenant}, names...)
			slices.Sort(names)
		}
		return names, nil
	case TenantInfosQuery:
		out := []model.Tenant{}
		if s.Tenants[model.DefaultTenant] == nil {
			out = append(out, model.Tenant{Name: model.DefaultTenant})
		}
		for _, k := range sortedKeys(s.Tenants) {
			t := s.Tenants[k]
			out = append(out, model.Tenant{Name: t.Name, CreatedAt: t.CreatedAt, Quotas: t.Quotas, Databases: len(t.Databases), Users: len(t.Users)})
		}
		slices.SortFunc(out, func(a, b model.Tenant) int { return strings.Compare(a.Name, b.Name) })
		return out, nil
	case UserByNameQuery:
		t, ok := s.userTenant(q.Name)
		if !ok {
			return UserResult{}, nil
		}
		return UserResult{User: *cloneUser(t.Users[q.Name]), Found: true}, nil
	case UsersQuery:
		t := s.Tenants[q.Tenant]
		if t == nil {
			return []model.User{}, nil
		}
		out := make([]model.User, 0, len(t.Users))
		for _, k := range sortedKeys(t.Users) {
			out = append(out, *cloneUser(t.Users[k]))
		}
		return out, nil
	case UserQuery:
		if t := s.Tenants[q.Tenant]; t != nil && t.Users[q.Name] != nil {
			return UserResult{User: *cloneUser(t.Users[q.Name]), Found: true}, nil
		}
		return UserResult{}, nil
	case DatabasesQuery:
		t := s.Tenants[q.Tenant]
		if t == nil {
			return []model.Database{}, nil
		}
		out := make([]model.Database, 0, len(t.Databases))
		for _, k := range sortedKeys(t.Databases) {
			out = append(out, t.Databases[k].options())
		}
		return out, nil
	case DatabaseQuery:
		if d := s.database(q.Tenant, q.Name); d != nil {
			return DatabaseResult{Database: d.options(), Found: true}, nil
		}
		return DatabaseResult{}, nil
	case CollectionsQuery:
		d := s.database(q.Tenant, q.DB)
		if d == nil {
			return []model.Collection{}, nil
		}
		out := make([]model.Collection, 0, len(d.Collections))
		for _, k := range sortedKeys(d.Collections) {
			out = append(out, *cloneCollection(d.Collections[k]))
		}
		return out, nil
	case CollectionQuery:
		d := s.database(q.Tenant, q.DB)
		if d == nil {
			return CollectionResult{}, nil
		}
		if c := d.Collections[q.Name]; c != nil {
			return CollectionResult{Collection: *cloneCollection(c), Found: true, DatabaseFound: true}, nil
		}
		return CollectionResult{DatabaseFound: true}, nil
	case ViewQuery:
		return s.view(), nil
	}
	return nil, fmt.Errorf("catalog: unknown query %T", q)
}

// view copies every database and collection.
func (s *State) view() View {
	v := View{Version: s.Version, Databases: map[Key]model.Database{}, Collections: map[Key]model.Collection{}, Users: map[Key]model.User{},
		Quotas: map[string]model.Quotas{}}
	for tn, t := range s.Tenants {
		v.Quotas[tn] = t.Quotas
		for un, u := range t.Users {
			c := *cloneUser(u)
			c.Credentials = nil
			v.Users[Key{Tenant: tn, Name: un}] = c
		}
		for dn, d := range t.Databases {
			v.Databases[Key{Tenant: tn, DB: dn}] = d.options()
			for cn, c := range d.Collections {
				v.Collections[Key{Tenant: tn, DB: dn, Name: cn}] = *cloneCollection(c)
			}
		}
	}
	return v
}
