package engine

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage"
)

// heldBytes is what a vnode's caches hold, computed from the caches themselves.
func heldBytes(v *Vnode) int64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	n := v.mutable.Size()
	for _, c := range v.immutables {
		n += c.Size()
	}
	return n
}

// TestCacheBudgetSharedByVnodes: two vnodes with a large flush threshold share a small budget.
// The budget counts what both hold; past it a vnode switches its cache early; past twice it a
// vnode with a flush waiting refuses writes (and one with none waiting does not); flushes give
// the memory back, and closed vnodes hold nothing.
func TestCacheBudgetSharedByVnodes(t *testing.T) {
	const limit = 4 << 20
	budget := NewCacheBudget(limit)
	opts := Options{CacheSize: 1 << 30, MaxImmutable: 100, CacheBudget: budget}
	a, b := openTest(t, t.TempDir(), opts), openTest(t, t.TempDir(), opts)
	key := seriesKey(t, "m", "host", "h")
	next := int64(0)
	write := func(v *Vnode, points int) error {
		times, vals := make([]int64, points), make([]int64, points)
		for i := range times {
			next++
			times[i], vals[i] = next, next
		}
		_, err := v.WriteSync(&storage.Batch{Series: []storage.SeriesRows{intRows(key, "v", times, vals)}})
		return err
	}
	immutables := func(v *Vnode) int {
		v.mu.Lock()
		defer v.mu.Unlock()
		return len(v.immutables)
	}
	// under the budget: nothing switches, the budget counts both vnodes
	require.NoError(t, write(a, 100_000))
	require.NoError(t, write(b, 70_000)) // past EarlyFlushMin
	require.Equal(t, heldBytes(a)+heldBytes(b), budget.Used())
	require.Less(t, budget.Used(), int64(limit))
	require.Zero(t, immutables(a)+immutables(b))

	// past the budget: the vnode that writes switches its cache to immutable
	for budget.Used() <= limit {
		require.NoError(t, write(a, 20_000))
	}
	require.Equal(t, 1, immutables(a), "a switched early at the write that crossed the budget")
	require.Equal(t, heldBytes(a)+heldBytes(b), budget.Used())

	// past twice the budget: a (its flush waiting) stalls; b (nothing waiting) switches and writes on
	var err error
	for err == nil && budget.Used() <= 2*limit {
		err = write(a, 50_000)
	}
	if err == nil {
		err = write(a, 10)
	}
	require.ErrorIs(t, err, ErrWriteStall)
	require.Zero(t, immutables(b))
	require.NoError(t, write(b, 10), "b has no flush of its own waiting: it never stalls")
	require.Equal(t, 1, immutables(b), "but it switches its cache early")

	// flushes give the memory back; then a takes writes again
	require.NoError(t, a.Flush())
	require.NoError(t, b.Flush())
	require.Equal(t, heldBytes(a)+heldBytes(b), budget.Used())
	require.Less(t, budget.Used(), int64(limit))
	require.NoError(t, write(a, 10))
	require.NoError(t, a.Close())
	require.NoError(t, b.Close())
	require.Zero(t, budget.Used())
	require.False(t, errors.Is(write(b, 1), ErrWriteStall), "closed, not stalled")
}
