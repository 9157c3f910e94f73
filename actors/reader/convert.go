package reader

import (
	"fmt"

	"github.com/chronogo/chronogo/messages"
	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/engine"
)

// Conversions between engine results and their wire form (messages.ScanColumn, messages.AggRow).
// The serving side copies everything it puts in a message, since engine buffers are only valid
// during a callback; the receiving side uses the decoded slices as they are.

// columnProto is points [i, j) of one column.
func columnProto(key []byte, field string, p *storage.Points, i, j int) *messages.ScanColumn {
	c := &messages.ScanColumn{SeriesKey: key, Field: field, FieldType: uint32(p.Values.Type), Times: append([]int64(nil), p.Times[i:j]...)}
	v := &p.Values
	switch v.Type.Class() {
	case storage.ClassFloat:
		c.Floats = append([]float64(nil), v.Floats[i:j]...)
	case storage.ClassInt:
		c.Ints = append([]int64(nil), v.Ints[i:j]...)
	case storage.ClassBool:
		c.Bools = append([]bool(nil), v.Bools[i:j]...)
	case storage.ClassBytes:
		c.BytesValues = make([][]byte, j-i)
		for k := range c.BytesValues {
			c.BytesValues[k] = append([]byte(nil), v.Bytes[i+k]...)
		}
	}
	return c
}

// ColumnPoints decodes a ScanColumn's points (without versions and seqs); the slices alias c.
func ColumnPoints(c *messages.ScanColumn) (storage.Points, error) {
	t := storage.FieldType(c.GetFieldType())
	p := storage.Points{Times: c.GetTimes(), Values: storage.Values{Type: t}}
	n := -1
	switch t.Class() {
	case storage.ClassFloat:
		p.Values.Floats, n = c.GetFloats(), len(c.GetFloats())
	case storage.ClassInt:
		p.Values.Ints, n = c.GetInts(), len(c.GetInts())
	case storage.ClassBool:
		p.Values.Bools, n = c.GetBools(), len(c.GetBools())
	case storage.ClassBytes:
		p.Values.Bytes, n = c.GetBytesValues(), len(c.GetBytesValues())
	default:
		return p, fmt.Errorf("column %q: unknown field type %#02x", c.GetField(), c.GetFieldType())
	}
	if n != len(p.Times) {
		return p, fmt.Errorf("column %q: got %d values for %d times", c.GetField(), n, len(p.Times))
	}
	return p, nil
}

// aggRowProto is the wire form of one aggregate.
func aggRowProto(key []byte, r *engine.AggResult) *messages.AggRow {
	return &messages.AggRow{SeriesKey: key, Field: r.Field, FieldType: uint32(r.Type), Start: r.Start, Count: r.Count,
		Sum: r.Sum, Min: r.Min, Max: r.Max, First: r.First, Last: r.Last, SumOverflow: r.SumOverflow,
		Fsum: r.FSum, Fmin: r.FMin, Fmax: r.FMax, Ffirst: r.FFirst, Flast: r.FLast,
		FirstBytes: cloneBytes(r.FirstBytes), LastBytes: cloneBytes(r.LastBytes), FirstTime: r.FirstTime, LastTime: r.LastTime}
}

// AggResultOf decodes one aggregate for series id; byte values alias row.
func AggResultOf(row *messages.AggRow, id storage.SeriesID) engine.AggResult {
	return engine.AggResult{Series: id, Field: row.GetField(), Type: storage.FieldType(row.GetFieldType()), Start: row.GetStart(),
		Count: row.GetCount(), Sum: row.GetSum(), Min: row.GetMin(), Max: row.GetMax(), First: row.GetFirst(), Last: row.GetLast(),
		SumOverflow: row.GetSumOverflow(), FSum: row.GetFsum(), FMin: row.GetFmin(), FMax: row.GetFmax(), FFirst: row.GetFfirst(),
		FLast: row.GetFlast(), FirstBytes: row.GetFirstBytes(), LastBytes: row.GetLastBytes(), FirstTime: row.GetFirstTime(),
		LastTime: row.GetLastTime()}
}

func cloneBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}
