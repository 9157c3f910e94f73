package backend

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/wire/mongo"
	"github.com/chronogo/chronogo/wire/mongoerr"
)

// ReplaceCollection puts a $out's staging collection in target's place in one catalog entry,
// then drops the replaced collection's data (kept under a hidden retired name until then: a
// crash or a failure here leaves it to the TTL pass, sweepHidden).
func (b *Backend) ReplaceCollection(ctx context.Context, db, target, staging string) error {
	_, retired, err := b.meta.ReplaceCollection(ctx, meta.TenantOf(ctx), db, target, staging)
	switch {
	case errors.Is(err, meta.ErrCollectionNotFound), errors.Is(err, meta.ErrDatabaseNotFound):
		return mongoerr.New(mongoerr.NamespaceNotFound, "the staging collection of $out into %s.%s was dropped before it was complete", db, target)
	case errors.Is(err, meta.ErrInvalid):
		return mongoerr.New(mongoerr.InvalidOptions, "%v", err)
	case err != nil:
		return err
	}
	b.log.WithFields(logrus.Fields{"db": db, "collection": target, "staging": staging, "retired": retired}).Debug("$out replaced a collection")
	if retired != "" {
		if _, err := b.DropCollection(context.WithoutCancel(ctx), db, retired); err != nil {
			b.log.WithError(err).WithFields(logrus.Fields{"db": db, "collection": retired}).
				Warn("$out: the replaced collection's data is dropped by the next TTL pass")
		}
	}
	return nil
}

// sweepHidden drops, in a TTL pass, a retired collection (the data a $out replaced, left by a
// crash before it was dropped) and a staging collection older than StagingMaxAge (a $out that
// crashed while filling it). It reports whether c was one of them.
//
// A staging collection leaves the catalog before its data is deleted: if a late $out swapped it
// in first, the catalog drop finds nothing and its data stays the target's; if the drop came
// first, the swap fails (NamespaceNotFound) and the old target stays. A crash between the two
// steps leaves points that no collection names (never read).
func (b *Backend) sweepHidden(ctx context.Context, c meta.Collection, now time.Time) bool {
	kind, hidden := meta.HiddenKind(c.Name)
	if !hidden {
		return false
	}
	maxAge := b.StagingMaxAge
	if maxAge <= 0 {
		maxAge = mongo.OutStagingMaxAge
	}
	log := b.log.WithFields(logrus.Fields{"tenant": c.Tenant, "db": c.DB, "collection": c.Name})
	var err error
	switch {
	case kind == meta.HiddenRetired:
		_, err = b.DropCollection(meta.WithTenant(ctx, c.Tenant), c.DB, c.Name)
	case kind == meta.HiddenStaging && now.Sub(time.Unix(0, c.CreatedAt)) >= maxAge:
		err = b.dropStaging(ctx, c)
	default:
		return true // a $out may be filling it
	}
	if err != nil {
		log.WithError(err).Warn("ttl pass: dropping a hidden collection failed")
		return true
	}
	log.Warn("ttl pass: dropped a hidden collection an interrupted $out left")
	return true
}

// dropStaging drops an abandoned staging collection: the catalog entry, then its points.
func (b *Backend) dropStaging(ctx context.Context, c meta.Collection) error {
	existed, err := b.meta.DropCollection(ctx, c.Tenant, c.DB, c.Name)
	if err != nil || !existed {
		return err // swapped in, or dropped already
	}
	if err := b.node.Delete(ctx, c.Tenant, c.DB, c.TableName(), nil, math.MinInt64, math.MaxInt64); err != nil {
		return fmt.Errorf("delete the points of %s.%s: %w", c.DB, c.Name, err)
	}
	return b.node.DropTable(ctx, c.Tenant, c.DB, c.TableName())
}
