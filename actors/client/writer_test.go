package client

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestWriterBackpressure: with the cluster not answering, a Writer sends batches until its
// in-flight bound and then Add waits (the bytes held stay bounded); once answers come, Add goes
// on, Close flushes everything once, and a failed batch's error comes back from Flush.
func TestWriterBackpressure(t *testing.T) {
	release := make(chan struct{})
	var (
		mu       sync.Mutex
		inflight int64
		maxSeen  int64
		written  int64
	)
	c := &Client{}
	w := c.NewWriter("db", "m", WriterOptions{BatchValues: 100, Linger: time.Hour, MaxInflightBytes: 100 * 16 * 4})
	w.write = func(_ context.Context, _ string, b *Batch, _ Consistency) error {
		n := int64(b.Values())
		mu.Lock()
		inflight += n
		maxSeen = max(maxSeen, inflight)
		mu.Unlock()
		<-release
		mu.Lock()
		inflight -= n
		written += n
		mu.Unlock()
		return nil
	}
	added := atomic.Int64{}
	done := make(chan error, 1)
	go func() {
		for i := range 2000 {
			if err := w.Add(time.Unix(int64(i), 0), map[string]string{"h": "a"}, map[string]any{"v": float64(i)}); err != nil {
				done <- err
				return
			}
			added.Add(1)
		}
		done <- nil
	}()
	// four batches of 100 values fill the bound: Add stops at the fifth batch
	require.Eventually(t, func() bool { return added.Load() >= 400 }, 5*time.Second, time.Millisecond)
	time.Sleep(50 * time.Millisecond)
	require.Less(t, added.Load(), int64(600), "Add waits while the bound is reached")
	mu.Lock()
	require.LessOrEqual(t, maxSeen, int64(400), "never more than four batches in flight")
	mu.Unlock()
	close(release)
	require.NoError(t, <-done)
	require.NoError(t, w.Close(context.Background()))
	require.EqualValues(t, 2000, written, "every value sent once")
	require.LessOrEqual(t, maxSeen, int64(500))

	// a refused batch: its error comes back from Flush, and later Adds
	w2 := c.NewWriter("db", "m", WriterOptions{BatchValues: 10})
	w2.write = func(context.Context, string, *Batch, Consistency) error { return errors.New("refused") }
	for i := range 10 {
		_ = w2.Add(time.Unix(int64(i), 0), nil, map[string]any{"v": 1.0})
	}
	require.ErrorContains(t, w2.Flush(context.Background()), "refused")
	require.ErrorContains(t, w2.Add(time.Unix(99, 0), nil, map[string]any{"v": 1.0}), "refused")
	require.Error(t, w2.Close(context.Background()))
}
