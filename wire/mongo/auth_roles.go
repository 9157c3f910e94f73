package mongo

import (
	"context"
	"net"
	"slices"
	"strings"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/wire/mongoerr"
)

// action is what a command needs, checked before it runs.
type action int

const (
	actNone         action = iota // the handshake: allowed before login
	actAuthed                     // any logged-in user (listCommands, hostInfo, ...)
	actRead                       // read a database's data and catalog
	actWrite                      // insert, update, delete
	actCollAdmin                  // create and drop collections and indexes (readWrite has it)
	actDBAdmin                    // collMod
	actDropDB                     // dropDatabase (dbAdmin has it, and clusterAdmin everywhere)
	actUserAdmin                  // users of a database
	actClusterAdmin               // server-wide operations
)

// commandAction is the table of what each command needs; a command missing from it needs root.
var commandAction = map[string]action{
	"hello": actNone, "isMaster": actNone, "ismaster": actNone, "ping": actNone, "buildInfo": actNone,
	"buildinfo": actNone, "saslStart": actNone, "saslContinue": actNone, "connectionStatus": actNone,
	"logout": actNone, "whatsmyuri": actNone, "endSessions": actNone,
	"listCommands": actAuthed, "hostInfo": actAuthed, "getParameter": actAuthed, "listDatabases": actAuthed,
	"killAllSessions":     actAuthed,
	"bulkWrite":           actAuthed, // each op is authorized as the insert, update or delete it runs as
	"getDefaultRWConcern": actRead, "setDefaultRWConcern": actDBAdmin,
	"find": actRead, "aggregate": actRead, "count": actRead, "distinct": actRead, "getMore": actRead,
	"killCursors": actRead, "listCollections": actRead, "listIndexes": actRead, "explain": actRead,
	"collStats": actRead, "dbStats": actRead,
	"insert": actWrite, "update": actWrite, "delete": actWrite, "findAndModify": actWrite, "findandmodify": actWrite,
	"create": actCollAdmin, "drop": actCollAdmin, "createIndexes": actCollAdmin, "dropIndexes": actCollAdmin,
	"collMod": actDBAdmin, "dropDatabase": actDropDB,
	"createUser": actUserAdmin, "dropUser": actUserAdmin, "usersInfo": actUserAdmin, "updateUser": actUserAdmin,
	"grantRolesToUser": actUserAdmin, "revokeRolesFromUser": actUserAdmin, "dropAllUsersFromDatabase": actUserAdmin,
	"getLog": actClusterAdmin, "createTenant": actClusterAdmin, "updateTenant": actClusterAdmin,
	"dropTenant": actClusterAdmin, "listTenants": actClusterAdmin,
	"serverStatus": actClusterAdmin, "getCmdLineOpts": actClusterAdmin,
	"currentOp": actClusterAdmin, "killOp": actClusterAdmin,
}

// roleRef is a granted role: {role, db}.
type roleRef struct{ role, db string }

func (r roleRef) String() string { return r.role + "@" + r.db }

// roleActions lists what each built-in role allows, on its database (or, for the *AnyDatabase
// roles, clusterAdmin and root, which exist on admin, on every database).
var roleActions = map[string]struct {
	any     bool
	actions []action
}{
	"read":                 {false, []action{actRead}},
	"readWrite":            {false, []action{actRead, actWrite, actCollAdmin}},
	"dbAdmin":              {false, []action{actCollAdmin, actDBAdmin, actDropDB}},
	"userAdmin":            {false, []action{actUserAdmin}},
	"dbOwner":              {false, []action{actRead, actWrite, actCollAdmin, actDBAdmin, actDropDB, actUserAdmin}},
	"readAnyDatabase":      {true, []action{actRead}},
	"readWriteAnyDatabase": {true, []action{actRead, actWrite, actCollAdmin}},
	"dbAdminAnyDatabase":   {true, []action{actCollAdmin, actDBAdmin, actDropDB}},
	"userAdminAnyDatabase": {true, []action{actUserAdmin}},
	"clusterAdmin":         {true, []action{actClusterAdmin, actDropDB}},
	"root":                 {true, []action{actRead, actWrite, actCollAdmin, actDBAdmin, actDropDB, actUserAdmin, actClusterAdmin}},
}

// allows reports whether roles grant act on db.
func allows(roles []roleRef, act action, db string) bool {
	for _, r := range roles {
		def, ok := roleActions[r.role]
		if !ok || !slices.Contains(def.actions, act) {
			continue
		}
		if (def.any && r.db == "admin") || (!def.any && r.db == db) {
			return true
		}
	}
	return false
}

// parseRoles decodes roles stored as "role@db".
func parseRoles(stored []string) []roleRef {
	out := make([]roleRef, 0, len(stored))
	for _, s := range stored {
		i := strings.LastIndexByte(s, '@')
		if i < 0 {
			continue
		}
		out = append(out, roleRef{role: s[:i], db: s[i+1:]})
	}
	return out
}

// authorize checks, under --auth, that the connection may run req.
func (s *Server) authorize(ctx context.Context, req *request) error {
	if !s.cfg.Auth {
		return nil
	}
	act, ok := commandAction[req.name]
	if !ok {
		act = actClusterAdmin
	}
	if act == actNone {
		return nil
	}
	c := req.conn
	c.mu.Lock()
	u := c.user
	c.mu.Unlock()
	if u == nil {
		if req.name == "createUser" && req.db == "admin" && s.localhostException(ctx, c) {
			return nil
		}
		return mongoerr.New(mongoerr.Unauthorized, "Command %s requires authentication", req.name)
	}
	// The user as the catalog knows it now: dropped users lose their login, changed roles apply.
	roles := u.roles
	if cu, ok := s.cfg.Users.CachedUser(userKey(u.db, u.name)); ok {
		roles = parseRoles(cu.Roles)
	} else if _, found, err := s.cfg.Users.GetUser(ctx, userKey(u.db, u.name)); err == nil && !found {
		c.mu.Lock()
		c.user = nil
		c.mu.Unlock()
		return mongoerr.New(mongoerr.Unauthorized, "Command %s requires authentication", req.name)
	}
	switch {
	case act == actAuthed:
		return nil
	case allows(roles, act, req.db):
		return nil
	}
	return mongoerr.New(mongoerr.Unauthorized, "not authorized on %s to execute command %s", req.db, commandSummary(req))
}

// commandSummary is mongod's short form of a command in Unauthorized messages.
func commandSummary(req *request) string {
	return "{ " + req.name + ": ... }"
}

// localhostException is mongod's: with access control on and no user at all, a client on the
// loopback interface may create the first user (in admin); it closes once one exists.
func (s *Server) localhostException(ctx context.Context, c *conn) bool {
	if s.cfg.Users == nil || s.hasUsers.Load() {
		return false
	}
	tcp, ok := c.nc.RemoteAddr().(*net.TCPAddr)
	if !ok || !tcp.IP.IsLoopback() {
		return false
	}
	users, err := s.cfg.Users.ListUsers(ctx, meta.DefaultTenant)
	if err != nil || len(users) > 0 {
		s.hasUsers.Store(err == nil)
		return false
	}
	return true
}

// clusterAdmin reports whether the caller administers the cluster: access control is off, or it
// is a user of the default tenant with root or clusterAdmin.
func (s *Server) clusterAdmin(req *request) bool {
	if !s.cfg.Auth {
		return true
	}
	c := req.conn
	c.mu.Lock()
	u := c.user
	c.mu.Unlock()
	if u == nil || (u.tenant != "" && u.tenant != meta.DefaultTenant) {
		return false
	}
	roles := u.roles
	if cu, ok := s.cfg.Users.CachedUser(userKey(u.db, u.name)); ok {
		roles = parseRoles(cu.Roles)
	}
	return allows(roles, actClusterAdmin, "admin")
}
