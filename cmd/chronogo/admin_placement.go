package main

import (
	"context"
	"math"
	"time"

	"github.com/chronogo/chronogo/actors/coordinator"
	"github.com/chronogo/chronogo/messages"
	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/wire/httpapi"
)

var _ httpapi.Placements = nodeAdmin{}

// Vnodes lists the placement's buckets (linearizable) and this node's vnodes with their sizes.
func (a nodeAdmin) Vnodes(ctx context.Context, tenant, db string) (httpapi.VnodesInfo, error) {
	// the version read first: the buckets listed next (linearizable) are at least as new
	info := httpapi.VnodesInfo{Node: a.self, Buckets: []httpapi.BucketInfo{}, Local: []httpapi.VnodeStat{}, Version: a.mc.CachedPlacementVersion()}
	placed, err := a.mc.PlacedDatabases(ctx)
	if err != nil {
		return info, err
	}
	for _, p := range placed {
		if (tenant != "" && p.Tenant != tenant) || (db != "" && p.DB != db) {
			continue
		}
		buckets, err := a.mc.BucketsIn(ctx, p.Tenant, p.DB, math.MinInt64, math.MaxInt64)
		if err != nil {
			return info, err
		}
		for _, b := range buckets {
			info.Buckets = append(info.Buckets, bucketInfo(b))
		}
	}
	stats, err := a.n.Stats(ctx)
	if err != nil {
		return info, err
	}
	for _, s := range stats {
		if (tenant != "" && s.GetTenant() != tenant) || (db != "" && s.GetDb() != db) {
			continue
		}
		info.Local = append(info.Local, vnodeStatOf(s))
	}
	return info, nil
}

func bucketInfo(b meta.Bucket) httpapi.BucketInfo {
	out := httpapi.BucketInfo{Tenant: b.Tenant, DB: b.DB, ID: b.ID, Start: nsTime(b.Start), End: nsTime(b.End)}
	for _, rs := range b.ReplicaSets {
		ri := httpapi.ReplicaSetInfo{ID: rs.ID}
		for _, v := range rs.Vnodes {
			ri.Vnodes = append(ri.Vnodes, httpapi.VnodeInfo{ID: v.ID, Node: v.NodeID, Joining: v.Joining})
		}
		out.ReplicaSets = append(out.ReplicaSets, ri)
	}
	return out
}

// nsTime formats a bucket bound.
func nsTime(ns int64) string { return time.Unix(0, ns).UTC().Format(time.RFC3339) }

// Truncate drops (or with dryRun lists) the buckets of db that end before a time: the nodes'
// sweeps then remove their vnodes, as for expired buckets.
func (a nodeAdmin) Truncate(ctx context.Context, tenant, db string, before int64, dryRun bool) ([]httpapi.BucketInfo, error) {
	buckets, err := a.mc.ExpiredBuckets(ctx, tenant, db, before)
	if err != nil {
		return nil, err
	}
	out := []httpapi.BucketInfo{}
	for _, b := range buckets {
		if !dryRun {
			if _, err := a.mc.DropBucket(ctx, tenant, db, b.ID); err != nil {
				return out, err
			}
		}
		out = append(out, bucketInfo(b))
	}
	return out, nil
}

var _ httpapi.Repairs = nodeAdmin{}

// Repair runs anti-entropy repair of a database's time-series collections from this node.
func (a nodeAdmin) Repair(ctx context.Context, tenant, db string, opt coordinator.RepairOptions) (coordinator.RepairReport, error) {
	return a.b.RepairDatabase(ctx, tenant, db, opt)
}

// vnodeStatOf is a vnode actor's stats as the admin API shows them.
func vnodeStatOf(s *messages.VnodeStats) httpapi.VnodeStat {
	return httpapi.VnodeStat{Tenant: s.GetTenant(), DB: s.GetDb(), Bucket: s.GetBucketId(), ReplicaSet: s.GetReplicaSetId(),
		Vnode: s.GetVnodeId(), Files: s.GetFiles(), DiskBytes: s.GetDiskBytes(), CacheBytes: s.GetCacheBytes(), Series: s.GetSeries(),
		FilesPerLevel: s.GetFilesPerLevel(), Job: s.GetJob(), JobSeconds: s.GetJobSeconds(),
		CompactionDone: s.GetCompactionDone(), CompactionTotal: s.GetCompactionTotal()}
}
