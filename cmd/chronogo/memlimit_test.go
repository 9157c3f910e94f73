package main

import (
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestMemoryLimit: --memory-limit takes a size, a share of the machine's memory (never more than
// that share of what the kernel reports) or 0; anything else is a one-line error.
func TestMemoryLimit(t *testing.T) {
	var si syscall.Sysinfo_t
	require.NoError(t, syscall.Sysinfo(&si))
	total := int64(si.Totalram) * int64(si.Unit)

	v, err := memoryLimit("4GiB")
	require.NoError(t, err)
	require.EqualValues(t, 4<<30, v)
	v, err = memoryLimit("0")
	require.NoError(t, err)
	require.Zero(t, v)
	v, err = memoryLimit("50%")
	require.NoError(t, err)
	require.Positive(t, v)
	require.LessOrEqual(t, v, total/2+1, "at most half of the machine's memory")
	v100, err := memoryLimit("100%")
	require.NoError(t, err)
	require.InDelta(t, float64(v100)/2, float64(v), 1)
	for _, bad := range []string{"abc", "150%", "0%", "-5%", "x%"} {
		_, err := memoryLimit(bad)
		require.Error(t, err, bad)
		require.Contains(t, err.Error(), "--memory-limit")
	}
}

// TestCacheSizeFromBudget: --cache-size auto takes a sixteenth of the memory limit, from 4 MiB
// to 32 MiB (32 MiB without a limit); a size given is taken as it is.
func TestCacheSizeFromBudget(t *testing.T) {
	for _, c := range []struct {
		flag  string
		limit int64
		want  int64
	}{
		{"auto", 0, 32 << 20},
		{"auto", 256 << 20, 16 << 20},
		{"auto", 400 << 20, 25 << 20},
		{"auto", 12 << 30, 32 << 20},
		{"auto", 32 << 20, 4 << 20},
		{"8MiB", 12 << 30, 8 << 20},
		{"64KiB", 0, 64 << 10},
	} {
		got, err := (&config{CacheSize: c.flag}).cacheBytes(c.limit)
		require.NoError(t, err)
		require.Equal(t, c.want, got, "%s with limit %d", c.flag, c.limit)
	}
	_, err := (&config{CacheSize: "tiny"}).cacheBytes(0)
	require.ErrorContains(t, err, "want auto or a size")
}

// TestGCPercentFor: the collector's headroom is half the live heap, at least 64 MiB: GOGC 100 up
// to 64 MiB live, falling to 50 at 128 MiB, in steps of 5.
func TestGCPercentFor(t *testing.T) {
	for _, c := range []struct {
		live uint64
		want int
	}{
		{0, 100},
		{10 << 20, 100},
		{64 << 20, 100},
		{80 << 20, 80},
		{96 << 20, 65},
		{128 << 20, 50},
		{256 << 20, 50},
		{8 << 30, 50},
	} {
		require.Equal(t, c.want, gcPercentFor(c.live), "live %d MiB", c.live>>20)
	}
}
