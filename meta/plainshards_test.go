package meta_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/meta/metatest"
	"github.com/chronogo/chronogo/meta/plain"
)

// TestPlainShardReplicas: three hosts registered as data nodes; a database with replication
// factor 3 gets a plain shard whose replicas every host starts by itself; a write through one
// host is read on the others (linearizable); with one host stopped the others go on, and the
// stopped one has the write when it returns; dropping the database removes every replica's
// store, the stopped host's when it starts again; an orphan drop naming another shard id keeps
// the database's shard.
func TestPlainShardReplicas(t *testing.T) {
	c := metatest.StartCluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i, h := range c.Hosts {
		require.NoError(t, h.Client().RegisterNode(ctx, meta.Node{ID: uint64(i + 1), Role: "dnode", RaftAddr: c.Configs[i].RaftAddr}))
	}
	m := c.Hosts[0].Client()
	_, _, err := m.CreateDatabase(ctx, meta.Database{Tenant: meta.DefaultTenant, Name: "d", ReplicationFactor: 3})
	require.NoError(t, err)
	p, ok, err := m.PlainShardOf(ctx, meta.DefaultTenant, "d", true)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, []uint64{1, 2, 3}, p.Replicas)
	require.GreaterOrEqual(t, p.ID, meta.PlainShardBase)

	doc, _ := bson.Marshal(bson.D{{Key: "_id", Value: "dev1"}})
	write := func(h *meta.Host, key string) {
		t.Helper()
		here, err := h.Client().PlainHere(p)
		require.NoError(t, err)
		require.True(t, here)
		res, _, err := h.Client().PlainWrite(ctx, p.ID, plain.Command{Op: plain.OpWrite, NS: plain.NS{Tenant: meta.DefaultTenant, DB: "d", Coll: "c"},
			Items: []plain.Item{{Mode: plain.ModeInsert, Key: []byte(key), Doc: doc}}})
		require.NoError(t, err)
		require.Equal(t, []plain.Status{plain.StatusOK}, res.Statuses)
	}
	read := func(h *meta.Host, key string) bool {
		t.Helper()
		_, err := h.Client().PlainHere(p)
		require.NoError(t, err)
		v, err := h.Client().PlainRead(ctx, p.ID, plain.GetQuery{NS: plain.NS{Tenant: meta.DefaultTenant, DB: "d", Coll: "c"}, Key: []byte(key)})
		require.NoError(t, err)
		return v.(plain.GetResult).Found
	}
	write(c.Hosts[0], "k1")
	for _, h := range c.Hosts {
		require.True(t, read(h, "k1"))
	}
	stores := func(i int) []string {
		m, _ := filepath.Glob(filepath.Join(c.Configs[i].DataDir, "plain-*"))
		return m
	}
	for i := range c.Hosts {
		require.Equal(t, []string{filepath.Join(c.Configs[i].DataDir, fmt.Sprintf("plain-%d-%d", p.ID, i+1))}, stores(i))
	}

	c.Stop(2)
	write(c.Hosts[1], "k2")
	require.True(t, read(c.Hosts[0], "k2"))
	c.Restart(2)
	require.Eventually(t, func() bool { return read(c.Hosts[2], "k2") }, 20*time.Second, 50*time.Millisecond)

	dropped, err := m.DropPlainShard(ctx, meta.DefaultTenant, "d", p.ID+1)
	require.NoError(t, err)
	require.False(t, dropped, "another shard id: the database's shard stays")
	c.Stop(2)
	_, _, err = m.DropDatabase(ctx, meta.DefaultTenant, "d")
	require.NoError(t, err)
	for i := range 2 {
		require.Eventually(t, func() bool { return len(stores(i)) == 0 }, 20*time.Second, 50*time.Millisecond, "host %d", i+1)
	}
	require.Len(t, stores(2), 1, "the stopped host keeps its store until it starts")
	c.Restart(2)
	require.Eventually(t, func() bool { return len(stores(2)) == 0 }, 20*time.Second, 50*time.Millisecond, "the restarted host removes it")
	require.Eventually(t, func() bool { // its cache catches up with the placement
		_, ok, err := c.Hosts[2].Client().PlainShardOf(ctx, meta.DefaultTenant, "d", false)
		return err == nil && !ok
	}, 20*time.Second, 50*time.Millisecond)
}
