package backend

import (
	"context"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/wire/mongo"
)

var (
	_ mongo.UserStore   = (*Backend)(nil)
	_ mongo.TenantStore = (*Backend)(nil)
)

// CreateUser stores a user of u.Tenant in the Raft catalog (names are unique across tenants).
func (b *Backend) CreateUser(ctx context.Context, u meta.User) (bool, error) {
	return b.meta.CreateUser(ctx, u)
}

// DropUser drops a user of tenant (meta.ErrUserNotFound when missing).
func (b *Backend) DropUser(ctx context.Context, tenant, name string) error {
	return b.meta.DropUser(ctx, tenant, name)
}

// GetUser finds a user by name in any tenant (linearizable: a dropped user cannot log in).
func (b *Backend) GetUser(ctx context.Context, name string) (meta.User, bool, error) {
	return b.meta.FindUser(ctx, name)
}

// ListUsers lists the users of tenant.
func (b *Backend) ListUsers(ctx context.Context, tenant string) ([]meta.User, error) {
	return b.meta.ListUsers(ctx, tenant)
}

// CachedUser reads a user (without credentials) from the node's catalog cache, in any tenant.
func (b *Backend) CachedUser(name string) (meta.User, bool) {
	return b.meta.CachedUserAnyTenant(name)
}

// UpdateUser changes a user of tenant (meta.ErrUserNotFound when missing).
func (b *Backend) UpdateUser(ctx context.Context, tenant, name string, upd meta.UserUpdate) error {
	return b.meta.UpdateUser(ctx, tenant, name, upd)
}

// CreateTenant creates a tenant with quotas.
func (b *Backend) CreateTenant(ctx context.Context, name string, q meta.Quotas) (bool, error) {
	return b.meta.CreateTenant(ctx, name, q)
}

// UpdateTenant replaces a tenant's quotas.
func (b *Backend) UpdateTenant(ctx context.Context, name string, q meta.Quotas) error {
	return b.meta.UpdateTenant(ctx, name, q)
}

// DropTenant drops a tenant without databases, and its users.
func (b *Backend) DropTenant(ctx context.Context, name string) error {
	return b.meta.DropTenant(ctx, name)
}

// ListTenants lists the tenants with their quotas and counts.
func (b *Backend) ListTenants(ctx context.Context) ([]meta.Tenant, error) {
	return b.meta.TenantInfos(ctx)
}
