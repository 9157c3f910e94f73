package catalog

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/meta/model"
)

const def = model.DefaultTenant

func coll(db, name string) *model.Collection {
	return &model.Collection{DB: db, Name: name, TimeField: "ts", MetaField: "m", Granularity: "seconds"}
}

func TestApply(t *testing.T) {
	// seed is applied before each case's command
	seed := []Command{
		{Op: OpCreateTenant, Name: "acme", Now: 1},
		{Op: OpCreateDatabase, Tenant: def, Database: &model.Database{Name: "db"}, Now: 2},
		{Op: OpCreateCollection, Tenant: def, DB: "db", Collection: coll("db", "cpu"), Now: 3},
		{Op: OpCreateUser, Tenant: "acme", User: &model.User{Name: "ann", Roles: []string{"rw"}}, Now: 4},
	}
	const seedVersion = 4
	cases := []struct {
		name   string
		cmd    Command
		code   Code
		bumped bool
		check  func(t *testing.T, s *State, r Result)
	}{
		{"create tenant", Command{Op: OpCreateTenant, Name: "beta"}, CodeCreated, true, nil},
		{"create tenant again", Command{Op: OpCreateTenant, Name: "acme"}, CodeExists, false, nil},
		{"create default tenant", Command{Op: OpCreateTenant, Name: def}, CodeExists, false, nil},
		{"create tenant empty", Command{Op: OpCreateTenant}, CodeInvalid, false, nil},
		{"create tenant with quotas", Command{Op: OpCreateTenant, Name: "q", Quotas: &model.Quotas{MaxDatabases: 2, MaxWriteValuesPerSec: 10}},
			CodeCreated, true, func(t *testing.T, s *State, _ Result) {
				require.Equal(t, model.Quotas{MaxDatabases: 2, MaxWriteValuesPerSec: 10}, s.Tenants["q"].Quotas)
			}},
		{"create tenant negative quota", Command{Op: OpCreateTenant, Name: "q", Quotas: &model.Quotas{MaxBytes: -1}}, CodeInvalid, false, nil},
		{"update tenant quotas", Command{Op: OpUpdateTenant, Name: "acme", Quotas: &model.Quotas{MaxSeries: 5}}, CodeOK, true,
			func(t *testing.T, s *State, _ Result) { require.Equal(t, int64(5), s.Tenants["acme"].Quotas.MaxSeries) }},
		{"update tenant missing", Command{Op: OpUpdateTenant, Name: "zzz", Quotas: &model.Quotas{}}, CodeTenantNotFound, false, nil},
		{"update tenant without quotas", Command{Op: OpUpdateTenant, Name: "acme"}, CodeInvalid, false, nil},
		{"drop tenant with its users", Command{Op: OpDropTenant, Name: "acme"}, CodeOK, true,
			func(t *testing.T, s *State, _ Result) {
				require.Nil(t, s.Tenants["acme"])
				_, taken := s.userTenant("ann")
				require.False(t, taken, "its users are gone")
			}},
		{"drop tenant with databases", Command{Op: OpDropTenant, Name: def}, CodeInvalid, false, nil},
		{"drop tenant missing", Command{Op: OpDropTenant, Name: "zzz"}, CodeTenantNotFound, false, nil},
		{"user names are unique across tenants", Command{Op: OpCreateUser, Tenant: def, User: &model.User{Name: "ann"}, GlobalUserName: true}, CodeExists, false, nil},
		{"old create_user checks its tenant only", Command{Op: OpCreateUser, Tenant: def, User: &model.User{Name: "ann"}}, CodeCreated, true, nil},
		{"create user", Command{Op: OpCreateUser, Tenant: "acme", User: &model.User{Name: "bob"}, Now: 9}, CodeCreated, true,
			func(t *testing.T, s *State, _ Result) {
				require.Equal(t, &model.User{Tenant: "acme", Name: "bob", CreatedAt: 9}, s.Tenants["acme"].Users["bob"])
			}},
		{"create user exists", Command{Op: OpCreateUser, Tenant: "acme", User: &model.User{Name: "ann"}}, CodeExists, false, nil},
		{"create user no tenant", Command{Op: OpCreateUser, Tenant: "zzz", User: &model.User{Name: "x"}}, CodeTenantNotFound, false, nil},
		{"drop user", Command{Op: OpDropUser, Tenant: "acme", Name: "ann"}, CodeOK, true, nil},
		{"drop user missing", Command{Op: OpDropUser, Tenant: "acme", Name: "zed"}, CodeUserNotFound, false, nil},
		{"update user roles", Command{Op: OpUpdateUser, Tenant: "acme", Name: "ann",
			UserUpdate: &UserUpdate{AddRoles: []string{"rw", "r@x", "r@x"}, RemoveRoles: []string{"rw"}}}, CodeOK, true,
			func(t *testing.T, s *State, _ Result) {
				require.Equal(t, []string{"r@x"}, s.Tenants["acme"].Users["ann"].Roles, "added once, rw revoked")
			}},
		{"update user set roles and credentials", Command{Op: OpUpdateUser, Tenant: "acme", Name: "ann",
			UserUpdate: &UserUpdate{Credentials: []byte{1}, SetRoles: true, Roles: []string{}}}, CodeOK, true,
			func(t *testing.T, s *State, _ Result) {
				require.Empty(t, s.Tenants["acme"].Users["ann"].Roles)
				require.Equal(t, []byte{1}, s.Tenants["acme"].Users["ann"].Credentials)
			}},
		{"update user missing", Command{Op: OpUpdateUser, Tenant: "acme", Name: "zed", UserUpdate: &UserUpdate{}}, CodeUserNotFound, false, nil},
		{"update user without update", Command{Op: OpUpdateUser, Tenant: "acme", Name: "ann"}, CodeInvalid, false, nil},
		{"create database defaults", Command{Op: OpCreateDatabase, Tenant: "acme", Database: &model.Database{Name: "d2"}, Now: 7},
			CodeCreated, true, func(t *testing.T, s *State, r Result) {
				want := model.Database{Tenant: "acme", Name: "d2", ReplicationFactor: 1, ShardCount: 1,
					BucketDuration: int64(24 * time.Hour), Consistency: "one"}
				require.Equal(t, &want, r.Database)
				require.Equal(t, want, s.Tenants["acme"].Databases["d2"].Options)
			}},
		{"create database rf3 defaults quorum", Command{Op: OpCreateDatabase, Tenant: def,
			Database: &model.Database{Name: "d3", ReplicationFactor: 3, ShardCount: 2}}, CodeCreated, true,
			func(t *testing.T, _ *State, r Result) { require.Equal(t, "quorum", r.Database.Consistency) }},
		{"create database exists keeps options", Command{Op: OpCreateDatabase, Tenant: def,
			Database: &model.Database{Name: "db", ShardCount: 9}}, CodeExists, false,
			func(t *testing.T, s *State, r Result) {
				require.Equal(t, 1, r.Database.ShardCount)
				require.Equal(t, 1, s.Tenants[def].Databases["db"].Options.ShardCount)
			}},
		{"create database past max_databases", Command{Op: OpUpdateTenant, Name: def, Quotas: &model.Quotas{MaxDatabases: 1}}, CodeOK, true,
			func(t *testing.T, s *State, _ Result) {
				r := Apply(s, Command{Op: OpCreateDatabase, Tenant: def, Database: &model.Database{Name: "second"}})
				require.Equal(t, CodeQuotaExceeded, r.Code)
				require.Contains(t, r.Message, "max_databases=1")
				require.Nil(t, s.Tenants[def].Databases["second"], "nothing created")
				require.Equal(t, CodeExists, Apply(s, Command{Op: OpCreateDatabase, Tenant: def, Database: &model.Database{Name: "db"}}).Code,
					"an existing database is still found")
				r = Apply(s, Command{Op: OpCreateCollection, Tenant: def, DB: "implicit", Collection: coll("implicit", "c")})
				require.Equal(t, CodeQuotaExceeded, r.Code, "a collection's implicit database counts too")
				require.Equal(t, CodeCreated, Apply(s, Command{Op: OpCreateCollection, Tenant: def, DB: "db", Collection: coll("db", "c2")}).Code)
			}},
		{"create database no tenant", Command{Op: OpCreateDatabase, Tenant: "zzz", Database: &model.Database{Name: "x"}},
			CodeTenantNotFound, false, nil},
		{"create database bad consistency", Command{Op: OpCreateDatabase, Tenant: def,
			Database: &model.Database{Name: "x", Consistency: "most"}}, CodeInvalid, false, nil},
		{"create database negative rf", Command{Op: OpCreateDatabase, Tenant: def,
			Database: &model.Database{Name: "x", ReplicationFactor: -1}}, CodeInvalid, false, nil},
		{"create database missing", Command{Op: OpCreateDatabase, Tenant: def}, CodeInvalid, false, nil},
		{"drop database drops collections", Command{Op: OpDropDatabase, Tenant: def, DB: "db"}, CodeOK, true,
			func(t *testing.T, s *State, r Result) {
				require.Equal(t, []string{"cpu"}, r.Dropped)
				require.Nil(t, s.database(def, "db"))
			}},
		{"drop database missing", Command{Op: OpDropDatabase, Tenant: def, DB: "nope"}, CodeDatabaseNotFound, false, nil},
		{"update database consistency", Command{Op: OpUpdateDatabase, Tenant: def, DB: "db", Consistency: "all"}, CodeOK, true,
			func(t *testing.T, s *State, r Result) {
				require.Equal(t, "all", s.database(def, "db").Options.Consistency)
				require.Equal(t, "all", r.Database.Consistency)
			}},
		{"update database bad consistency", Command{Op: OpUpdateDatabase, Tenant: def, DB: "db", Consistency: "most"}, CodeInvalid, false, nil},
		{"update database missing", Command{Op: OpUpdateDatabase, Tenant: def, DB: "nope", Consistency: "one"}, CodeDatabaseNotFound, false, nil},
		{"create collection", Command{Op: OpCreateCollection, Tenant: def, DB: "db", Collection: coll("db", "mem"), Now: 11},
			CodeCreated, true, func(t *testing.T, s *State, r Result) {
				want := model.Collection{Tenant: def, DB: "db", Name: "mem", TimeField: "ts", MetaField: "m",
					Granularity: "seconds", BucketMaxSpanSeconds: 3600, CreatedAt: 11}
				require.Equal(t, &want, r.Collection)
				require.Equal(t, &want, s.Tenants[def].Databases["db"].Collections["mem"])
			}},
		{"create collection identical", Command{Op: OpCreateCollection, Tenant: def, DB: "db", Collection: coll("db", "cpu"), Now: 50},
			CodeExists, false, func(t *testing.T, _ *State, r Result) { require.Equal(t, int64(3), r.Collection.CreatedAt) }},
		{"create collection different", Command{Op: OpCreateCollection, Tenant: def, DB: "db",
			Collection: &model.Collection{Name: "cpu", TimeField: "time"}}, CodeExistsDifferent, false,
			func(t *testing.T, _ *State, r Result) { require.Equal(t, "ts", r.Collection.TimeField) }},
		{"create collection auto database hours", Command{Op: OpCreateCollection, Tenant: def, DB: "new",
			Collection: &model.Collection{Name: "h", TimeField: "t", Granularity: "hours"}}, CodeCreated, true,
			func(t *testing.T, s *State, _ Result) {
				d := s.Tenants[def].Databases["new"].Options
				require.Equal(t, int64(7*24*time.Hour), d.BucketDuration)
				require.Equal(t, 1, d.ReplicationFactor)
				require.Equal(t, 1, d.ShardCount)
			}},
		{"create collection auto database minutes", Command{Op: OpCreateCollection, Tenant: def, DB: "new",
			Collection: &model.Collection{Name: "m", TimeField: "t", Granularity: "minutes"}}, CodeCreated, true,
			func(t *testing.T, s *State, _ Result) {
				require.Equal(t, int64(24*time.Hour), s.Tenants[def].Databases["new"].Options.BucketDuration)
			}},
		{"create plain collection (no time field)", Command{Op: OpCreateCollection, Tenant: def, DB: "db",
			Collection: &model.Collection{Name: "x"}}, CodeCreated, true, func(t *testing.T, s *State, _ Result) {
			require.True(t, s.Tenants[def].Databases["db"].Collections["x"].Plain())
		}},
		{"create collection meta field without time field", Command{Op: OpCreateCollection, Tenant: def, DB: "db",
			Collection: &model.Collection{Name: "x", MetaField: "m"}}, CodeInvalid, false, nil},
		{"create collection ttl without time field", Command{Op: OpCreateCollection, Tenant: def, DB: "db",
			Collection: &model.Collection{Name: "x", HasTTL: true}}, CodeInvalid, false, nil},
		{"create collection bad granularity", Command{Op: OpCreateCollection, Tenant: def, DB: "db",
			Collection: &model.Collection{Name: "x", TimeField: "t", Granularity: "days"}}, CodeInvalid, false, nil},
		{"create collection time equals meta", Command{Op: OpCreateCollection, Tenant: def, DB: "db",
			Collection: &model.Collection{Name: "x", TimeField: "t", MetaField: "t"}}, CodeInvalid, false, nil},
		{"create collection no tenant", Command{Op: OpCreateCollection, Tenant: "zzz", DB: "db", Collection: coll("db", "x")},
			CodeTenantNotFound, false, nil},
		{"drop collection", Command{Op: OpDropCollection, Tenant: def, DB: "db", Name: "cpu"}, CodeOK, true,
			func(t *testing.T, s *State, _ Result) { require.NotNil(t, s.database(def, "db")) }},
		{"drop collection missing", Command{Op: OpDropCollection, Tenant: def, DB: "db", Name: "x"}, CodeCollectionNotFound, false, nil},
		{"drop collection no db", Command{Op: OpDropCollection, Tenant: def, DB: "x", Name: "x"}, CodeDatabaseNotFound, false, nil},
		{"update ttl", Command{Op: OpUpdateCollection, Tenant: def, DB: "db", Name: "cpu",
			Update: &CollectionUpdate{SetTTL: true, HasTTL: true, ExpireAfterSeconds: 60}}, CodeOK, true,
			func(t *testing.T, s *State, r Result) {
				c := s.Tenants[def].Databases["db"].Collections["cpu"]
				require.True(t, c.HasTTL)
				require.Equal(t, int64(60), c.ExpireAfterSeconds)
				require.Equal(t, c, r.Collection)
			}},
		{"update indexes", Command{Op: OpUpdateCollection, Tenant: def, DB: "db", Name: "cpu",
			Update: &CollectionUpdate{SetIndexes: true, Indexes: []model.Index{{Name: "i", Key: []byte{1}}}}}, CodeOK, true,
			func(t *testing.T, s *State, _ Result) {
				require.Equal(t, []model.Index{{Name: "i", Key: []byte{1}}}, s.Tenants[def].Databases["db"].Collections["cpu"].Indexes)
			}},
		{"update granularity up", Command{Op: OpUpdateCollection, Tenant: def, DB: "db", Name: "cpu",
			Update: &CollectionUpdate{Granularity: "hours"}}, CodeOK, true,
			func(t *testing.T, s *State, _ Result) {
				c := s.Tenants[def].Databases["db"].Collections["cpu"]
				require.Equal(t, "hours", c.Granularity)
				require.Equal(t, int64(2592000), c.BucketMaxSpanSeconds)
			}},
		{"update granularity unchanged", Command{Op: OpUpdateCollection, Tenant: def, DB: "db", Name: "cpu",
			Update: &CollectionUpdate{Granularity: "seconds"}}, CodeOK, true, nil},
		{"update negative ttl", Command{Op: OpUpdateCollection, Tenant: def, DB: "db", Name: "cpu",
			Update: &CollectionUpdate{SetTTL: true, HasTTL: true, ExpireAfterSeconds: -1}}, CodeInvalid, false, nil},
		{"update missing collection", Command{Op: OpUpdateCollection, Tenant: def, DB: "db", Name: "x",
			Update: &CollectionUpdate{}}, CodeCollectionNotFound, false, nil},
		{"update missing db", Command{Op: OpUpdateCollection, Tenant: def, DB: "x", Name: "x",
			Update: &CollectionUpdate{}}, CodeDatabaseNotFound, false, nil},
		{"unknown op", Command{Op: "frobnicate"}, CodeInvalid, false, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := New()
			for _, c := range seed {
				require.NotEqual(t, CodeInvalid, Apply(s, c).Code, "seed %s", c.Op)
			}
			require.Equal(t, uint64(seedVersion), s.Version)
			r := Apply(s, tc.cmd)
			require.Equal(t, tc.code, r.Code, "message %q", r.Message)
			want := uint64(seedVersion)
			if tc.bumped {
				want++
			}
			require.Equal(t, want, s.Version)
			require.Equal(t, want, r.Version)
			if tc.check != nil {
				tc.check(t, s, r)
			}
		})
	}
}

func TestGranularityMayOnlyIncrease(t *testing.T) {
	s := New()
	Apply(s, Command{Op: OpCreateCollection, Tenant: def, DB: "db",
		Collection: &model.Collection{Name: "c", TimeField: "t", Granularity: "minutes"}})
	r := Apply(s, Command{Op: OpUpdateCollection, Tenant: def, DB: "db", Name: "c", Update: &CollectionUpdate{Granularity: "seconds"}})
	require.Equal(t, CodeInvalid, r.Code)
	Apply(s, Command{Op: OpCreateCollection, Tenant: def, DB: "db",
		Collection: &model.Collection{Name: "custom", TimeField: "t", BucketMaxSpanSeconds: 100, BucketRoundingSeconds: 100}})
	r = Apply(s, Command{Op: OpUpdateCollection, Tenant: def, DB: "db", Name: "custom", Update: &CollectionUpdate{Granularity: "hours"}})
	require.Equal(t, CodeInvalid, r.Code)
}

func TestLookup(t *testing.T) {
	s := New()
	Apply(s, Command{Op: OpCreateTenant, Name: "acme"})
	Apply(s, Command{Op: OpCreateCollection, Tenant: def, DB: "b", Collection: coll("b", "y")})
	Apply(s, Command{Op: OpCreateCollection, Tenant: def, DB: "b", Collection: coll("b", "x")})
	Apply(s, Command{Op: OpCreateDatabase, Tenant: def, Database: &model.Database{Name: "a"}})

	v, err := s.Lookup(TenantsQuery{})
	require.NoError(t, err)
	require.Equal(t, []string{"acme", def}, v)
	v, _ = s.Lookup(DatabasesQuery{Tenant: def})
	dbs := v.([]model.Database)
	require.Len(t, dbs, 2)
	require.Equal(t, "a", dbs[0].Name)
	v, _ = s.Lookup(CollectionsQuery{Tenant: def, DB: "b"})
	colls := v.([]model.Collection)
	require.Equal(t, []string{"x", "y"}, []string{colls[0].Name, colls[1].Name})
	v, _ = s.Lookup(CollectionQuery{Tenant: def, DB: "b", Name: "zz"})
	require.Equal(t, CollectionResult{DatabaseFound: true}, v)
	v, _ = s.Lookup(CollectionQuery{Tenant: def, DB: "zz", Name: "x"})
	require.Equal(t, CollectionResult{}, v)
	v, _ = s.Lookup(ViewQuery{})
	view := v.(View)
	require.Equal(t, s.Version, view.Version)
	require.Len(t, view.Databases, 2)
	require.Len(t, view.Collections, 2)
	v, _ = s.Lookup(VersionQuery{})
	require.Equal(t, uint64(4), v)
	_, err = s.Lookup(42)
	require.Error(t, err)
}
