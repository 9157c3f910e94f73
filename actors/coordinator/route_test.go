package coordinator

import (
	"fmt"
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

// TestSplitLargeKeepsEveryPointUnderTheLimit: routes split by size hold exactly the original
// points (compared as a set of series/field/row-time/value strings) and each piece fits the limit.
func TestSplitLargeKeepsEveryPointUnderTheLimit(t *testing.T) {
	points := func(bs ...*storage.Batch) map[string]int {
		out := map[string]int{}
		for _, b := range bs {
			for _, s := range b.Series {
				for _, f := range s.Fields {
					for i := 0; i < f.Values.Len(); i++ {
						out[fmt.Sprintf("%x/%s/%d/%v", s.Key, f.Name, s.Times[f.RowAt(i)], valueAt(&f.Values, i))]++
					}
				}
			}
		}
		return out
	}
	for _, limit := range []int{300, 2000, 1 << 20} {
		var series []storage.SeriesRows
		for h := 0; h < 7; h++ {
			k := storage.SeriesKey{Table: "t", Tags: []storage.Tag{{Key: "h", Value: storage.StringTag(fmt.Sprint(h))}}}
			s := storage.SeriesRows{Key: k.Marshal(nil)}
			n := 1 + h*h*37
			dense := storage.FieldColumn{Name: "d", Values: storage.Values{Type: storage.TypeDouble}}
			sparse := storage.FieldColumn{Name: "s", Rows: []uint32{}, Values: storage.Values{Type: storage.TypeString}}
			for i := 0; i < n; i++ {
				s.Times = append(s.Times, int64(i*10))
				dense.Values.Floats = append(dense.Values.Floats, float64(i)/3)
				if i%3 == 1 {
					sparse.Rows = append(sparse.Rows, uint32(i))
					sparse.Values.Bytes = append(sparse.Values.Bytes, []byte(fmt.Sprint("v", i)))
				}
			}
			s.Fields = []storage.FieldColumn{dense}
			if len(sparse.Rows) > 0 {
				s.Fields = append(s.Fields, sparse)
			}
			series = append(series, s)
		}
		b := &storage.Batch{Version: 3, Series: series}
		require.NoError(t, b.Validate())
		routes := splitLarge([]Route{{Batch: b}}, limit)
		var pieces []*storage.Batch
		for _, r := range routes {
			require.NoError(t, r.Batch.Validate())
			require.Equal(t, uint64(3), r.Batch.Version)
			if len(r.Batch.Series) > 1 || len(r.Batch.Series[0].Times) > 1 {
				require.LessOrEqual(t, r.Batch.EncodedSize(), limit, "limit %d", limit)
			}
			pieces = append(pieces, r.Batch)
		}
		require.Equal(t, points(b), points(pieces...), "limit %d", limit)
		if b.EncodedSize() > limit {
			require.Greater(t, len(routes), 1)
		} else {
			require.Len(t, routes, 1)
		}
	}
}

func valueAt(v *storage.Values, i int) any {
	switch v.Type.Class() {
	case storage.ClassFloat:
		return v.Floats[i]
	case storage.ClassInt:
		return v.Ints[i]
	case storage.ClassBool:
		return v.Bools[i]
	}
	return string(v.Bytes[i])
}
