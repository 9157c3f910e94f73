package reader

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/chronogo/chronogo/messages"
	"github.com/chronogo/chronogo/storage"
)

// testColumn is one input column of the chunker.
type testColumn struct {
	key   []byte
	field string
	pts   storage.Points
}

func floatColumn(key, field string, n int) testColumn {
	c := testColumn{key: []byte(key), field: field, pts: storage.Points{Values: storage.Values{Type: storage.TypeDouble}}}
	for i := range n {
		c.pts.Times = append(c.pts.Times, int64(i)*1_000_000_007)
		c.pts.Values.Floats = append(c.pts.Values.Floats, float64(i)/3)
	}
	return c
}

func bytesColumn(key, field string, n, maxLen int) testColumn {
	c := testColumn{key: []byte(key), field: field, pts: storage.Points{Values: storage.Values{Type: storage.TypeString}}}
	for i := range n {
		c.pts.Times = append(c.pts.Times, int64(i))
		b := make([]byte, (i*37)%maxLen)
		for j := range b {
			b[j] = byte('a' + (i+j)%26)
		}
		c.pts.Values.Bytes = append(c.pts.Values.Bytes, b)
	}
	return c
}

func boolColumn(key, field string, n int) testColumn {
	c := testColumn{key: []byte(key), field: field, pts: storage.Points{Values: storage.Values{Type: storage.TypeBool}}}
	for i := range n {
		c.pts.Times = append(c.pts.Times, math.MinInt64+int64(i))
		c.pts.Values.Bools = append(c.pts.Values.Bools, i%3 == 0)
	}
	return c
}

// TestScanChunkerCutsAndReassembles: columns cut over several chunks join back to exactly the
// input, pieces come in order, and every chunk with more than one point fits its budget.
func TestScanChunkerCutsAndReassembles(t *testing.T) {
	cases := []struct {
		name       string
		max        int
		cols       []testColumn
		wantChunks int // at least
	}{
		{"one big float column", 512, []testColumn{floatColumn("k1", "usage", 1000)}, 30},
		{"bytes, some points alone larger than a chunk", 200, []testColumn{bytesColumn("k1", "msg", 200, 400)}, 50},
		{"bools", 1024, []testColumn{boolColumn("k1", "up", 5000)}, 20},
		{"many small columns", 300, []testColumn{floatColumn("k1", "a", 3), floatColumn("k1", "b", 4), floatColumn("k2", "a", 1),
			bytesColumn("k3", "s", 10, 20), boolColumn("k3", "t", 7)}, 2},
		{"default budget keeps it in one chunk", DefaultChunkBytes, []testColumn{floatColumn("k1", "usage", 1000), floatColumn("k2", "usage", 10)}, 1},
		{"budget below a column's overhead", 8, []testColumn{floatColumn("a-long-series-key", "f", 5)}, 5},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var chunks [][]*messages.ScanColumn
			ch := newScanChunker(tc.max, func(cols []*messages.ScanColumn) bool {
				chunks = append(chunks, cols)
				return true
			})
			for i := range tc.cols {
				c := &tc.cols[i]
				require.True(t, ch.add(c.key, c.field, &c.pts))
			}
			chunks = append(chunks, ch.cols)
			require.GreaterOrEqual(t, len(chunks), tc.wantChunks)

			// join consecutive pieces of the same column
			var got []testColumn
			for ci, cols := range chunks {
				points := 0
				for _, col := range cols {
					points += len(col.GetTimes())
				}
				size := proto.Size(&messages.ScanChunk{Columns: cols, Done: true, CursorId: math.MaxUint64})
				if points > 1 {
					require.LessOrEqual(t, size, tc.max, "chunk %d of %d points", ci, points)
				}
				if ci < len(chunks)-1 {
					require.NotEmpty(t, cols, "only the last chunk may be empty")
				}
				for _, col := range cols {
					pts, err := ColumnPoints(col)
					require.NoError(t, err)
					if n := len(got); n > 0 && string(got[n-1].key) == string(col.GetSeriesKey()) && got[n-1].field == col.GetField() {
						got[n-1].pts.AppendAll(&pts)
						continue
					}
					got = append(got, testColumn{key: col.GetSeriesKey(), field: col.GetField(), pts: pts})
				}
			}
			require.Len(t, got, len(tc.cols))
			for i := range got {
				want := tc.cols[i]
				require.Equal(t, string(want.key), string(got[i].key))
				require.Equal(t, want.field, got[i].field)
				require.Equal(t, want.pts.Times, got[i].pts.Times, "column %d", i)
				require.Equal(t, want.pts.Values.Type, got[i].pts.Values.Type)
				require.Equal(t, want.pts.Values.Len(), got[i].pts.Values.Len())
				for j := range want.pts.Times {
					require.True(t, storage.EqualAt(&want.pts.Values, j, &got[i].pts.Values, j), "column %d point %d", i, j)
				}
			}
		})
	}
}

// TestScanChunkerStops: a false from emit stops the column at once.
func TestScanChunkerStops(t *testing.T) {
	calls := 0
	ch := newScanChunker(256, func([]*messages.ScanColumn) bool { calls++; return false })
	c := floatColumn("k", "f", 1000)
	require.False(t, ch.add(c.key, c.field, &c.pts))
	require.Equal(t, 1, calls)
}

func TestColumnPointsRejects(t *testing.T) {
	cases := []struct {
		name string
		col  *messages.ScanColumn
		want string
	}{
		{"unknown type", &messages.ScanColumn{Field: "f", FieldType: 0x7F}, "unknown field type"},
		{"too few values", &messages.ScanColumn{Field: "f", FieldType: uint32(storage.TypeDouble), Times: []int64{1, 2}, Floats: []float64{1}}, "got 1 values for 2 times"},
		{"values of another class", &messages.ScanColumn{Field: "f", FieldType: uint32(storage.TypeInt64), Times: []int64{1}, Floats: []float64{1}}, "got 0 values for 1 times"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ColumnPoints(tc.col)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestChunkBudget(t *testing.T) {
	for _, c := range []struct{ in, want int }{{0, DefaultChunkBytes}, {100, 100}, {MaxChunkBytes + 1, MaxChunkBytes}} {
		require.Equal(t, c.want, chunkBudget(uint32(c.in)), fmt.Sprint(c.in))
	}
}
