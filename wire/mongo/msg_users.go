package mongo

import (
	"context"
	"errors"
	"sort"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/wire/mongoerr"
)

// msgCreateUser: {createUser: name, pwd, roles: ["readWrite" | {role, db}, ...]}. Only the salted
// SCRAM keys are stored; the password never reaches a log line.
func msgCreateUser(ctx context.Context, s *Server, req *request) (*bsoncore.DocumentBuilder, error) {
	if s.cfg.Users == nil {
		return nil, mongoerr.New(mongoerr.CommandNotSupported, "this server keeps no users")
	}
	name, ok := req.doc.Lookup("createUser").StringValueOK()
	if !ok || name == "" {
		return nil, mongoerr.New(mongoerr.BadValue, "User document needs 'user' field to be a non-empty string")
	}
	pwd, hasPwd, err := optString(req.doc, "createUser", "pwd")
	if err != nil {
		return nil, err
	}
	if !hasPwd || pwd == "" {
		return nil, mongoerr.New(mongoerr.BadValue, "Must provide a 'pwd' field for all user documents, except those with '$external' as the user's source db")
	}
	roles, err := rolesArg(req, "createUser")
	if err != nil {
		return nil, err
	}
	tenant, err := s.commandTenant(ctx, req)
	if err != nil {
		return nil, err
	}
	creds, err := newCredentials(name, pwd)
	if err != nil {
		return nil, mongoerr.New(mongoerr.BadValue, "Error preflighting normalization: %v", err)
	}
	created, err := s.cfg.Users.CreateUser(ctx, meta.User{Tenant: tenant, Name: userKey(req.db, name), Credentials: creds, Roles: roleStrings(roles)})
	if errors.Is(err, meta.ErrTenantNotFound) {
		return nil, mongoerr.New(mongoerr.BadValue, "tenant %q does not exist: create it with createTenant", tenant)
	}
	if err != nil {
		return nil, err
	}
	if !created {
		return nil, mongoerr.New(mongoerr.Location51003, "User \"%s@%s\" already exists", name, req.db)
	}
	s.hasUsers.Store(true)
	return nil, nil
}

// rolesArg reads a command's roles: role names of the command's database or {role, db}.
func rolesArg(req *request, cmd string) ([]roleRef, error) {
	v, err := req.doc.LookupErr("roles")
	if err != nil {
		return nil, mongoerr.New(mongoerr.IDLFailedToParse, "BSON field '%s.roles' is missing but a required field", cmd)
	}
	arr, ok := v.ArrayOK()
	if !ok {
		return nil, typeErr(cmd+".roles", v.Type, "array")
	}
	vals, _ := arr.Values()
	out := make([]roleRef, 0, len(vals))
	for _, e := range vals {
		r := roleRef{db: req.db}
		switch e.Type {
		case bson.TypeString:
			r.role = e.StringValue()
		case bson.TypeEmbeddedDocument:
			d := e.Document()
			r.role, _ = d.Lookup("role").StringValueOK()
			r.db, _ = d.Lookup("db").StringValueOK()
		default:
			return nil, typeErr(cmd+".roles", e.Type, "string or object")
		}
		def, known := roleActions[r.role]
		if !known || (def.any && r.db != "admin") {
			return nil, mongoerr.New(mongoerr.RoleNotFound, "Could not find role: %s", r)
		}
		out = append(out, r)
	}
	return out, nil
}

// msgDropUser: {dropUser: name}.
func msgDropUser(ctx context.Context, s *Server, req *request) (*bsoncore.DocumentBuilder, error) {
	if s.cfg.Users == nil {
		return nil, mongoerr.New(mongoerr.CommandNotSupported, "this server keeps no users")
	}
	name, _ := req.doc.Lookup("dropUser").StringValueOK()
	tenant, err := s.commandTenant(ctx, req)
	if err != nil {
		return nil, err
	}
	if err := s.cfg.Users.DropUser(ctx, tenant, userKey(req.db, name)); err != nil {
		if errors.Is(err, meta.ErrUserNotFound) {
			return nil, mongoerr.New(mongoerr.UserNotFound, "User '%s@%s' not found", name, req.db)
		}
		return nil, err
	}
	return nil, nil
}

// msgDropAllUsersFromDatabase drops every user of the command's database and says how many.
func msgDropAllUsersFromDatabase(ctx context.Context, s *Server, req *request) (*bsoncore.DocumentBuilder, error) {
	if s.cfg.Users == nil {
		return nil, mongoerr.New(mongoerr.CommandNotSupported, "this server keeps no users")
	}
	tenant, err := s.commandTenant(ctx, req)
	if err != nil {
		return nil, err
	}
	users, err := s.cfg.Users.ListUsers(ctx, tenant)
	if err != nil {
		return nil, err
	}
	n := int32(0)
	for _, u := range users {
		if db, _ := splitUserKey(u.Name); db != req.db {
			continue
		}
		switch err := s.cfg.Users.DropUser(ctx, tenant, u.Name); {
		case err == nil:
			n++
		case !errors.Is(err, meta.ErrUserNotFound): // dropped meanwhile: not counted
			return nil, err
		}
	}
	return bsoncore.NewDocumentBuilder().AppendInt32("n", n), nil
}

// msgUsersInfo: {usersInfo: 1 | name | {user, db} | [...]}: the users of the command's database
// (1) or the ones named, without credentials.
func msgUsersInfo(ctx context.Context, s *Server, req *request) (*bsoncore.DocumentBuilder, error) {
	if s.cfg.Users == nil {
		return nil, mongoerr.New(mongoerr.CommandNotSupported, "this server keeps no users")
	}
	want := map[string]bool{} // store keys; empty: every user of req.db
	var add func(v bson.RawValue) error
	add = func(v bson.RawValue) error {
		switch v.Type {
		case bson.TypeString:
			want[userKey(req.db, v.StringValue())] = true
		case bson.TypeEmbeddedDocument:
			u, _ := v.Document().Lookup("user").StringValueOK()
			db, _ := v.Document().Lookup("db").StringValueOK()
			want[userKey(db, u)] = true
		case bson.TypeArray:
			vals, _ := v.Array().Values()
			for _, e := range vals {
				if err := add(e); err != nil {
					return err
				}
			}
		case bson.TypeInt32, bson.TypeInt64, bson.TypeDouble:
		default:
			return typeErr("usersInfo", v.Type, "1, a name, a {user, db} document or an array")
		}
		return nil
	}
	if err := add(req.doc.Lookup("usersInfo")); err != nil {
		return nil, err
	}
	tenant, err := s.commandTenant(ctx, req)
	if err != nil {
		return nil, err
	}
	users, err := s.cfg.Users.ListUsers(ctx, tenant)
	if err != nil {
		return nil, err
	}
	sort.Slice(users, func(i, j int) bool { return users[i].Name < users[j].Name })
	arr := bsoncore.NewArrayBuilder()
	for _, u := range users {
		db, name := splitUserKey(u.Name)
		if (len(want) == 0 && db != req.db) || (len(want) > 0 && !want[u.Name]) {
			continue
		}
		roles := bsoncore.NewArrayBuilder()
		for _, r := range parseRoles(u.Roles) {
			roles.AppendDocument(bsoncore.NewDocumentBuilder().AppendString("role", r.role).AppendString("db", r.db).Build())
		}
		mechs := bsoncore.NewArrayBuilder().AppendString(mechSHA1).AppendString(mechSHA256).Build()
		arr.AppendDocument(bsoncore.NewDocumentBuilder().
			AppendString("_id", u.Name).AppendString("user", name).AppendString("db", db).
			AppendArray("roles", roles.Build()).AppendArray("mechanisms", mechs).Build())
	}
	return bsoncore.NewDocumentBuilder().AppendArray("users", arr.Build()), nil
}

// msgLogout ends the connection's login.
func msgLogout(_ context.Context, _ *Server, req *request) (*bsoncore.DocumentBuilder, error) {
	req.conn.mu.Lock()
	req.conn.user, req.conn.sasl = nil, nil
	req.conn.mu.Unlock()
	return nil, nil
}

// msgUpdateUser: {updateUser: name, pwd?, roles?}: a new password (new salts) and/or roles.
func msgUpdateUser(ctx context.Context, s *Server, req *request) (*bsoncore.DocumentBuilder, error) {
	name, upd, err := userTarget(s, req, "updateUser")
	if err != nil {
		return nil, err
	}
	pwd, hasPwd, err := optString(req.doc, "updateUser", "pwd")
	if err != nil {
		return nil, err
	}
	if hasPwd {
		if pwd == "" {
			return nil, mongoerr.New(mongoerr.BadValue, "Password cannot be empty")
		}
		if upd.Credentials, err = newCredentials(name, pwd); err != nil {
			return nil, mongoerr.New(mongoerr.BadValue, "Error preflighting normalization: %v", err)
		}
	}
	if _, err := req.doc.LookupErr("roles"); err == nil {
		roles, err := rolesArg(req, "updateUser")
		if err != nil {
			return nil, err
		}
		upd.SetRoles, upd.Roles = true, roleStrings(roles)
	}
	if !hasPwd && !upd.SetRoles {
		return nil, mongoerr.New(mongoerr.BadValue, "Must specify at least one field to update in updateUser")
	}
	return nil, s.updateUser(ctx, req, name, upd)
}

// msgGrantRolesToUser: {grantRolesToUser: name, roles: [...]}.
func msgGrantRolesToUser(ctx context.Context, s *Server, req *request) (*bsoncore.DocumentBuilder, error) {
	name, upd, err := userTarget(s, req, "grantRolesToUser")
	if err != nil {
		return nil, err
	}
	roles, err := rolesArg(req, "grantRolesToUser")
	if err != nil {
		return nil, err
	}
	upd.AddRoles = roleStrings(roles)
	return nil, s.updateUser(ctx, req, name, upd)
}

// msgRevokeRolesFromUser: {revokeRolesFromUser: name, roles: [...]}.
func msgRevokeRolesFromUser(ctx context.Context, s *Server, req *request) (*bsoncore.DocumentBuilder, error) {
	name, upd, err := userTarget(s, req, "revokeRolesFromUser")
	if err != nil {
		return nil, err
	}
	roles, err := rolesArg(req, "revokeRolesFromUser")
	if err != nil {
		return nil, err
	}
	upd.RemoveRoles = roleStrings(roles)
	return nil, s.updateUser(ctx, req, name, upd)
}

// userTarget reads the user a user-changing command names.
func userTarget(s *Server, req *request, cmd string) (string, meta.UserUpdate, error) {
	if s.cfg.Users == nil {
		return "", meta.UserUpdate{}, mongoerr.New(mongoerr.CommandNotSupported, "this server keeps no users")
	}
	name, ok := req.doc.Lookup(cmd).StringValueOK()
	if !ok || name == "" {
		return "", meta.UserUpdate{}, mongoerr.New(mongoerr.BadValue, "%s needs the user name as a non-empty string", cmd)
	}
	return name, meta.UserUpdate{}, nil
}

func (s *Server) updateUser(ctx context.Context, req *request, name string, upd meta.UserUpdate) error {
	tenant, err := s.commandTenant(ctx, req)
	if err != nil {
		return err
	}
	if err := s.cfg.Users.UpdateUser(ctx, tenant, userKey(req.db, name), upd); err != nil {
		if errors.Is(err, meta.ErrUserNotFound) {
			return mongoerr.New(mongoerr.UserNotFound, "Could not find user \"%s\" for db \"%s\"", name, req.db)
		}
		return err
	}
	return nil
}

// commandTenant is the tenant a user command acts in: its `tenant` field when given (another
// tenant only for a cluster administrator), else the caller's own.
func (s *Server) commandTenant(ctx context.Context, req *request) (string, error) {
	own := meta.TenantOf(ctx)
	t, has, err := optString(req.doc, req.name, "tenant")
	if err != nil {
		return "", err
	}
	if !has || t == own {
		return own, nil
	}
	if !s.clusterAdmin(req) {
		return "", mongoerr.New(mongoerr.Unauthorized, "not authorized to act in tenant %q: only cluster administrators (root, clusterAdmin of the default tenant) may", t)
	}
	return t, nil
}

func roleStrings(roles []roleRef) []string {
	out := make([]string, len(roles))
	for i, r := range roles {
		out[i] = r.String()
	}
	return out
}
