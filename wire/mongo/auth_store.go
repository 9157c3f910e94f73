package mongo

import (
	"context"
	"strings"

	"github.com/chronogo/chronogo/meta"
)

// UserStore keeps the users (the Raft catalog in production). A user belongs to one tenant; user
// names ("<db>.<user>") are unique across tenants, so a login finds its tenant by name.
type UserStore interface {
	// CreateUser creates u in u.Tenant; false when the name is taken (in any tenant).
	CreateUser(ctx context.Context, u meta.User) (created bool, err error)
	DropUser(ctx context.Context, tenant, name string) error // meta.ErrUserNotFound when missing
	UpdateUser(ctx context.Context, tenant, name string, upd meta.UserUpdate) error
	// GetUser finds a user by name in any tenant (linearizable).
	GetUser(ctx context.Context, name string) (meta.User, bool, error)
	ListUsers(ctx context.Context, tenant string) ([]meta.User, error)
	// CachedUser is GetUser from a local cache (no credentials): checked at every command, so a
	// dropped user or changed roles take effect on open connections too.
	CachedUser(name string) (meta.User, bool)
}

// TenantStore keeps the tenants and their quotas (the Raft catalog in production).
type TenantStore interface {
	CreateTenant(ctx context.Context, name string, q meta.Quotas) (created bool, err error)
	UpdateTenant(ctx context.Context, name string, q meta.Quotas) error // meta.ErrTenantNotFound
	DropTenant(ctx context.Context, name string) error                  // meta.ErrTenantNotEmpty, meta.ErrTenantNotFound
	ListTenants(ctx context.Context) ([]meta.Tenant, error)
}

// userKey is a user's name in the store.
func userKey(db, user string) string { return db + "." + user }

// splitUserKey undoes userKey.
func splitUserKey(key string) (db, user string) {
	db, user, _ = strings.Cut(key, ".")
	return db, user
}
