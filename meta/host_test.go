package meta

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/require"
)

// standaloneConfig is a single-node config over the in-process transport.
func standaloneConfig(t *testing.T, dir string) Config {
	l := logrus.New()
	l.SetLevel(logrus.WarnLevel)
	return Config{
		NodeID:             1,
		ClusterID:          "test-" + t.Name(),
		DataDir:            dir,
		RaftAddr:           strings.ToLower(fmt.Sprintf("standalone.%s:1", t.Name())),
		Logger:             l,
		RTTMillisecond:     5,
		SnapshotEntries:    10,
		CompactionOverhead: 5,
		InProcessTransport: true,
	}
}

// startHost starts a host and stops it at the end of the test.
func startHost(t *testing.T, cfg Config) *Host {
	t.Helper()
	h, err := Start(cfg)
	require.NoError(t, err)
	closed := false
	t.Cleanup(func() {
		if !closed {
			h.Close()
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, h.WaitReady(ctx))
	return h
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestStandaloneDDLSurvivesRestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "meta")
	cfg := standaloneConfig(t, dir)
	h, err := Start(cfg)
	require.NoError(t, err)
	ctx := testContext(t)
	require.NoError(t, h.WaitReady(ctx))
	c := h.Client()

	coll := Collection{Tenant: DefaultTenant, DB: "db1", Name: "cpu", TimeField: "ts", MetaField: "tags",
		Granularity: "seconds"}
	out, got, err := c.CreateCollection(ctx, coll)
	require.NoError(t, err)
	require.Equal(t, Created, out)
	require.Equal(t, int64(3600), got.BucketMaxSpanSeconds)
	// enough commands to cross SnapshotEntries, so the restart recovers from a snapshot plus log
	for i := range 15 {
		_, _, err := c.CreateCollection(ctx, Collection{Tenant: DefaultTenant, DB: "db1",
			Name: fmt.Sprintf("c%02d", i), TimeField: "t"})
		require.NoError(t, err)
	}
	require.NoError(t, c.RegisterNode(ctx, Node{ID: 1, Role: "standalone", MongoAddr: "127.0.0.1:27017"}))
	b, err := c.BucketFor(ctx, DefaultTenant, "db1", int64(36*time.Hour))
	require.NoError(t, err)
	require.Equal(t, int64(24*time.Hour), b.Start)
	lease, granted, err := c.Acquire(ctx, "compaction", "node-1", time.Minute)
	require.NoError(t, err)
	require.True(t, granted)
	h.Close()

	h2 := startHost(t, cfg)
	c2 := h2.Client()
	got2, found, err := c2.GetCollection(ctx, DefaultTenant, "db1", "cpu")
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, got, got2)
	colls, err := c2.ListCollections(ctx, DefaultTenant, "db1")
	require.NoError(t, err)
	require.Len(t, colls, 16)
	bs, err := c2.BucketsIn(ctx, DefaultTenant, "db1", 0, int64(48*time.Hour))
	require.NoError(t, err)
	require.Equal(t, []Bucket{b}, bs)
	l2, found, err := c2.GetLease(ctx, "compaction")
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, lease, l2)
	// the cache catches up with the recovered state without any local write
	require.Eventually(t, func() bool {
		_, ok := c2.CachedCollection(DefaultTenant, "db1", "cpu")
		return ok
	}, 5*time.Second, 10*time.Millisecond)
}
