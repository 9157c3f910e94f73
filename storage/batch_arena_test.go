package storage

import (
	"math/rand"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestBatchArenaMatchesModel builds series whose fields come and go from row to row through an
// arena and checks every column against a model kept in plain maps: the (row, value) pairs, the
// row lists (nil exactly when a column covers every row), and that no column's appends reach
// into another's piece of the arena.
func TestBatchArenaMatchesModel(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for run := range 50 {
		var a BatchArena
		series := make([]SeriesRows, 1+r.Intn(4))
		type cell struct{ row, val int64 }
		model := make([]map[string][]cell, len(series))
		for i := range model {
			model[i] = map[string][]cell{}
		}
		presence := r.Float64() // how often a field appears in a row
		for range 1 + r.Intn(3000) {
			si := r.Intn(len(series))
			s := &series[si]
			row := a.AppendRow(s, int64(len(s.Times))*10)
			for f := range 6 {
				if f > 0 && r.Float64() > presence {
					continue
				}
				name := string(rune('a' + f))
				var col *FieldColumn
				for i := range s.Fields {
					if s.Fields[i].Name == name {
						col = &s.Fields[i]
					}
				}
				if col == nil {
					col = a.AddColumn(s, name, TypeInt64, func() int { return 6 - f })
				}
				require.Less(t, col.LastRow(), int(row))
				a.TakeRow(col, row)
				v := r.Int63()
				a.AppendInt(col, v)
				model[si][name] = append(model[si][name], cell{int64(row), v})
			}
		}
		for si := range series {
			s := &series[si]
			FinishRows(s)
			b := Batch{Series: []SeriesRows{*s}}
			got := map[string][]cell{}
			for _, c := range s.Fields {
				require.Equal(t, c.Values.Len() == len(s.Times), c.Rows == nil, "run %d: nil Rows exactly for full columns", run)
				for i, v := range c.Values.Ints {
					got[c.Name] = append(got[c.Name], cell{int64(c.RowAt(i)), v})
				}
			}
			if len(s.Times) == 0 {
				continue
			}
			s.Key = (&SeriesKey{Table: "t"}).Marshal(nil)
			b.Series[0].Key = s.Key
			require.NoError(t, b.Validate(), "run %d", run)
			require.Equal(t, model[si], got, "run %d series %d", run, si)
		}
	}
}

// TestBatchArenaAllocations: a series of ten dense fields over many rows costs a few chunk
// allocations, not several per column.
func TestBatchArenaAllocations(t *testing.T) {
	allocs := testing.AllocsPerRun(20, func() {
		var a BatchArena
		series := make([]SeriesRows, 100)
		for row := range 5 {
			for si := range series {
				s := &series[si]
				r := a.AppendRow(s, int64(row))
				for f := range 10 {
					var col *FieldColumn
					if row == 0 {
						col = a.AddColumn(s, "f", TypeInt64, func() int { return 10 - f })
					} else {
						col = &s.Fields[f]
					}
					a.TakeRow(col, r)
					a.AppendInt(col, int64(f))
				}
			}
		}
	})
	require.Less(t, allocs, 40.0, "chunk allocations (doubling from 64 elements), not several per column")
}

// TestBatchArenaSmallRequestSmallMemory: one row of a few fields reserves a few KiB, whatever the
// arena would reserve for a large batch (thousands of connections may each send one).
func TestBatchArenaSmallRequestSmallMemory(t *testing.T) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	arenas := make([]*BatchArena, 200)
	series := make([]SeriesRows, 200)
	for i := range arenas {
		a := &BatchArena{}
		arenas[i] = a
		s := &series[i]
		row := a.AppendRow(s, 1)
		for f := range 5 {
			c := a.AddColumn(s, "f", TypeDouble, func() int { return 5 - f })
			a.TakeRow(c, row)
			a.AppendFloat(c, 1)
		}
	}
	runtime.ReadMemStats(&after)
	perRequest := float64(after.TotalAlloc-before.TotalAlloc) / float64(len(arenas))
	require.Less(t, perRequest, 16.0*1024, "bytes allocated for one row of five fields")
	runtime.KeepAlive(arenas)
	runtime.KeepAlive(series)
}
