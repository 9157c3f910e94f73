package actors

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fakeClock is a wall clock the test sets.
type fakeClock struct{ ms atomic.Int64 }

func (f *fakeClock) now() time.Time { return time.UnixMilli(f.ms.Load()) }

func TestHLCSequence(t *testing.T) {
	const l = 1 << HLCLogicalBits
	cases := []struct {
		name  string
		clock []int64 // wall clock (ms) before each call
		want  []uint64
	}{
		{"advancing clock", []int64{10, 11, 20}, []uint64{10 * l, 11 * l, 20 * l}},
		{"same millisecond counts", []int64{5, 5, 5}, []uint64{5 * l, 5*l + 1, 5*l + 2}},
		{"clock goes back", []int64{9, 3, 4, 10}, []uint64{9 * l, 9*l + 1, 9*l + 2, 10 * l}},
		{"clock jumps ahead after counting", []int64{1, 1, 2}, []uint64{l, l + 1, 2 * l}},
		{"before the epoch", []int64{-5, -5}, []uint64{1, 2}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var fc fakeClock
			c := NewHLC(fc.now)
			for i, ms := range tc.clock {
				fc.ms.Store(ms)
				require.Equal(t, tc.want[i], c.Now(), "call %d", i)
			}
		})
	}
}

func TestHLCCounterCarries(t *testing.T) {
	var fc fakeClock
	fc.ms.Store(7)
	c := NewHLC(fc.now)
	var prev uint64
	for i := 0; i < 1<<HLCLogicalBits+10; i++ {
		ts := c.Now()
		require.Greater(t, ts, prev)
		prev = ts
	}
	require.Equal(t, uint64(8)<<HLCLogicalBits+9, prev, "the counter carried into the next millisecond")
}

func TestHLCObserve(t *testing.T) {
	var fc fakeClock
	fc.ms.Store(100)
	c := NewHLC(fc.now)
	remote := uint64(500)<<HLCLogicalBits + 3
	c.Observe(remote)
	require.Equal(t, remote+1, c.Now())
	c.Observe(1) // older: no effect
	require.Equal(t, remote+2, c.Now())
	require.Equal(t, int64(500), HLCTime(remote).UnixMilli())
}

func TestHLCMonotonicConcurrent(t *testing.T) {
	c := NewHLC(nil)
	const workers, per = 8, 5000
	out := make([][]uint64, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range per {
				out[w] = append(out[w], c.Now())
			}
		}()
	}
	wg.Wait()
	seen := make(map[uint64]bool, workers*per)
	for _, ts := range out {
		for i, v := range ts {
			require.False(t, seen[v], "duplicate timestamp %d", v)
			seen[v] = true
			if i > 0 {
				require.Greater(t, v, ts[i-1], "per goroutine order")
			}
		}
	}
	require.Len(t, seen, workers*per)
	require.WithinDuration(t, time.Now(), HLCTime(c.Now()), time.Second)
}

func TestNames(t *testing.T) {
	require.Equal(t, "vnode/42", VnodeName(42))
	require.Equal(t, "vnodes/vnode/42", VnodePIDID(42))
}
