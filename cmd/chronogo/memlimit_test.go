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
