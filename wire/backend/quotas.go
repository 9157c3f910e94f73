package backend

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/storage/layout"
)

// Tenant quotas on this data node. max_databases is the catalog's (create_database checks it in
// the Raft log); the others are checked here before a write, which then writes nothing:
//   - max_write_values_per_sec: a token bucket per tenant (a burst of one second's worth);
//   - max_bytes and max_series: against the tenant's usage on this node (bytes of its data
//     directory, series of its vnodes' indexes), sampled every few seconds by RunUsage, so a
//     write may pass a limit by what arrives between two samples.

// QuotaError is a write refused by a tenant quota.
type QuotaError struct {
	Tenant, Quota string
	Limit, Used   int64
	Rate          bool // a rate (retry later) rather than a size
}

func (e *QuotaError) Error() string {
	return fmt.Sprintf("tenant %q: quota %s=%d exceeded (%d)", e.Tenant, e.Quota, e.Limit, e.Used)
}

// Is makes every quota refusal match meta.ErrQuotaExceeded (as max_databases does).
func (e *QuotaError) Is(target error) bool { return target == meta.ErrQuotaExceeded }

// RetryLater reports a rate quota: the same write may pass in a moment.
func (e *QuotaError) RetryLater() bool { return e.Rate }

// usage is a tenant's footprint on this node, as last sampled.
type usage struct{ bytes, series int64 }

type quotaState struct {
	mu       sync.Mutex
	usage    map[string]usage
	limiters map[string]*rate.Limiter
}

// checkQuotas refuses a write of values values for tenant when a quota forbids it.
func (b *Backend) checkQuotas(tenant string, values int) error {
	q := b.meta.CachedQuotas(tenant)
	if q == (meta.Quotas{}) {
		return nil
	}
	b.quotas.mu.Lock()
	defer b.quotas.mu.Unlock()
	u := b.quotas.usage[tenant]
	if q.MaxBytes > 0 && u.bytes >= q.MaxBytes {
		return &QuotaError{Tenant: tenant, Quota: "max_bytes", Limit: q.MaxBytes, Used: u.bytes}
	}
	if q.MaxSeries > 0 && u.series >= q.MaxSeries {
		return &QuotaError{Tenant: tenant, Quota: "max_series", Limit: q.MaxSeries, Used: u.series}
	}
	if q.MaxWriteValuesPerSec > 0 {
		if b.quotas.limiters == nil {
			b.quotas.limiters = map[string]*rate.Limiter{}
		}
		l := b.quotas.limiters[tenant]
		if l == nil || l.Limit() != rate.Limit(q.MaxWriteValuesPerSec) {
			l = rate.NewLimiter(rate.Limit(q.MaxWriteValuesPerSec), int(q.MaxWriteValuesPerSec))
			b.quotas.limiters[tenant] = l
		}
		if !l.AllowN(time.Now(), values) {
			return &QuotaError{Tenant: tenant, Quota: "max_write_values_per_sec", Limit: q.MaxWriteValuesPerSec, Used: int64(values), Rate: true}
		}
	}
	return nil
}

// SampleUsage measures every tenant's bytes and series on this node.
func (b *Backend) SampleUsage(ctx context.Context) error {
	tenants, err := b.meta.ListTenants(ctx)
	if err != nil {
		return err
	}
	stats, err := b.node.Stats(ctx)
	if err != nil {
		return err
	}
	next := make(map[string]usage, len(tenants))
	for _, t := range tenants {
		next[t] = usage{bytes: dirSize(filepath.Join(b.dataDir, layout.DataDir, t))}
	}
	for _, s := range stats {
		u := next[s.GetTenant()]
		u.series += int64(s.GetSeries())
		next[s.GetTenant()] = u
	}
	b.quotas.mu.Lock()
	b.quotas.usage = next
	b.quotas.mu.Unlock()
	return nil
}

// RunUsage runs SampleUsage every interval until ctx ends.
func (b *Backend) RunUsage(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := b.SampleUsage(ctx); err != nil && ctx.Err() == nil {
			b.log.WithError(err).Debug("sampling tenant usage failed")
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
