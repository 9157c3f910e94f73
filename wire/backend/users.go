package backend

import (
	"context"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/wire/mongo"
)

var _ mongo.UserStore = (*Backend)(nil)

// CreateUser stores a user of the backend's tenant in the Raft catalog.
func (b *Backend) CreateUser(ctx context.Context, u meta.User) (bool, error) {
	u.Tenant = b.tenant
	return b.meta.CreateUser(ctx, u)
}

// DropUser drops a user of the backend's tenant (meta.ErrUserNotFound when missing).
func (b *Backend) DropUser(ctx context.Context, name string) error {
	return b.meta.DropUser(ctx, b.tenant, name)
}

// GetUser reads a user of the backend's tenant (linearizable: a dropped user cannot log in).
func (b *Backend) GetUser(ctx context.Context, name string) (meta.User, bool, error) {
	return b.meta.GetUser(ctx, b.tenant, name)
}

// ListUsers lists the users of the backend's tenant.
func (b *Backend) ListUsers(ctx context.Context) ([]meta.User, error) {
	return b.meta.ListUsers(ctx, b.tenant)
}

// CachedUser reads a user (without credentials) from the node's catalog cache.
func (b *Backend) CachedUser(name string) (meta.User, bool) {
	return b.meta.CachedUser(b.tenant, name)
}

// UpdateUser changes a user of the backend's tenant (meta.ErrUserNotFound when missing).
func (b *Backend) UpdateUser(ctx context.Context, name string, upd meta.UserUpdate) error {
	return b.meta.UpdateUser(ctx, b.tenant, name, upd)
}
