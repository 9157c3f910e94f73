package storage_test

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage"
)

// TestEncodedSizeBoundsTheEncoding: for random batches of every class, EncodedSize is at least the
// real encoding's length and at most a few bytes per row index and value above it.
func TestEncodedSizeBoundsTheEncoding(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 200; trial++ {
		b := &storage.Batch{Version: r.Uint64()}
		slack := 0
		for s := 0; s < 1+r.IntN(5); s++ {
			k := storage.SeriesKey{Table: "t", Tags: []storage.Tag{{Key: "h", Value: storage.StringTag(string(rune('a' + s)))}}}
			rows := storage.SeriesRows{Key: k.Marshal(nil)}
			n := 1 + r.IntN(300)
			for i := 0; i < n; i++ {
				rows.Times = append(rows.Times, r.Int64())
			}
			for f, typ := range []storage.FieldType{storage.TypeDouble, storage.TypeInt64, storage.TypeBool, storage.TypeString} {
				c := storage.FieldColumn{Name: string(rune('p' + f)), Values: storage.Values{Type: typ}}
				sparse := r.IntN(2) == 0
				for i := 0; i < n; i++ {
					if sparse && r.IntN(3) == 0 {
						continue
					}
					if sparse {
						c.Rows = append(c.Rows, uint32(i))
					}
					switch typ {
					case storage.TypeDouble:
						c.Values.Floats = append(c.Values.Floats, r.Float64())
					case storage.TypeInt64:
						c.Values.Ints = append(c.Values.Ints, r.Int64())
					case storage.TypeBool:
						c.Values.Bools = append(c.Values.Bools, r.IntN(2) == 0)
					default:
						c.Values.Bytes = append(c.Values.Bytes, make([]byte, r.IntN(200)))
						slack += 4
					}
				}
				if sparse && len(c.Rows) == 0 {
					continue
				}
				slack += 4 * len(c.Rows)
				rows.Fields = append(rows.Fields, c)
			}
			b.Series = append(b.Series, rows)
		}
		require.NoError(t, b.Validate())
		real := len(storage.AppendBatch(nil, b))
		est := b.EncodedSize()
		require.GreaterOrEqual(t, est, real)
		require.LessOrEqual(t, est, real+slack+40*(len(b.Series)*6)+20)
	}
}
