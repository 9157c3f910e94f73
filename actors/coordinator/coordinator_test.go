package coordinator

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/actors/vnode"
	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/engine"
	"github.com/chronogo/chronogo/storage/index"
)

// TestWriteRouting writes batches whose series span two buckets into 2 replica sets of 2 local
// replicas each, and checks every vnode against a model computed from the placement rules.
func TestWriteRouting(t *testing.T) {
	c := startCluster(t, []uint64{localID, localID}, meta.Database{BucketDuration: 1000, ShardCount: 2, Consistency: "all"})
	model := map[pt]float64{}
	hs := hosts(12)
	for seed, times := range [][]int64{{0, 100, 900, 1000, 1500}, {950, 999, 1001, 1999}, {1200, 1300}} {
		b := makeBatch(t, hs, times, seed, model)
		require.NoError(t, c.client.Write(context.Background(), tenant, dbName, table, b))
	}

	// the model: bucket = floor(ts / 1000), replica set = hash(series key) % 2
	want := map[[2]int64]map[pt]float64{}
	for p, v := range model {
		k := [2]int64{p.ts / 1000, int64(storage.HashSeriesKey(hostKey(t, p.host)) % 2)}
		if want[k] == nil {
			want[k] = map[pt]float64{}
		}
		want[k][p] = v
	}
	buckets, err := c.place.BucketsIn(context.Background(), tenant, dbName, math.MinInt64, math.MaxInt64)
	require.NoError(t, err)
	require.Len(t, buckets, 2)
	for _, b := range buckets {
		require.Len(t, b.ReplicaSets, 2)
		for i, rs := range b.ReplicaSets {
			require.Len(t, rs.Vnodes, 2)
			for _, v := range rs.Vnodes {
				got := c.scanVnode(t, vnode.Spec{Tenant: tenant, DB: dbName, BucketID: b.ID, ReplicaSetID: rs.ID, VnodeID: v.ID})
				require.Equal(t, want[[2]int64{b.Start / 1000, int64(i)}], got, "bucket %d replica set %d vnode %d", b.ID, i, v.ID)
			}
		}
	}
	require.NotEmpty(t, want[[2]int64{0, 0}])
	require.NotEmpty(t, want[[2]int64{1, 1}], "both replica sets of both buckets got data")
	require.Equal(t, model, c.scanAll(t))
}

func TestWriteConsistency(t *testing.T) {
	cases := []struct {
		level       string
		wantPartial bool
	}{{"one", false}, {"quorum", false}, {"any", false}, {"all", true}}
	for _, tc := range cases {
		t.Run(tc.level, func(t *testing.T) {
			// two replicas here, one on node 2 that cannot be reached
			c := startCluster(t, []uint64{localID, localID, remoteID}, meta.Database{BucketDuration: 1000, ShardCount: 2, Consistency: tc.level})
			model := map[pt]float64{}
			err := c.client.Write(context.Background(), tenant, dbName, table, makeBatch(t, hosts(8), []int64{10, 1010}, 1, model))
			if !tc.wantPartial {
				require.NoError(t, err)
				// At one and any the write returns before every replica committed it, and a read may
				// use a replica that has not yet: it sees the write soon, not at once.
				require.Eventually(t, func() bool { return assert.ObjectsAreEqual(model, c.scanAll(t)) }, 5*time.Second, 10*time.Millisecond)
				require.Equal(t, model, c.scanAll(t))
				return
			}
			var pe *PartialWriteError
			require.True(t, errors.As(err, &pe), "got %v", err)
			require.Equal(t, All, pe.Level)
			require.Zero(t, pe.Succeeded)
			require.Len(t, pe.Failed, 4, "2 buckets x 2 replica sets")
			require.True(t, pe.Retryable())
			for _, f := range pe.Failed {
				require.Equal(t, 2, f.Acks)
				require.Equal(t, 3, f.Need)
				require.Len(t, f.Errors, 1)
				require.Contains(t, f.Errors[0], "on node 2")
			}
			require.Contains(t, err.Error(), "partial write of cpu")
			require.Equal(t, model, c.scanAll(t), "a partial write keeps what the reachable replicas stored")
		})
	}
}

func TestWriteRejects(t *testing.T) {
	c := startCluster(t, []uint64{localID}, meta.Database{BucketDuration: 1000, ShardCount: 1})
	b := makeBatch(t, hosts(1), []int64{1}, 0, map[pt]float64{})
	require.ErrorContains(t, c.client.Write(context.Background(), tenant, dbName, "mem", b), `got table "cpu"; want "mem"`)
	require.ErrorContains(t, c.client.Write(context.Background(), tenant, "nodb", table, b), "not found")
	bad := &storage.Batch{Series: []storage.SeriesRows{{Key: hostKey(t, "a")}}}
	require.ErrorContains(t, c.client.Write(context.Background(), tenant, dbName, table, bad), "no rows")
}

func TestDeleteExpireDrop(t *testing.T) {
	c := startCluster(t, []uint64{localID}, meta.Database{BucketDuration: 1000, ShardCount: 2})
	ctx := context.Background()
	model := map[pt]float64{}
	hs := hosts(4)
	require.NoError(t, c.client.Write(ctx, tenant, dbName, table, makeBatch(t, hs, []int64{100, 500, 1100, 1500}, 0, model)))

	filter := index.Match{Key: "host", Op: index.OpEq, Value: storage.StringTag("host-01")}
	require.NoError(t, c.client.Delete(ctx, tenant, dbName, table, filter, 400, 1200))
	for p := range model {
		if p.host == "host-01" && p.ts >= 400 && p.ts <= 1200 {
			delete(model, p)
		}
	}
	require.Equal(t, model, c.scanAll(t))

	require.NoError(t, c.client.ExpireBefore(ctx, tenant, dbName, 200))
	for p := range model {
		if p.ts < 200 {
			delete(model, p)
		}
	}
	require.Equal(t, model, c.scanAll(t))

	counts := map[string]int64{}
	require.NoError(t, c.client.Aggregate(ctx, tenant, dbName, table, engine.AggQuery{ScanQuery: engine.ScanQuery{MinTime: math.MinInt64, MaxTime: math.MaxInt64, Fields: []string{"usage"}}},
		func(snap Source, r *engine.AggResult) error {
			k, _ := snap.SeriesKey(r.Series)
			h, _ := k.Tag("host")
			counts[string(h.Raw)] += r.Count
			return nil
		}))
	wantCounts := map[string]int64{}
	for p := range model {
		if p.field == "usage" {
			wantCounts[p.host]++
		}
	}
	require.Equal(t, wantCounts, counts, "partial aggregates of both buckets add up")

	require.NoError(t, c.client.DropTable(ctx, tenant, dbName, table))
	require.Empty(t, c.scanAll(t))
}
