package engine

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage"
)

// TestTableDeleteDropsLateWrites: a delete of a whole table also drops writes older than it that
// arrive afterwards, in series the vnode did not have when the delete came (a hinted write queued
// behind the drop of its collection). Newer writes, and other tables, are kept; the rule survives
// a reopen. A later, older whole-table delete does not lower it.
func TestTableDeleteDropsLateWrites(t *testing.T) {
	dir := t.TempDir()
	v := openTest(t, dir, Options{})
	cpuA, cpuB, mem := seriesKey(t, "cpu", "host", "a"), seriesKey(t, "cpu", "host", "b"), seriesKey(t, "mem", "host", "a")
	write := func(v *Vnode, version uint64, rows ...storage.SeriesRows) {
		_, err := v.WriteSync(&storage.Batch{Version: version, Series: rows})
		require.NoError(t, err)
	}
	write(v, 10, intRows(cpuA, "v", []int64{1}, []int64{1}))
	require.NoError(t, v.Delete("cpu", nil, math.MinInt64, math.MaxInt64, 100))
	require.NoError(t, v.Delete("cpu", nil, math.MinInt64, math.MaxInt64, 40), "an older drop changes nothing")
	require.Empty(t, scanAll(t, v, "cpu"), "the existing series' point is deleted")

	// late: older than the delete, one series new here, mixed with another table's series
	write(v, 50, intRows(cpuB, "v", []int64{2}, []int64{2}), intRows(mem, "v", []int64{2}, []int64{2}))
	write(v, 60, intRows(cpuA, "v", []int64{3}, []int64{3}))
	require.Empty(t, scanAll(t, v, "cpu"), "writes older than the table's delete are dropped")
	require.Len(t, scanAll(t, v, "mem"), 1, "another table's series of the same batch is kept")
	write(v, 150, intRows(cpuB, "v", []int64{4}, []int64{4}))
	require.Len(t, scanAll(t, v, "cpu"), 1, "a write after the delete is kept")

	require.NoError(t, v.Close())
	v = openTest(t, dir, Options{})
	write(v, 70, intRows(cpuA, "v", []int64{5}, []int64{5}))
	got := scanAll(t, v, "cpu")
	require.Len(t, got, 1, "after a reopen: the rule holds, the newer write stays")
	require.Len(t, scanAll(t, v, "mem"), 1)
}
