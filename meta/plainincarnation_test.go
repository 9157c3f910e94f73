package meta

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/meta/catalog"
	"github.com/chronogo/chronogo/meta/plain"
)

// TestPlainShardOfAnotherIncarnation: a dropDatabase cut short after its catalog step leaves the
// database's plain shard in the placement; the database created again never reads the old
// documents, and its first write replaces the old shard with a new one.
func TestPlainShardOfAnotherIncarnation(t *testing.T) {
	cfg := standaloneConfig(t, filepath.Join(t.TempDir(), "meta"))
	h := startHost(t, cfg)
	c := h.Client()
	ctx := testContext(t)
	require.NoError(t, c.RegisterNode(ctx, Node{ID: cfg.NodeID, Role: "standalone", RaftAddr: cfg.RaftAddr}))
	_, _, err := c.CreateDatabase(ctx, Database{Tenant: DefaultTenant, Name: "d"})
	require.NoError(t, err)
	d1, _, err := c.GetDatabase(ctx, DefaultTenant, "d")
	require.NoError(t, err)
	require.Positive(t, d1.CreatedAt, "the catalog says when it created the database")
	p1, ok, err := c.PlainShardOf(ctx, DefaultTenant, "d", true)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, d1.CreatedAt, p1.DBCreatedAt)
	ns := plain.NS{Tenant: DefaultTenant, DB: "d", Coll: "c"}
	doc, _ := bson.Marshal(bson.D{{Key: "_id", Value: "old"}})
	_, err = c.PlainHere(p1)
	require.NoError(t, err)
	_, _, err = c.PlainWrite(ctx, p1.ID, plain.Command{Op: plain.OpWrite, NS: ns, Items: []plain.Item{{Mode: plain.ModeInsert, Key: []byte("old"), Doc: doc}}})
	require.NoError(t, err)

	// the drop's catalog step only, then the name created again
	_, err = c.proposeCatalog(ctx, catalog.Command{Op: catalog.OpDropDatabase, Tenant: DefaultTenant, DB: "d"})
	require.NoError(t, err)
	_, _, err = c.CreateDatabase(ctx, Database{Tenant: DefaultTenant, Name: "d"})
	require.NoError(t, err)
	d2, _, err := c.GetDatabase(ctx, DefaultTenant, "d")
	require.NoError(t, err)
	require.NotEqual(t, d1.CreatedAt, d2.CreatedAt)
	_, stale := c.CachedPlainShard(DefaultTenant, "d")
	require.True(t, stale, "the placement still has the old shard")

	_, ok, err = c.PlainShardOf(ctx, DefaultTenant, "d", false)
	require.NoError(t, err)
	require.False(t, ok, "reads see no shard: none of the old documents")
	p2, ok, err := c.PlainShardOf(ctx, DefaultTenant, "d", true)
	require.NoError(t, err)
	require.True(t, ok)
	require.NotEqual(t, p1.ID, p2.ID)
	require.Equal(t, d2.CreatedAt, p2.DBCreatedAt)
	_, err = c.PlainHere(p2)
	require.NoError(t, err)
	v, err := c.PlainRead(ctx, p2.ID, plain.GetQuery{NS: ns, Key: []byte("old")})
	require.NoError(t, err)
	require.False(t, v.(plain.GetResult).Found)
	shards, err := c.PlainShards(ctx)
	require.NoError(t, err)
	require.Len(t, shards, 1, "the old shard was dropped")
	require.Equal(t, p2.ID, shards[0].ID)
}
