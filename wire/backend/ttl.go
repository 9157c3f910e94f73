package backend

import (
	"context"
	"math"
	"time"

	"github.com/sirupsen/logrus"
)

// ExpireOnce deletes, in every collection with expireAfterSeconds of every tenant, the
// measurements whose time is older than now minus the TTL.
func (b *Backend) ExpireOnce(ctx context.Context, now time.Time) error {
	tenants, err := b.meta.ListTenants(ctx)
	if err != nil {
		return err
	}
	for _, t := range tenants {
		if err := b.expireTenant(ctx, t, now); err != nil {
			return err
		}
	}
	return nil
}

func (b *Backend) expireTenant(ctx context.Context, tenant string, now time.Time) error {
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
			if !c.HasTTL {
				continue
			}
			cut := now.Add(-time.Duration(c.ExpireAfterSeconds) * time.Second).UnixNano()
			if err := b.node.Delete(ctx, tenant, d.Name, c.Name, nil, math.MinInt64, cut-1); err != nil {
				return err
			}
			b.log.WithFields(logrus.Fields{"tenant": tenant, "db": d.Name, "collection": c.Name, "expired_before": time.Unix(0, cut).UTC()}).Debug("ttl pass")
		}
	}
	return nil
}

// RunTTL runs ExpireOnce every interval until ctx ends.
func (b *Backend) RunTTL(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if err := b.ExpireOnce(ctx, now); err != nil && ctx.Err() == nil {
				b.log.WithError(err).Warn("ttl pass failed")
			}
		}
	}
}
