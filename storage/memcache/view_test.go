package memcache

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage"
)

// TestReadOnceKeepsNoView: the flush's ReadOnce of an unsorted column returns what Read returns
// but leaves no sorted copy behind (it would hold the points a second time, 32 bytes each, until
// the flushed cache is dropped); Read keeps it for the readers that follow.
func TestReadOnceKeepsNoView(t *testing.T) {
	c := New()
	id := storage.NewSeriesID(1, 1)
	k := ColumnKey{Field: "v", Type: storage.TypeInt64}
	rows := func(times []int64, vals ...int64) *storage.SeriesRows {
		return &storage.SeriesRows{Times: times, Fields: []storage.FieldColumn{{Name: "v", Values: storage.Values{Type: storage.TypeInt64, Ints: vals}}}}
	}
	c.Insert(id, rows([]int64{30, 40}, 3, 4), 2, 2)
	c.Insert(id, rows([]int64{10, 20, 40}, 1, 2, 5), 1, 1) // out of order: the column is unsorted
	col := c.series[id].find(k.Field, k.Type)
	require.False(t, col.sorted)

	var once, read storage.Points
	require.True(t, c.ReadOnce(id, k, &once))
	require.Nil(t, col.view.Load(), "ReadOnce keeps no view")
	require.True(t, c.Read(id, k, &read))
	require.NotNil(t, col.view.Load(), "Read keeps the view for later readers")
	require.Equal(t, read, once)
	require.Equal(t, []int64{10, 20, 30, 40}, once.Times)
	require.Equal(t, []int64{1, 2, 3, 4}, once.Values.Ints, "at 40 the higher version wins")
}
