package actors

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestTooLateAndStableVersion(t *testing.T) {
	now := HLCOf(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)) | 7 // some logical counter
	ago := func(d time.Duration) uint64 { return now - uint64(d.Milliseconds())<<HLCLogicalBits }
	for _, c := range []struct {
		name    string
		version uint64
		hinted  bool
		late    bool
	}{
		{"now", now, false, false},
		{"from the future", now + 1<<30, false, false},
		{"just inside half the window", ago(LateWriteWindow/2 - time.Millisecond), false, false},
		{"half the window", ago(LateWriteWindow / 2), false, false},
		{"past half the window", ago(LateWriteWindow/2) - 1, false, true},
		{"an hour old", ago(time.Hour), false, true},
		{"an hour old hint", ago(time.Hour), true, false},
		{"version 1", 1, false, true},
	} {
		require.Equal(t, c.late, TooLate(c.version, c.hinted, now), c.name)
	}
	require.False(t, TooLate(1, false, 5), "a clock near zero refuses nothing")

	require.Equal(t, ago(LateWriteWindow), StableVersion(now, 0))
	require.Equal(t, ago(LateWriteWindow+3*time.Hour), StableVersion(now, 3*time.Hour))
	require.Zero(t, StableVersion(5, 0))
	// Whatever TooLate lets through is above the stable version, with room to spare for a
	// request that waits in a mailbox.
	require.Greater(t, ago(LateWriteWindow/2), StableVersion(now, 0))
	require.Greater(t, MaxVersionedTime, time.Duration(0))
	require.Less(t, MaxVersionedTime, LateWriteWindow/2)
}
