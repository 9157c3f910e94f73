package coordinator

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage"
)

func TestSubsetRows(t *testing.T) {
	s := storage.SeriesRows{Key: []byte("k"), Times: []int64{10, 20, 30, 40}, Fields: []storage.FieldColumn{
		{Name: "dense", Values: storage.Values{Type: storage.TypeInt64, Ints: []int64{1, 2, 3, 4}}},
		{Name: "sparse", Rows: []uint32{1, 3}, Values: storage.Values{Type: storage.TypeString, Bytes: [][]byte{[]byte("b"), []byte("d")}}},
		{Name: "first", Rows: []uint32{0}, Values: storage.Values{Type: storage.TypeBool, Bools: []bool{true}}},
	}}
	cases := []struct {
		name string
		rows []int
		want storage.SeriesRows
	}{
		{"odd rows", []int{1, 3}, storage.SeriesRows{Key: []byte("k"), Times: []int64{20, 40}, Fields: []storage.FieldColumn{
			{Name: "dense", Values: storage.Values{Type: storage.TypeInt64, Ints: []int64{2, 4}}},
			{Name: "sparse", Values: storage.Values{Type: storage.TypeString, Bytes: [][]byte{[]byte("b"), []byte("d")}}},
		}}},
		{"first rows", []int{0, 1}, storage.SeriesRows{Key: []byte("k"), Times: []int64{10, 20}, Fields: []storage.FieldColumn{
			{Name: "dense", Values: storage.Values{Type: storage.TypeInt64, Ints: []int64{1, 2}}},
			{Name: "sparse", Rows: []uint32{1}, Values: storage.Values{Type: storage.TypeString, Bytes: [][]byte{[]byte("b")}}},
			{Name: "first", Rows: []uint32{0}, Values: storage.Values{Type: storage.TypeBool, Bools: []bool{true}}},
		}}},
		{"one row without sparse fields", []int{2}, storage.SeriesRows{Key: []byte("k"), Times: []int64{30}, Fields: []storage.FieldColumn{
			{Name: "dense", Values: storage.Values{Type: storage.TypeInt64, Ints: []int64{3}}},
		}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, subsetRows(&s, tc.rows))
		})
	}
}

func TestCheckTable(t *testing.T) {
	b := &storage.Batch{Series: []storage.SeriesRows{{Key: hostKey(t, "a")}}}
	require.NoError(t, checkTable(b, "cpu"))
	require.Error(t, checkTable(b, "cp"))
	require.Error(t, checkTable(b, "cpu2"))
}
