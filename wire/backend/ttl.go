package backend

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/chronogo/chronogo/meta"
)

// ttlLock is the locks-shard lease that lets one node of the cluster run the TTL passes.
const ttlLock = "ttl"

// ExpireOnce deletes, in every collection with expireAfterSeconds of every tenant, the
// measurements whose time is older than now minus the TTL. check is called before each
// collection (the TTL lease's; a nil check always passes). A failing collection is logged and
// the pass goes on with the others; the first error is returned at the end.
func (b *Backend) ExpireOnce(ctx context.Context, now time.Time, check func() error) error {
	if check == nil {
		check = func() error { return nil }
	}
	tenants, err := b.meta.ListTenants(ctx)
	if err != nil {
		return err
	}
	var first error
	for _, t := range tenants {
		err := b.expireTenant(ctx, t, now, check)
		if errors.Is(err, ErrLeaseLost) || ctx.Err() != nil {
			return err
		}
		if err != nil && first == nil {
			first = err
		}
	}
	if err := check(); err != nil {
		return err
	}
	if err := b.dropOrphanBuckets(ctx); err != nil && first == nil {
		first = err
	}
	return first
}

// dropOrphanBuckets drops from the placement the buckets and plain shards of databases the
// catalog no longer has (a dropDatabase whose second step, dropping them, did not happen): the
// nodes' sweeps then remove their data, and the plain shards' replicas remove themselves. The placement is read before the catalog, so a bucket listed belongs to
// an incarnation of the database that had been dropped when the catalog said it did not exist;
// only those bucket and shard ids are dropped, never a newer incarnation's.
func (b *Backend) dropOrphanBuckets(ctx context.Context) error {
	placed, err := b.meta.PlacedDatabases(ctx)
	if err != nil {
		return err
	}
	for _, p := range placed {
		_, exists, err := b.meta.GetDatabase(ctx, p.Tenant, p.DB)
		if err != nil {
			return err
		}
		if exists {
			continue
		}
		for _, id := range p.BucketIDs {
			if _, err := b.meta.DropBucket(ctx, p.Tenant, p.DB, id); err != nil {
				return err
			}
		}
		if p.PlainShard != 0 {
			if _, err := b.meta.DropPlainShard(ctx, p.Tenant, p.DB, p.PlainShard); err != nil {
				return err
			}
		}
		b.log.WithFields(logrus.Fields{"tenant": p.Tenant, "db": p.DB, "buckets": len(p.BucketIDs), "plain_shard": p.PlainShard}).Info("dropped the buckets and plain shard of a dropped database")
	}
	return nil
}

func (b *Backend) expireTenant(ctx context.Context, tenant string, now time.Time, check func() error) error {
	var first error
	dbs, err := b.meta.ListDatabases(ctx, tenant)
	if err != nil {
		return err
	}
	for _, d := range dbs {
		colls, err := b.meta.ListCollections(ctx, tenant, d.Name)
		if err != nil {
			return err
		}
		for _, c := range colls {
			if err := check(); err != nil {
				return err
			}
			if b.sweepHidden(ctx, c, now) || !c.HasTTL {
				continue
			}
			cut := now.Add(-time.Duration(c.ExpireAfterSeconds) * time.Second).UnixNano()
			if err := b.node.Delete(ctx, tenant, d.Name, c.TableName(), nil, math.MinInt64, cut-1); err != nil {
				// one collection's failure (a replica down) does not stop the others
				b.log.WithError(err).WithFields(logrus.Fields{"tenant": tenant, "db": d.Name, "collection": c.Name}).Warn("ttl pass of a collection failed")
				if first == nil {
					first = err
				}
				continue
			}
			b.log.WithFields(logrus.Fields{"tenant": tenant, "db": d.Name, "collection": c.Name, "expired_before": time.Unix(0, cut).UTC()}).Debug("ttl pass")
		}
		if err := b.dropExpiredBuckets(ctx, tenant, d.Name, colls, now); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// dropExpiredBuckets drops from the placement the buckets of a database whose every point has
// expired in every collection (each has a TTL, and the bucket ends before the oldest cut): the
// nodes' sweeps then remove their directories, so expiry gives the disk back.
func (b *Backend) dropExpiredBuckets(ctx context.Context, tenant, db string, colls []meta.Collection, now time.Time) error {
	if len(colls) == 0 {
		return nil
	}
	cut := int64(math.MaxInt64)
	for _, c := range colls {
		if !c.HasTTL {
			return nil // a collection that keeps its data keeps the buckets
		}
		cut = min(cut, now.Add(-time.Duration(c.ExpireAfterSeconds)*time.Second).UnixNano())
	}
	expired, err := b.meta.ExpiredBuckets(ctx, tenant, db, cut)
	if err != nil {
		return err
	}
	for _, bk := range expired {
		if _, err := b.meta.DropBucket(ctx, tenant, db, bk.ID); err != nil {
			return err
		}
		b.log.WithFields(logrus.Fields{"tenant": tenant, "db": db, "bucket": bk.ID, "end": time.Unix(0, bk.End).UTC()}).Info("ttl: dropped an expired bucket")
	}
	return nil
}

// RunTTL runs ExpireOnce every interval until ctx ends, on one node of the cluster at a time:
// the holder of the TTL lease (named holder here), which a node takes over when its holder stops
// renewing it.
func (b *Backend) RunTTL(ctx context.Context, interval time.Duration, holder string) {
	b.runLeased(ctx, newLeaseRunner(b.meta, ttlLock, holder, max(3*interval, 30*time.Second)), interval, "ttl pass",
		func(ctx context.Context, now time.Time, check func() error) error {
			return b.ExpireOnce(ctx, now, check)
		})
}

// runLeased calls pass every interval until ctx ends, when this node holds (or takes) the lease;
// a failed pass is logged as what failed.
func (b *Backend) runLeased(ctx context.Context, lease *leaseRunner, interval time.Duration, what string,
	pass func(ctx context.Context, now time.Time, check func() error) error) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			_, err := lease.run(ctx, func(ctx context.Context, check func() error) error { return pass(ctx, now, check) })
			if err != nil && ctx.Err() == nil {
				b.log.WithError(err).Warn(what + " failed")
			}
		}
	}
}
