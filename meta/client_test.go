package meta

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestClient drives every client method against one standalone host (real dragonboat).
func TestClient(t *testing.T) {
	h := startHost(t, standaloneConfig(t, filepath.Join(t.TempDir(), "meta")))
	c := h.Client()
	ctx := testContext(t)

	t.Run("tenants and users", func(t *testing.T) {
		created, err := c.CreateTenant(ctx, "acme", Quotas{})
		require.NoError(t, err)
		require.True(t, created)
		created, err = c.CreateTenant(ctx, "acme", Quotas{})
		require.NoError(t, err)
		require.False(t, created)
		for _, bad := range []string{"", "../x", "a/b", "a.b", strings.Repeat("t", 64)} {
			_, err = c.CreateTenant(ctx, bad, Quotas{})
			require.ErrorIs(t, err, ErrInvalidName, "tenant names become directory names: %q", bad)
		}
		names, err := c.ListTenants(ctx)
		require.NoError(t, err)
		require.Equal(t, []string{"acme", DefaultTenant}, names)

		created, err = c.CreateUser(ctx, User{Tenant: "acme", Name: "ann", Credentials: []byte("scram"), Roles: []string{"root"}})
		require.NoError(t, err)
		require.True(t, created)
		_, err = c.CreateUser(ctx, User{Tenant: "nope", Name: "x"})
		require.ErrorIs(t, err, ErrTenantNotFound)
		u, found, err := c.GetUser(ctx, "acme", "ann")
		require.NoError(t, err)
		require.True(t, found)
		require.Equal(t, []byte("scram"), u.Credentials)
		require.Positive(t, u.CreatedAt, "now comes from the proposer's clock")
		users, err := c.ListUsers(ctx, "acme")
		require.NoError(t, err)
		require.Len(t, users, 1)
		require.NoError(t, c.DropUser(ctx, "acme", "ann"))
		require.ErrorIs(t, c.DropUser(ctx, "acme", "ann"), ErrUserNotFound)
	})

	t.Run("collections", func(t *testing.T) {
		before := time.Now().UnixNano()
		coll := Collection{Tenant: DefaultTenant, DB: "ddl", Name: "m", TimeField: "t", Granularity: "hours"}
		out, got, err := c.CreateCollection(ctx, coll)
		require.NoError(t, err)
		require.Equal(t, Created, out)
		require.GreaterOrEqual(t, got.CreatedAt, before)
		// the local write refreshed the cache at once
		cached, ok := c.CachedCollection(DefaultTenant, "ddl", "m")
		require.True(t, ok)
		require.Equal(t, got, cached)
		db, ok := c.CachedDatabase(DefaultTenant, "ddl")
		require.True(t, ok)
		require.Equal(t, int64(7*24*time.Hour), db.BucketDuration)

		out, _, err = c.CreateCollection(ctx, coll)
		require.NoError(t, err)
		require.Equal(t, ExistsIdentical, out)
		coll.MetaField = "tags"
		out, existing, err := c.CreateCollection(ctx, coll)
		require.NoError(t, err)
		require.Equal(t, ExistsDifferent, out)
		require.Empty(t, existing.MetaField)
		_, _, err = c.CreateCollection(ctx, Collection{Tenant: DefaultTenant, DB: "ddl", Name: "bad", MetaField: "m"}) // time-series options without a timeField
		require.ErrorIs(t, err, ErrInvalid)

		upd, err := c.UpdateCollection(ctx, DefaultTenant, "ddl", "m", CollectionUpdate{SetTTL: true, HasTTL: true, ExpireAfterSeconds: 30})
		require.NoError(t, err)
		require.True(t, upd.HasTTL)
		_, err = c.UpdateCollection(ctx, DefaultTenant, "ddl", "nope", CollectionUpdate{})
		require.ErrorIs(t, err, ErrCollectionNotFound)
		_, err = c.UpdateCollection(ctx, DefaultTenant, "ddl", "m", CollectionUpdate{Granularity: "seconds"})
		require.ErrorIs(t, err, ErrInvalid)

		dropped, err := c.DropCollection(ctx, DefaultTenant, "ddl", "m")
		require.NoError(t, err)
		require.True(t, dropped)
		dropped, err = c.DropCollection(ctx, DefaultTenant, "ddl", "m")
		require.NoError(t, err)
		require.False(t, dropped)
		_, found, err := c.GetCollection(ctx, DefaultTenant, "ddl", "m")
		require.NoError(t, err)
		require.False(t, found)
		_, ok = c.CachedCollection(DefaultTenant, "ddl", "m")
		require.False(t, ok)
	})

	t.Run("databases and buckets", func(t *testing.T) {
		created, db, err := c.CreateDatabase(ctx, Database{Tenant: DefaultTenant, Name: "metrics", ShardCount: 2,
			BucketDuration: int64(time.Hour)})
		require.NoError(t, err)
		require.True(t, created)
		require.Equal(t, "one", db.Consistency)
		_, err = c.BucketFor(ctx, DefaultTenant, "metrics", 0)
		require.ErrorIs(t, err, ErrNotEnoughNodes)

		require.NoError(t, c.RegisterNode(ctx, Node{ID: 1, Role: "standalone"}))
		nodes, err := c.Nodes(ctx)
		require.NoError(t, err)
		require.Equal(t, []Node{{ID: 1, Role: "standalone"}}, nodes)
		require.Equal(t, nodes, c.CachedNodes())
		require.NoError(t, c.SetNodeDown(ctx, 1, true))
		require.Contains(t, c.CachedDownSince(), uint64(1), "a node reported down")
		require.NoError(t, c.SetNodeDown(ctx, 1, false))
		require.Empty(t, c.CachedDownSince())
		require.NoError(t, c.SetNodeDown(ctx, 99, true), "an unknown node changes nothing")
		require.Empty(t, c.CachedDownSince())

		ts := int64(90 * time.Minute)
		b, err := c.BucketFor(ctx, DefaultTenant, "metrics", ts)
		require.NoError(t, err)
		require.Equal(t, [2]int64{int64(time.Hour), int64(2 * time.Hour)}, [2]int64{b.Start, b.End})
		require.Len(t, b.ReplicaSets, 2)
		_, pv := c.CachedVersions()
		again, err := c.BucketFor(ctx, DefaultTenant, "metrics", ts+1)
		require.NoError(t, err)
		require.Equal(t, b, again)
		_, pv2 := c.CachedVersions()
		require.Equal(t, pv, pv2, "served from the cache, nothing proposed")
		require.Equal(t, []Bucket{b}, c.CachedBucketsIn(DefaultTenant, "metrics", 0, ts))

		neg, err := c.BucketFor(ctx, DefaultTenant, "metrics", -1)
		require.NoError(t, err)
		require.Equal(t, -int64(time.Hour), neg.Start)
		exp, err := c.ExpiredBuckets(ctx, DefaultTenant, "metrics", 0)
		require.NoError(t, err)
		require.Equal(t, []Bucket{neg}, exp)
		ok, err := c.DropBucket(ctx, DefaultTenant, "metrics", neg.ID)
		require.NoError(t, err)
		require.True(t, ok)

		_, err = c.BucketFor(ctx, DefaultTenant, "nodb", 0)
		require.ErrorIs(t, err, ErrDatabaseNotFound)

		existed, buckets, err := c.DropDatabase(ctx, DefaultTenant, "metrics")
		require.NoError(t, err)
		require.True(t, existed)
		require.Equal(t, []Bucket{b}, buckets)
		bs, err := c.BucketsIn(ctx, DefaultTenant, "metrics", -1<<62, 1<<62)
		require.NoError(t, err)
		require.Empty(t, bs)
		existed, _, err = c.DropDatabase(ctx, DefaultTenant, "metrics")
		require.NoError(t, err)
		require.False(t, existed)
		dbs, err := c.ListDatabases(ctx, DefaultTenant)
		require.NoError(t, err)
		for _, d := range dbs {
			require.NotEqual(t, "metrics", d.Name)
		}
	})

	t.Run("locks", func(t *testing.T) {
		l, granted, err := c.Acquire(ctx, "rebalance", "a", time.Hour)
		require.NoError(t, err)
		require.True(t, granted)
		other, granted, err := c.Acquire(ctx, "rebalance", "b", time.Hour)
		require.NoError(t, err)
		require.False(t, granted)
		require.Equal(t, l, other)
		_, err = c.Renew(ctx, "rebalance", "a", l.Token+1, time.Hour)
		require.ErrorIs(t, err, ErrNotLockHolder)
		renewed, err := c.Renew(ctx, "rebalance", "a", l.Token, 2*time.Hour)
		require.NoError(t, err)
		require.Greater(t, renewed.ExpiresAt, l.ExpiresAt)
		require.ErrorIs(t, c.Release(ctx, "rebalance", "b", l.Token), ErrNotLockHolder)
		require.NoError(t, c.Release(ctx, "rebalance", "a", l.Token))
		require.NoError(t, c.Release(ctx, "rebalance", "a", l.Token), "a retried release is fine")
		_, err = c.Renew(ctx, "rebalance", "a", l.Token, time.Hour)
		require.ErrorIs(t, err, ErrLockNotFound)

		short, granted, err := c.Acquire(ctx, "short", "a", time.Millisecond)
		require.NoError(t, err)
		require.True(t, granted)
		time.Sleep(5 * time.Millisecond)
		_, err = c.Renew(ctx, "short", "a", short.Token, time.Hour)
		require.ErrorIs(t, err, ErrLeaseExpired)
		taken, granted, err := c.Acquire(ctx, "short", "b", time.Hour)
		require.NoError(t, err)
		require.True(t, granted)
		require.Greater(t, taken.Token, short.Token)
		got, found, err := c.GetLease(ctx, "short")
		require.NoError(t, err)
		require.True(t, found)
		require.Equal(t, taken, got)
	})

	t.Run("changed fires on a write", func(t *testing.T) {
		ch := c.Changed()
		_, _, err := c.CreateDatabase(ctx, Database{Tenant: DefaultTenant, Name: "watched"})
		require.NoError(t, err)
		select {
		case <-ch:
		case <-time.After(5 * time.Second):
			t.Fatal("Changed did not fire")
		}
	})
}

func TestConfigValidation(t *testing.T) {
	base := Config{NodeID: 1, ClusterID: "c", DataDir: "d", RaftAddr: "A:1"}
	cases := map[string]func(*Config){
		"node id":      func(c *Config) { c.NodeID = 0 },
		"cluster id":   func(c *Config) { c.ClusterID = "" },
		"data dir":     func(c *Config) { c.DataDir = "" },
		"raft addr":    func(c *Config) { c.RaftAddr = "" },
		"non-voting":   func(c *Config) { c.NonVoting = true },
		"election rtt": func(c *Config) { c.ElectionRTT, c.HeartbeatRTT = 4, 2 },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			c := base
			mutate(&c)
			_, err := Start(c)
			require.Error(t, err)
		})
	}
	c, err := base.withDefaults()
	require.NoError(t, err)
	require.Equal(t, "a:1", c.RaftAddr)
	require.Equal(t, uint64(DefaultElectionRTT), c.ElectionRTT)
}

func TestDeploymentID(t *testing.T) {
	require.Equal(t, DeploymentID("prod"), DeploymentID("prod"))
	require.NotEqual(t, DeploymentID("prod"), DeploymentID("staging"))
	require.NotZero(t, DeploymentID(""))
}
