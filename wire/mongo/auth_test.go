package mongo

import (
	"context"
	"net"
	"sort"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/xdg-go/scram"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/meta"
)

// memUsers is an in-memory UserStore for unit tests (production uses the Raft catalog).
type memUsers struct {
	mu sync.Mutex
	m  map[string]meta.User
}

func (s *memUsers) CreateUser(_ context.Context, u meta.User) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[u.Name]; ok {
		return false, nil
	}
	s.m[u.Name] = u
	return true, nil
}

func (s *memUsers) DropUser(_ context.Context, tenant, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u, ok := s.m[name]; !ok || u.Tenant != tenant {
		return meta.ErrUserNotFound
	}
	delete(s.m, name)
	return nil
}

func (s *memUsers) UpdateUser(_ context.Context, tenant, name string, upd meta.UserUpdate) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.m[name]
	if !ok || u.Tenant != tenant {
		return meta.ErrUserNotFound
	}
	if upd.Credentials != nil {
		u.Credentials = upd.Credentials
	}
	if upd.SetRoles {
		u.Roles = upd.Roles
	}
	s.m[name] = u
	return nil
}

func (s *memUsers) GetUser(_ context.Context, name string) (meta.User, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.m[name]
	return u, ok, nil
}

func (s *memUsers) CachedUser(name string) (meta.User, bool) {
	u, ok, _ := s.GetUser(context.Background(), name)
	return u, ok
}

func (s *memUsers) ListUsers(_ context.Context, tenant string) ([]meta.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []meta.User
	for _, u := range s.m {
		if u.Tenant == tenant {
			out = append(out, u)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// TestEveryCommandHasAnAction: no command reaches the dispatcher without an entry in the
// authorization table (a missing one would silently need root).
func TestEveryCommandHasAnAction(t *testing.T) {
	for name := range commands {
		_, ok := commandAction[name]
		require.True(t, ok, "command %s has no action in commandAction", name)
	}
}

// TestBuiltInRoles checks each built-in role against representative commands of every class, on
// its own database and on another one, from MongoDB's documented privileges.
func TestBuiltInRoles(t *testing.T) {
	cmds := []string{"find", "insert", "create", "dropDatabase", "collMod", "createUser", "getLog"}
	cases := []struct {
		role     roleRef
		onD, onE []string // allowed on database d, and on another database e
	}{
		{roleRef{"read", "d"}, []string{"find"}, nil},
		{roleRef{"readWrite", "d"}, []string{"find", "insert", "create"}, nil},
		{roleRef{"dbAdmin", "d"}, []string{"create", "dropDatabase", "collMod"}, nil},
		{roleRef{"userAdmin", "d"}, []string{"createUser"}, nil},
		{roleRef{"dbOwner", "d"}, []string{"find", "insert", "create", "dropDatabase", "collMod", "createUser"}, nil},
		{roleRef{"readAnyDatabase", "admin"}, []string{"find"}, []string{"find"}},
		{roleRef{"readWriteAnyDatabase", "admin"}, []string{"find", "insert", "create"}, []string{"find", "insert", "create"}},
		{roleRef{"dbAdminAnyDatabase", "admin"}, []string{"create", "dropDatabase", "collMod"}, []string{"create", "dropDatabase", "collMod"}},
		{roleRef{"userAdminAnyDatabase", "admin"}, []string{"createUser"}, []string{"createUser"}},
		{roleRef{"clusterAdmin", "admin"}, []string{"dropDatabase", "getLog"}, []string{"dropDatabase", "getLog"}},
		{roleRef{"root", "admin"}, cmds, cmds},
		{roleRef{"readAnyDatabase", "d"}, nil, nil}, // the *AnyDatabase roles exist on admin only
	}
	for _, c := range cases {
		for _, cmd := range cmds {
			for db, allowed := range map[string][]string{"d": c.onD, "e": c.onE} {
				want := false
				for _, a := range allowed {
					want = want || a == cmd
				}
				require.Equal(t, want, allows([]roleRef{c.role}, commandAction[cmd], db), "%s running %s on %s", c.role, cmd, db)
			}
		}
	}
}

// FuzzSASL feeds arbitrary SCRAM messages (both mechanisms, both steps) to the server: it never
// panics and never lets a connection in without the password.
func FuzzSASL(f *testing.F) {
	users := &memUsers{m: map[string]meta.User{}}
	creds, err := newCredentials("u", "secret")
	require.NoError(f, err)
	users.m[userKey("admin", "u")] = meta.User{Name: userKey("admin", "u"), Credentials: creds, Roles: []string{"root@admin"}}
	s := NewServer(Config{Users: users, Auth: true, Logger: quietLogger()}, newMemBackend(f))
	client, _ := scram.SHA256.NewClient("u", "wrong", "")
	conv := client.NewConversation()
	first, _ := conv.Step("")
	f.Add(true, []byte(first), []byte("c=biws,r=abc,p=AAAA"))
	f.Add(false, []byte("n,,n=u,r=fyko+d2lbbFgONRv9qkxdawL"), []byte("c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="))
	f.Add(true, []byte("n,,n=u,r=\x00"), []byte{})
	f.Fuzz(func(t *testing.T, sha256 bool, start, cont []byte) {
		a, b := net.Pipe()
		defer a.Close()
		defer b.Close()
		c := s.newConn(a)
		mech := mechSHA1
		if sha256 {
			mech = mechSHA256
		}
		ctx := context.Background()
		_ = s.dispatch(ctx, c, "admin", mustDoc(t, bson.D{{Key: "saslStart", Value: 1}, {Key: "mechanism", Value: mech},
			{Key: "payload", Value: bson.Binary{Data: start}}}))
		_ = s.dispatch(ctx, c, "admin", mustDoc(t, bson.D{{Key: "saslContinue", Value: 1}, {Key: "conversationId", Value: 1},
			{Key: "payload", Value: bson.Binary{Data: cont}}}))
		c.mu.Lock()
		defer c.mu.Unlock()
		require.Nil(t, c.user, "logged in without the password")
	})
}

func mustDoc(t testing.TB, d bson.D) bson.Raw {
	b, err := bson.Marshal(d)
	require.NoError(t, err)
	return b
}

// TestDropAllUsersFromDatabase drops the users of one database only and counts them.
func TestDropAllUsersFromDatabase(t *testing.T) {
	users := &memUsers{m: map[string]meta.User{}}
	_, addr := startServer(t, Config{Users: users}, newMemBackend(t))
	client := connect(t, addr)
	for _, u := range []struct{ db, name string }{{"d", "a"}, {"d", "b"}, {"e", "a"}} {
		mustRun(t, client.Database(u.db), d("createUser", u.name, "pwd", "secret-"+u.name, "roles", bson.A{}))
	}
	r := mustRun(t, client.Database("d"), d("dropAllUsersFromDatabase", 1))
	require.EqualValues(t, 2, r.Lookup("n").Int32())
	left, err := users.ListUsers(t.Context(), meta.DefaultTenant)
	require.NoError(t, err)
	require.Len(t, left, 1)
	require.Equal(t, userKey("e", "a"), left[0].Name)
	r = mustRun(t, client.Database("d"), d("dropAllUsersFromDatabase", 1))
	require.EqualValues(t, 0, r.Lookup("n").Int32())
}
