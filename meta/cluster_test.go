package meta_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/meta/metatest"
)

// TestClusterCatalogLeaderFailover runs three voting hosts in one process: DDL through a follower,
// stop the catalog leader's host, a new leader takes over and DDL keeps working, then the stopped
// host restarts on its data dir and catches up.
func TestClusterCatalogLeaderFailover(t *testing.T) {
	c := metatest.StartCluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	leader := c.Leader(meta.ShardCatalog)
	require.GreaterOrEqual(t, leader, 0)
	follower := (leader + 1) % 3
	fc := c.Hosts[follower].Client()
	for i := 1; i <= 3; i++ {
		require.NoError(t, fc.RegisterNode(ctx, meta.Node{ID: uint64(i), Role: "mnode", RaftAddr: c.Configs[i-1].RaftAddr}))
	}
	_, _, err := fc.CreateDatabase(ctx, meta.Database{Tenant: meta.DefaultTenant, Name: "db", ReplicationFactor: 3})
	require.NoError(t, err)
	out, _, err := fc.CreateCollection(ctx, meta.Collection{Tenant: meta.DefaultTenant, DB: "db", Name: "before",
		TimeField: "t"})
	require.NoError(t, err)
	require.Equal(t, meta.Created, out)
	b, err := fc.BucketFor(ctx, meta.DefaultTenant, "db", 0)
	require.NoError(t, err)
	require.Len(t, b.ReplicaSets[0].Vnodes, 3)

	// every host reads the collection linearizably
	for _, h := range c.Hosts {
		_, found, err := h.Client().GetCollection(ctx, meta.DefaultTenant, "db", "before")
		require.NoError(t, err)
		require.True(t, found)
	}

	c.Stop(leader)
	require.Eventually(t, func() bool {
		l := c.Leader(meta.ShardCatalog)
		return l >= 0 && l != leader
	}, 10*time.Second, 10*time.Millisecond, "no new catalog leader")
	survivor := c.Hosts[(leader+1)%3].Client()
	// enough DDL to pass SnapshotEntries, so the restarted host may catch up by snapshot or log
	for i := range 25 {
		out, _, err := survivor.CreateCollection(ctx, meta.Collection{Tenant: meta.DefaultTenant, DB: "db",
			Name: fmt.Sprintf("after%02d", i), TimeField: "t"})
		require.NoError(t, err)
		require.Equal(t, meta.Created, out)
	}

	restarted := c.Restart(leader)
	c.WaitReady()
	coll, found, err := restarted.Client().GetCollection(ctx, meta.DefaultTenant, "db", "after24")
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, "after24", coll.Name)
	colls, err := restarted.Client().ListCollections(ctx, meta.DefaultTenant, "db")
	require.NoError(t, err)
	require.Len(t, colls, 26)
	// and the restarted host's cache catches up too
	require.Eventually(t, func() bool {
		_, ok := restarted.Client().CachedCollection(meta.DefaultTenant, "db", "after24")
		return ok
	}, 5*time.Second, 10*time.Millisecond)
	// DDL through the restarted host works
	_, _, err = restarted.Client().CreateCollection(ctx, meta.Collection{Tenant: meta.DefaultTenant, DB: "db",
		Name: "last", TimeField: "t"})
	require.NoError(t, err)
}
