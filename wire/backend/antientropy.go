package backend

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/chronogo/chronogo/actors/coordinator"
)

// repairLock is the lease under which one node of the cluster runs scheduled repairs.
const repairLock = "antientropy"

// RepairDatabase runs anti-entropy repair of a database's time-series collections (each with
// its creation time, so points of a dropped collection of the same name are never copied).
func (b *Backend) RepairDatabase(ctx context.Context, tenant, db string, opt coordinator.RepairOptions) (coordinator.RepairReport, error) {
	colls, err := b.meta.ListCollections(ctx, tenant, db)
	if err != nil {
		return coordinator.RepairReport{}, err
	}
	opt.Tables = map[string]int64{}
	for _, c := range colls {
		if !c.Plain() {
			opt.Tables[c.TableName()] = c.CreatedAt
		}
	}
	return b.node.Repair(ctx, tenant, db, opt)
}

// RunRepair repairs every database replicated more than once, every interval, on one node of
// the cluster at a time (under a lease), over the data older than settled: newer gaps are
// still being filled by hinted handoff.
func (b *Backend) RunRepair(ctx context.Context, interval, settled time.Duration, holder string) {
	b.runLeased(ctx, newLeaseRunner(b.meta, repairLock, holder, max(interval/2, 5*time.Minute)), interval, "scheduled repair",
		func(ctx context.Context, now time.Time, check func() error) error {
			return b.RepairOnce(ctx, now.Add(-settled), check)
		})
}

// RepairOnce repairs the data before until of every database replicated more than once.
func (b *Backend) RepairOnce(ctx context.Context, until time.Time, check func() error) error {
	placed, err := b.meta.PlacedDatabases(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, p := range placed {
		if err := check(); err != nil {
			return err
		}
		if len(p.BucketIDs) == 0 {
			continue // plain collections only: Raft keeps their replicas equal
		}
		d, ok, err := b.meta.GetDatabase(ctx, p.Tenant, p.DB)
		if err != nil || !ok || d.ReplicationFactor < 2 {
			continue
		}
		rep, err := b.RepairDatabase(ctx, p.Tenant, p.DB, coordinator.RepairOptions{Window: time.Hour, MinTime: math.MinInt64, MaxTime: until.UnixNano()})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		log := b.log.WithFields(logrus.Fields{"tenant": p.Tenant, "db": p.DB, "windows_different": rep.WindowsDifferent,
			"series_repaired": rep.SeriesRepaired, "still_different": rep.StillDifferent, "points_copied": rep.PointsCopied, "skipped": rep.Skipped})
		if rep.WindowsDifferent > 0 || rep.Skipped > 0 {
			log.Info("scheduled repair")
		} else {
			log.Debug("scheduled repair: replicas agree")
		}
	}
	return errors.Join(errs...)
}
