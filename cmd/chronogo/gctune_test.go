package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestIdleRelease: memory is released once per idle period, after idleAfter of quiet ticks, when
// enough of it is free; a busy tick starts a new period.
func TestIdleRelease(t *testing.T) {
	const tick = 250 * time.Millisecond
	quietTicks := int(idleAfter / tick)
	var r idleRelease
	var got []int
	// busy, then quiet for 2 idle periods, busy once, quiet again
	seq := []uint64{64 << 20, 8 << 20}
	for range 2 * quietTicks {
		seq = append(seq, 4096)
	}
	seq = append(seq, idleAllocBytes)
	for range quietTicks {
		seq = append(seq, 0)
	}
	for i, a := range seq {
		if r.tick(a, idleFreeBytes, tick) {
			got = append(got, i)
		}
	}
	// a heap with little free memory is kept warm
	var warm idleRelease
	for range 3 * quietTicks {
		require.False(t, warm.tick(0, idleFreeBytes-1, tick))
	}
	require.True(t, warm.tick(0, idleFreeBytes, tick), "released once enough is free")
	// the first quiet tick is index 2; the release comes on the quietTicks-th of them; after the
	// busy tick at 2+2*quietTicks, again on the quietTicks-th quiet tick
	require.Equal(t, []int{2 + quietTicks - 1, 2 + 2*quietTicks + quietTicks}, got)
}
