package backend

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/meta/metatest"
)

// TestLeaseRunnerOneAtATime: two nodes' runners of the same lease never run at once; when the
// holder dies (stops renewing), the other takes over once the lease expires, and the old holder's
// next check fails instead of working on.
func TestLeaseRunnerOneAtATime(t *testing.T) {
	c := metatest.StartCluster(t, 1)
	m := c.Hosts[0].Client()
	const ttl = 1500 * time.Millisecond
	a := newLeaseRunner(m, "ttl", "node-a", ttl)
	b := newLeaseRunner(m, "ttl", "node-b", ttl)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	var running, overlaps atomic.Int32
	aChecks := make(chan func() error, 1)
	aDone := make(chan struct{})
	go func() {
		defer close(aDone)
		ran, err := a.run(ctx, func(ctx context.Context, check func() error) error {
			running.Add(1)
			defer running.Add(-1)
			for end := time.Now().Add(2 * ttl); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
				if err := check(); err != nil { // renews: a works past its first lease
					return err
				}
			}
			aChecks <- check // a "dies": it keeps its check but stops renewing
			return nil
		})
		require.True(t, ran)
		require.NoError(t, err)
	}()
	time.Sleep(100 * time.Millisecond)

	bRan := false
	for !bRan {
		ran, err := b.run(ctx, func(context.Context, func() error) error {
			if running.Load() > 0 {
				overlaps.Add(1)
			}
			return nil
		})
		require.NoError(t, err)
		bRan = ran
		if !bRan {
			time.Sleep(100 * time.Millisecond)
		}
		require.NoError(t, ctx.Err(), "b never got the lease")
	}
	<-aDone
	require.Zero(t, overlaps.Load(), "b ran while a held the lease")
	err := (<-aChecks)()
	require.True(t, errors.Is(err, ErrLeaseLost), "a's next check after b took over: %v", err)
}
