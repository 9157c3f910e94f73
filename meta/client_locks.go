package meta

import (
	"context"
	"fmt"
	"time"

	"github.com/chronogo/chronogo/meta/locks"
)

// proposeLock proposes a locks command and decodes the result.
func (c *Client) proposeLock(ctx context.Context, cmd locks.Command) (locks.Result, error) {
	cmd.Now = c.now()
	r, err := proposeFor[locks.Result](ctx, c, ShardLocks, fmt.Sprintf("lock %s of %s", cmd.Op, cmd.Name), cmd)
	if err != nil {
		return r, err
	}
	switch r.Code {
	case locks.CodeNotFound:
		return r, fmt.Errorf("lock %s of %s: %w", cmd.Op, cmd.Name, ErrLockNotFound)
	case locks.CodeNotHolder:
		return r, fmt.Errorf("lock %s of %s: %w", cmd.Op, cmd.Name, ErrNotLockHolder)
	case locks.CodeExpired:
		return r, fmt.Errorf("lock %s of %s: %w", cmd.Op, cmd.Name, ErrLeaseExpired)
	case locks.CodeInvalid:
		return r, fmt.Errorf("lock %s of %s: %w: %s", cmd.Op, cmd.Name, ErrInvalid, r.Message)
	}
	return r, nil
}

// Acquire tries to take the lock name for holder for ttl (from this node's clock). It returns the
// lease and true when granted (a new fencing token, or the same token extended when holder already
// held it), or the blocking lease and false when another holder's lease is still valid.
func (c *Client) Acquire(ctx context.Context, name, holder string, ttl time.Duration) (Lease, bool, error) {
	r, err := c.proposeLock(ctx, locks.Command{Op: locks.OpAcquire, Name: name, Holder: holder, TTL: int64(ttl)})
	if err != nil {
		return Lease{}, false, err
	}
	return *r.Lease, r.Code == locks.CodeGranted, nil
}

// Renew extends a lease held by (holder, token) to now+ttl (ErrNotLockHolder, ErrLeaseExpired,
// ErrLockNotFound).
func (c *Client) Renew(ctx context.Context, name, holder string, token uint64, ttl time.Duration) (Lease, error) {
	r, err := c.proposeLock(ctx, locks.Command{Op: locks.OpRenew, Name: name, Holder: holder, Token: token,
		TTL: int64(ttl)})
	if err != nil {
		return Lease{}, err
	}
	return *r.Lease, nil
}

// Release frees a lease held by (holder, token). Releasing a lease that no longer exists is not an
// error (a retried release); ErrNotLockHolder when someone else holds it now.
func (c *Client) Release(ctx context.Context, name, holder string, token uint64) error {
	r, err := c.proposeLock(ctx, locks.Command{Op: locks.OpRelease, Name: name, Holder: holder, Token: token})
	if r.Code == locks.CodeNotFound {
		return nil
	}
	return err
}

// GetLease reads a lease, expired or not (linearizable); compare ExpiresAt with your clock.
func (c *Client) GetLease(ctx context.Context, name string) (Lease, bool, error) {
	v, err := c.read(ctx, ShardLocks, locks.LeaseQuery{Name: name})
	if err != nil {
		return Lease{}, false, fmt.Errorf("reading lease %s: %w", name, err)
	}
	r := v.(locks.LeaseResult)
	return r.Lease, r.Found, nil
}
