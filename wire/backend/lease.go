package backend

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/chronogo/chronogo/meta"
)

// ErrLeaseLost stops work whose lease could not be renewed in time: another node may take over.
var ErrLeaseLost = errors.New("lease lost")

// leaseRunner runs work on one node of the cluster at a time, under a lease of the meta locks
// shard: run takes (or extends) the lease and calls fn only when this holder has it; fn calls
// check between steps, which renews the lease when a third of it is left and fails once it
// cannot be sure of it any more. A holder that dies stops renewing, so another takes over when
// the lease expires. The margin keeps a holder from working into a lease it may have lost to
// clock drift between nodes.
type leaseRunner struct {
	meta   *meta.Client
	name   string
	holder string
	ttl    time.Duration
	now    func() time.Time
}

func newLeaseRunner(m *meta.Client, name, holder string, ttl time.Duration) *leaseRunner {
	return &leaseRunner{meta: m, name: name, holder: holder, ttl: ttl, now: time.Now}
}

// run calls fn if this holder gets the lease; ran reports whether it did.
func (l *leaseRunner) run(ctx context.Context, fn func(ctx context.Context, check func() error) error) (ran bool, err error) {
	lease, ok, err := l.meta.Acquire(ctx, l.name, l.holder, l.ttl)
	if err != nil || !ok {
		return false, err
	}
	until := time.Unix(0, lease.ExpiresAt).Add(-l.ttl / 3)
	check := func() error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if l.now().Before(until.Add(-l.ttl / 3)) {
			return nil
		}
		renewed, err := l.meta.Renew(ctx, l.name, l.holder, lease.Token, l.ttl)
		if err != nil || l.now().After(until) {
			return fmt.Errorf("%w: %s: %v", ErrLeaseLost, l.name, err)
		}
		lease = renewed
		until = time.Unix(0, lease.ExpiresAt).Add(-l.ttl / 3)
		return nil
	}
	return true, fn(ctx, check)
}
