package node

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/actors"
)

// TestStableVersionIsBehindTheClock: the stable version lies LateWriteWindow behind the HLC.
func TestStableVersionIsBehindTheClock(t *testing.T) {
	clock := actors.NewHLC(time.Now)
	now := clock.Now()
	st := StableVersion()
	require.Less(t, st, now)
	lag := actors.HLCTime(now).Sub(actors.HLCTime(st))
	require.InDelta(t, LateWriteWindow.Seconds(), lag.Seconds(), 2, "lag %v", lag)
	require.Greater(t, st, uint64(time.Now().Add(-2*LateWriteWindow).UnixMilli())<<actors.HLCLogicalBits)
}
