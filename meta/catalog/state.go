package catalog

import (
	"slices"

	"github.com/chronogo/chronogo/meta/model"
)

// State is the whole catalog. Maps are keyed by name; encoding/json sorts map keys, so the snapshot
// of a State is canonical. The default tenant exists implicitly and is materialised on first use.
type State struct {
	// Version counts mutations; commands that change nothing leave it alone.
	Version uint64             `json:"version"`
	Tenants map[string]*Tenant `json:"tenants"`
}

// Tenant holds a tenant's users and databases.
type Tenant struct {
	Name      string                 `json:"name"`
	CreatedAt int64                  `json:"created_at"`
	Quotas    model.Quotas           `json:"quotas,omitzero"`
	Users     map[string]*model.User `json:"users"`
	Databases map[string]*Database   `json:"databases"`
}

// Database is a database's options and its collections.
type Database struct {
	Options     model.Database               `json:"options"`
	CreatedAt   int64                        `json:"created_at"`
	Collections map[string]*model.Collection `json:"collections"`
}

// options are the database's options as queries answer them: with its CreatedAt.
func (d *Database) options() model.Database {
	o := d.Options
	o.CreatedAt = d.CreatedAt
	return o
}

// New returns an empty catalog.
func New() *State {
	return &State{Tenants: map[string]*Tenant{}}
}

// newTenant returns an empty tenant.
func newTenant(name string, now int64) *Tenant {
	return &Tenant{Name: name, CreatedAt: now, Users: map[string]*model.User{}, Databases: map[string]*Database{}}
}

// tenant returns a tenant, materialising the default tenant when create is set.
func (s *State) tenant(name string, create bool, now int64) *Tenant {
	if t, ok := s.Tenants[name]; ok {
		return t
	}
	if name != model.DefaultTenant || !create {
		return nil
	}
	t := newTenant(name, now)
	s.Tenants[name] = t
	return t
}

// database returns a database or nil.
func (s *State) database(tenant, db string) *Database {
	t := s.Tenants[tenant]
	if t == nil {
		return nil
	}
	return t.Databases[db]
}

// cloneCollection deep-copies a collection so callers never share memory with the state.
func cloneCollection(c *model.Collection) *model.Collection {
	out := *c
	if c.Indexes != nil {
		out.Indexes = make([]model.Index, len(c.Indexes))
		for i, ix := range c.Indexes {
			out.Indexes[i] = model.Index{Name: ix.Name, Key: slices.Clone(ix.Key), Options: slices.Clone(ix.Options)}
		}
	}
	return &out
}

// cloneUser deep-copies a user.
func cloneUser(u *model.User) *model.User {
	out := *u
	out.Credentials = slices.Clone(u.Credentials)
	out.Roles = slices.Clone(u.Roles)
	return &out
}

// sortedKeys returns a map's keys in order, for deterministic iteration.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
