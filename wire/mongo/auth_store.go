package mongo

import (
	"context"
	"strings"

	"github.com/chronogo/chronogo/meta"
)

// UserStore keeps the users of the server's tenant (the Raft catalog in production). A user is
// named "<db>.<user>" there: MongoDB users belong to their authentication database, and database
// names never contain a dot.
type UserStore interface {
	CreateUser(ctx context.Context, u meta.User) (created bool, err error)
	DropUser(ctx context.Context, name string) error // meta.ErrUserNotFound when missing
	UpdateUser(ctx context.Context, name string, upd meta.UserUpdate) error
	GetUser(ctx context.Context, name string) (meta.User, bool, error)
	ListUsers(ctx context.Context) ([]meta.User, error)
	// CachedUser is GetUser from a local cache (no credentials needed): checked at every command,
	// so a dropped user or changed roles take effect on open connections too.
	CachedUser(name string) (meta.User, bool)
}

// userKey is a user's name in the store.
func userKey(db, user string) string { return db + "." + user }

// splitUserKey undoes userKey.
func splitUserKey(key string) (db, user string) {
	db, user, _ = strings.Cut(key, ".")
	return db, user
}
