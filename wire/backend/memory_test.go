package backend

import (
	"math"
	"runtime/metrics"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestMemoryComponents: the components split the runtime's memory without counting a byte twice
// (their sum stays within the runtime's total), the memcache share comes out of the heap, and a
// memcache figure larger than the heap (a stale report) is clamped.
func TestMemoryComponents(t *testing.T) {
	total := func() uint64 {
		s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}}
		metrics.Read(s)
		return s[0].Value.Uint64()
	}
	keep := make([]byte, 8<<20) // some live heap
	for _, memcache := range []uint64{0, 4 << 20, math.MaxUint64} {
		c := memoryComponents(memcache)
		var sum uint64
		for _, v := range c {
			sum += v
		}
		require.LessOrEqual(t, sum, total()+1<<20, "memcache %d: components %v", memcache, c)
		require.Greater(t, c["heap_other"]+c["memcache"], uint64(len(keep)), "the heap holds the live buffer")
		switch memcache {
		case 0:
			require.Zero(t, c["memcache"])
		case 4 << 20:
			require.Equal(t, uint64(4<<20), c["memcache"])
		default:
			require.Zero(t, c["heap_other"], "clamped: everything is memcache")
		}
	}
	keep[0] = 1
}
