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
	require.True(t, col.dense, "a value in every row: the column shares the series' rows")
	_, _, sorted := c.series[id].rowsOf(col, col.vals.Len())
	require.False(t, sorted)

	var once, read storage.Points
	require.True(t, c.ReadOnce(id, k, &once))
	require.Nil(t, col.view.Load(), "ReadOnce keeps no view")
	require.True(t, c.Read(id, k, &read))
	require.NotNil(t, col.view.Load(), "Read keeps the view for later readers")
	require.Equal(t, read, once)
	require.Equal(t, []int64{10, 20, 30, 40}, once.Times)
	require.Equal(t, []int64{1, 2, 3, 4}, once.Values.Ints, "at 40 the higher version wins")
}

// TestDenseColumnsShareRows: ten fields written together in every row keep one copy of the
// times and runs between them, so the cache holds about 9 bytes per value (it held 16 and more
// when every column kept its own times).
func TestDenseColumnsShareRows(t *testing.T) {
	c := New()
	id := storage.NewSeriesID(1, 1)
	const fields, inserts, rowsPer = 10, 400, 5
	for i := range inserts {
		rows := &storage.SeriesRows{Times: make([]int64, rowsPer)}
		for r := range rowsPer {
			rows.Times[r] = int64(i*rowsPer + r)
		}
		for f := range fields {
			vals := make([]float64, rowsPer)
			rows.Fields = append(rows.Fields, storage.FieldColumn{Name: string(rune('a' + f)), Values: storage.Values{Type: storage.TypeDouble, Floats: vals}})
		}
		c.Insert(id, rows, 1, uint64(i+1))
	}
	values := int64(fields * inserts * rowsPer)
	require.Equal(t, values, c.Points())
	require.Less(t, float64(c.Size())/float64(values), 12.0, "bytes per value held (capacity included)")
	for _, col := range c.series[id].cols {
		require.True(t, col.dense, col.field)
		require.Nil(t, col.times, col.field)
	}
}
