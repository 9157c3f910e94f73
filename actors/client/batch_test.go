package client

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage"
)

// TestBatchColumns: random points (random tags, sparse fields of every type) built into a batch
// and read back column by column give exactly the points added, and the batch validates.
func TestBatchColumns(t *testing.T) {
	type cell struct {
		series string
		t      int64
		field  string
	}
	r := rand.New(rand.NewPCG(1, 2))
	b := NewBatch("m")
	want := map[cell]any{}
	values := 0
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 2000 {
		tags := map[string]string{"host": []string{"a", "b", "c"}[r.IntN(3)]}
		if r.IntN(2) == 0 {
			tags["dc"] = "x"
		}
		ts := base.Add(time.Duration(i) * time.Millisecond)
		fields := map[string]any{}
		for _, name := range []string{"f", "i", "s", "b", "d"} {
			if r.IntN(3) == 0 {
				continue
			}
			switch name {
			case "f":
				fields[name] = r.Float64()
			case "i":
				fields[name] = r.Int64()
			case "s":
				fields[name] = string(rune('a' + r.IntN(26)))
			case "b":
				fields[name] = r.IntN(2) == 0
			case "d":
				fields[name] = base.Add(time.Duration(r.IntN(1000)) * time.Second)
			}
		}
		if len(fields) == 0 {
			require.Error(t, b.Add(ts, tags, fields))
			continue
		}
		require.NoError(t, b.Add(ts, tags, fields))
		k := storage.SeriesKey{Table: "m"}
		for key, v := range tags {
			k.Tags = append(k.Tags, storage.Tag{Key: key, Value: storage.StringTag(v)})
		}
		require.NoError(t, k.Normalize())
		for name, v := range fields {
			if d, ok := v.(time.Time); ok {
				v = d.UnixMilli()
			}
			want[cell{string(k.Marshal(nil)), ts.UnixNano(), name}] = v
			values++
		}
	}
	require.Error(t, b.Add(base, nil, map[string]any{"x": []int{1}}), "an unsupported value type")
	require.Equal(t, values, b.Values())
	sb := b.build()
	require.NoError(t, sb.Validate())
	got := map[cell]any{}
	for _, s := range sb.Series {
		for _, c := range s.Fields {
			for vi := 0; vi < c.Values.Len(); vi++ {
				var v any
				switch c.Values.Type {
				case storage.TypeDouble:
					v = c.Values.Floats[vi]
				case storage.TypeInt64, storage.TypeDateTime:
					v = c.Values.Ints[vi]
				case storage.TypeBool:
					v = c.Values.Bools[vi]
				case storage.TypeString:
					v = string(c.Values.Bytes[vi])
				}
				got[cell{string(s.Key), s.Times[c.RowAt(vi)], c.Name}] = v
			}
		}
	}
	require.Equal(t, want, got)
	// the encoding round-trips
	dec, err := storage.DecodeBatch(storage.AppendBatch(nil, sb))
	require.NoError(t, err)
	require.Equal(t, sb.NumValues(), dec.NumValues())
	b.Reset()
	require.Zero(t, b.Values())
}
