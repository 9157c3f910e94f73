package mongo

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"sync"
	"time"

	"github.com/xdg-go/scram"

	"github.com/chronogo/chronogo/meta"
)

// Password logins for other protocols (InfluxDB's /write: u/p or Basic auth) check the same users:
// the password is salted and hashed as SCRAM-SHA-256 would and compared with the stored key. That
// costs 15000 PBKDF2 iterations, so a good password is remembered (as its SHA-256, never in
// clear) for a minute.

const passwordCacheTTL = time.Minute

type passwordCache struct {
	mu sync.Mutex
	m  map[[32]byte]time.Time // sha256(db, user, password) -> good until
}

// CheckPassword reports whether password is the password of user of database db, and the user
// (roles "role@db" and tenant; no credentials) when it is.
func (s *Server) CheckPassword(ctx context.Context, db, user, password string) (meta.User, bool, error) {
	if s.cfg.Users == nil {
		return meta.User{}, false, nil
	}
	u, found, err := s.cfg.Users.GetUser(ctx, userKey(db, user))
	if err != nil || !found {
		return meta.User{}, false, err
	}
	creds := u.Credentials
	u.Credentials = nil
	key := sha256.Sum256([]byte(db + "\x00" + user + "\x00" + password))
	s.pwCache.mu.Lock()
	until, ok := s.pwCache.m[key]
	s.pwCache.mu.Unlock()
	if ok && time.Now().Before(until) {
		return u, true, nil
	}
	if !passwordMatches(creds, user, password) {
		return meta.User{}, false, nil
	}
	s.pwCache.mu.Lock()
	if s.pwCache.m == nil || len(s.pwCache.m) > 10000 {
		s.pwCache.m = map[[32]byte]time.Time{}
	}
	s.pwCache.m[key] = time.Now().Add(passwordCacheTTL)
	s.pwCache.mu.Unlock()
	return u, true, nil
}

// IsClusterAdmin reports whether u is a cluster administrator: a user of the default tenant whose
// roles grant server-wide operations (clusterAdmin or root on admin).
func IsClusterAdmin(u meta.User) bool {
	if u.Tenant != "" && u.Tenant != meta.DefaultTenant {
		return false
	}
	return allows(parseRoles(u.Roles), actClusterAdmin, "admin")
}

// MayRead reports whether roles ("role@db") allow reading db.
func MayRead(roles []string, db string) bool {
	return allows(parseRoles(roles), actRead, db)
}

// MayWrite reports whether roles ("role@db") allow inserts into db.
func MayWrite(roles []string, db string) bool {
	return allows(parseRoles(roles), actWrite, db)
}

// AdminUserName is the catalog name of user user of the admin database (users are stored by
// db.user).
func AdminUserName(user string) string { return userKey("admin", user) }

// PasswordMatches reports whether password is that of u, who logs in as user (its SCRAM-SHA-256
// stored key): for the meta nodes' admin API, which has no MongoDB listener to log in through.
func PasswordMatches(u meta.User, user, password string) bool {
	return passwordMatches(u.Credentials, user, password)
}

func passwordMatches(creds []byte, user, password string) bool {
	sc, err := stored(creds, mechSHA256)
	if err != nil {
		return false
	}
	client, err := scram.SHA256.NewClient(user, password, "")
	if err != nil {
		return false
	}
	got := client.GetStoredCredentials(sc.KeyFactors)
	return subtle.ConstantTimeCompare(got.StoredKey, sc.StoredKey) == 1
}
