package meta_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/meta/metatest"
)

// TestDiscoveryAndNonVotingJoin bootstraps three voters that learn their founding members through
// ResolveMembers (none has InitialMembers), then a fourth host joins as a non-voting replica
// through RequestJoin (asked twice: a retried join is harmless). The non-voting host proposes DDL
// and reads linearizably, and after a restart it comes back without asking again.
func TestDiscoveryAndNonVotingJoin(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	founders := map[uint64]string{}
	cfgs := make([]meta.Config, 3)
	for i := range cfgs {
		cfgs[i] = metatest.Config(t, dir, uint64(i+1), 3)
		founders[cfgs[i].NodeID] = cfgs[i].RaftAddr
	}
	resolved := 0
	var mu sync.Mutex
	hosts := make([]*meta.Host, 3)
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range cfgs {
		cfgs[i].InitialMembers = nil
		cfgs[i].ResolveMembers = func(context.Context) (map[uint64]string, error) {
			mu.Lock()
			resolved++
			mu.Unlock()
			return founders, nil
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			hosts[i], errs[i] = meta.Start(cfgs[i])
		}()
	}
	wg.Wait()
	for i, h := range hosts {
		require.NoError(t, errs[i])
		t.Cleanup(h.Close)
	}
	for _, h := range hosts {
		require.NoError(t, h.WaitReady(ctx))
	}
	require.Equal(t, 3, resolved)

	joiner := metatest.Config(t, dir, 4, 3)
	joiner.InitialMembers, joiner.Join, joiner.NonVoting = nil, true, true
	joins := 0
	joiner.RequestJoin = func(ctx context.Context) error {
		joins++
		for range 2 {
			if err := hosts[1].AddReplica(ctx, 4, joiner.RaftAddr, false); err != nil {
				return err
			}
		}
		return nil
	}
	j, err := meta.Start(joiner)
	require.NoError(t, err)
	require.NoError(t, j.WaitReady(ctx))
	require.Equal(t, 1, joins)

	_, _, err = j.Client().CreateDatabase(ctx, meta.Database{Tenant: meta.DefaultTenant, Name: "fromjoiner"})
	require.NoError(t, err, "a non-voting replica proposes through the leader")
	for _, h := range hosts {
		_, found, err := h.Client().GetDatabase(ctx, meta.DefaultTenant, "fromjoiner")
		require.NoError(t, err)
		require.True(t, found)
	}
	_, _, err = hosts[0].Client().CreateDatabase(ctx, meta.Database{Tenant: meta.DefaultTenant, Name: "fromvoter"})
	require.NoError(t, err)
	_, found, err := j.Client().GetDatabase(ctx, meta.DefaultTenant, "fromvoter")
	require.NoError(t, err)
	require.True(t, found, "the non-voting replica reads what voters wrote")

	// the voters' quorum does not include the joiner: stopping it changes nothing for DDL
	j.Close()
	_, _, err = hosts[2].Client().CreateDatabase(ctx, meta.Database{Tenant: meta.DefaultTenant, Name: "whilejoinerdown"})
	require.NoError(t, err)
	joiner.RequestJoin = func(context.Context) error { return errors.New("a restart must not ask to join again") }
	j, err = meta.Start(joiner)
	require.NoError(t, err)
	t.Cleanup(j.Close)
	require.NoError(t, j.WaitReady(ctx))
	_, found, err = j.Client().GetDatabase(ctx, meta.DefaultTenant, "whilejoinerdown")
	require.NoError(t, err)
	require.True(t, found, "the restarted joiner caught up")
}

// TestResolveMembersMustNameThisNode: founding members that leave this node out are an error.
func TestResolveMembersMustNameThisNode(t *testing.T) {
	cfg := metatest.Config(t, t.TempDir(), 1, 1)
	cfg.ResolveMembers = func(context.Context) (map[uint64]string, error) {
		return map[uint64]string{2: "elsewhere:1"}, nil
	}
	_, err := meta.Start(cfg)
	require.ErrorContains(t, err, "do not name this node")
	cfg.DataDir = filepath.Join(t.TempDir(), "x")
	cfg.ResolveMembers = func(context.Context) (map[uint64]string, error) { return nil, fmt.Errorf("no peers") }
	_, err = meta.Start(cfg)
	require.ErrorContains(t, err, "no peers")
}

// TestDatabaseDefaults: a host's DatabaseDefaults apply to explicit and implicit databases.
func TestDatabaseDefaults(t *testing.T) {
	cfg := metatest.Config(t, t.TempDir(), 1, 1)
	cfg.DatabaseDefaults = meta.Database{ReplicationFactor: 3, ShardCount: 2}
	h, err := meta.Start(cfg)
	require.NoError(t, err)
	t.Cleanup(h.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, h.WaitReady(ctx))
	_, d, err := h.Client().CreateDatabase(ctx, meta.Database{Tenant: meta.DefaultTenant, Name: "explicit"})
	require.NoError(t, err)
	require.Equal(t, 3, d.ReplicationFactor)
	require.Equal(t, 2, d.ShardCount)
	require.Equal(t, "quorum", d.Consistency)
	_, _, err = h.Client().CreateCollection(ctx, meta.Collection{Tenant: meta.DefaultTenant, DB: "implicit", Name: "c", TimeField: "t"})
	require.NoError(t, err)
	d, found, err := h.Client().GetDatabase(ctx, meta.DefaultTenant, "implicit")
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, 3, d.ReplicationFactor)
	require.Equal(t, 2, d.ShardCount)
	require.Equal(t, "quorum", d.Consistency)
	require.Equal(t, int64(24*time.Hour), d.BucketDuration)
}

// TestSyncPlacementSeesOtherHostsBuckets: with a cache poll interval far longer than the test, a
// bucket created through one host is in another host's cache right after SyncPlacement.
func TestSyncPlacementSeesOtherHostsBuckets(t *testing.T) {
	dir := t.TempDir()
	hosts := make([]*meta.Host, 3)
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range hosts {
		cfg := metatest.Config(t, dir, uint64(i+1), 3)
		cfg.CachePollInterval = time.Hour
		wg.Add(1)
		go func() {
			defer wg.Done()
			hosts[i], errs[i] = meta.Start(cfg)
		}()
	}
	wg.Wait()
	for i, h := range hosts {
		require.NoError(t, errs[i])
		t.Cleanup(h.Close)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, h := range hosts {
		require.NoError(t, h.WaitReady(ctx))
	}
	a, b := hosts[0].Client(), hosts[1].Client()
	require.NoError(t, a.RegisterNode(ctx, meta.Node{ID: 1, Role: "dnode"}))
	_, _, err := a.CreateDatabase(ctx, meta.Database{Tenant: meta.DefaultTenant, Name: "db"})
	require.NoError(t, err)
	before := b.CachedBucketsIn(meta.DefaultTenant, "db", 0, 10)
	bk, err := a.BucketFor(ctx, meta.DefaultTenant, "db", 5)
	require.NoError(t, err)
	require.NoError(t, b.SyncPlacement(ctx))
	after := b.CachedBucketsIn(meta.DefaultTenant, "db", 0, 10)
	require.Len(t, after, 1)
	require.Equal(t, bk.ID, after[0].ID)
	require.Empty(t, before, "the cache of b knew nothing of the bucket before")
}
