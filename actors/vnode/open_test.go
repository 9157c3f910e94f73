package vnode

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage/engine"
)

// snapshotPoints reads every point of a snapshot (and releases it).
func snapshotPoints(t *testing.T, snap *engine.Snapshot) map[point]float64 {
	t.Helper()
	defer snap.Release()
	out := map[point]float64{}
	require.NoError(t, snap.Scan(engine.ScanQuery{Table: "cpu", MinTime: math.MinInt64, MaxTime: math.MaxInt64}, func(c *engine.ScanColumn) error {
		k, _ := snap.SeriesKey(c.Series)
		host, _ := k.Tag("host")
		for i, ts := range c.Points.Times {
			out[point{string(host.Raw), ts}] = c.Points.Values.Floats[i]
		}
		return nil
	}))
	return out
}

// The Open list gives a running vnode's snapshot without asking the actor: it sees every
// acknowledged write, it follows the vnode across a restart (never a closed engine), and it is
// empty once the vnode stops.
func TestOpenSnapshots(t *testing.T) {
	open := NewOpen()
	sys, mgr := startManager(t, Config{Open: open, RestartBackoff: 10 * time.Millisecond})
	require.Nil(t, open.Snapshot(testSpec), "not running yet")
	var nilOpen *Open
	require.Nil(t, nilOpen.Snapshot(testSpec))

	want := map[point]float64{}
	write := func(ts int64, v float64) {
		res, err := sys.Root.RequestFuture(mgr, writeMsg(testSpec, pointBatch(t, "a", ts, v), 1), timeout).Result()
		require.True(t, assertAck(t, res, err))
		want[point{"a", ts}] = v
	}
	write(1, 1.5)
	snap := open.Snapshot(testSpec)
	require.NotNil(t, snap)
	require.Equal(t, want, snapshotPoints(t, snap))

	// a panic: the failed incarnation's engine leaves the list before it closes, the next one's
	// enters it once open; a snapshot taken before the panic stays readable
	before := open.Snapshot(testSpec)
	require.NotNil(t, before)
	sys.Root.Send(mgr, &Forward{Spec: testSpec, Msg: &PanicForTest{Reason: "panic for test"}})
	write(2, 2.5) // answered by the next incarnation
	require.Equal(t, map[point]float64{{"a", 1}: 1.5}, snapshotPoints(t, before))
	snap = open.Snapshot(testSpec)
	require.NotNil(t, snap)
	require.Equal(t, want, snapshotPoints(t, snap))
	require.Equal(t, want, scanAll(t, sys, mgr, testSpec), "the actor's snapshot agrees")

	require.NoError(t, sys.Root.StopFuture(mgr).Wait())
	require.Nil(t, open.Snapshot(testSpec), "a stopped vnode is not listed")
}
