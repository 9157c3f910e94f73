package coordinator

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestInflightDrain: drain waits for the operations begun before it, not for those begun after.
func TestInflightDrain(t *testing.T) {
	var f inflight
	endA := f.begin()
	endA2 := f.begin()
	drained := make(chan error, 1)
	go func() { drained <- f.drain(context.Background()) }()
	require.Eventually(t, func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.epoch == 1
	}, 5*time.Second, time.Millisecond)
	endB := f.begin() // after the drain started: not waited for
	endA()
	select {
	case err := <-drained:
		t.Fatalf("drain returned (%v) with an earlier operation running", err)
	case <-time.After(20 * time.Millisecond):
	}
	endA2()
	select {
	case err := <-drained:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("drain did not return once the earlier operations ended")
	}
	// B began before the next drain: it waits for B, and a cancelled wait returns its error
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, f.drain(ctx), context.Canceled)
	endB()
	// with nothing earlier running a drain returns at once
	require.NoError(t, f.drain(context.Background()))
}
