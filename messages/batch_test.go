package messages

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage"
)

func testBatch(t *testing.T, rows int) *storage.Batch {
	t.Helper()
	k := storage.SeriesKey{Table: "cpu", Tags: []storage.Tag{{Key: "host", Value: storage.StringTag("a")}}}
	require.NoError(t, k.Normalize())
	s := storage.SeriesRows{Key: k.Marshal(nil), Fields: []storage.FieldColumn{{Name: "v", Values: storage.Values{Type: storage.TypeDouble}}}}
	for i := range rows {
		s.Times = append(s.Times, int64(i)*1e9)
		s.Fields[0].Values.Floats = append(s.Fields[0].Values.Floats, float64(i%10))
	}
	return &storage.Batch{Version: 77, Series: []storage.SeriesRows{s}}
}

func TestBatchCompression(t *testing.T) {
	for _, tc := range []struct {
		rows           int
		wantCompressed bool
	}{{1, false}, {100, false}, {5000, true}} {
		t.Run(fmt.Sprint(tc.rows), func(t *testing.T) {
			b := testBatch(t, tc.rows)
			var w WriteBatch
			w.SetBatch(b)
			require.Equal(t, tc.wantCompressed, w.Compressed)
			raw := storage.AppendBatch(nil, b)
			if tc.wantCompressed {
				require.Less(t, len(w.Batch), len(raw))
			} else {
				require.Equal(t, raw, w.Batch)
			}
			got, err := w.DecodeBatch()
			require.NoError(t, err)
			require.Equal(t, raw, storage.AppendBatch(nil, got))
			require.Equal(t, uint64(77), got.Version)
		})
	}
}

func TestBatchDecodeErrors(t *testing.T) {
	_, err := DecodeBatch([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, true)
	require.Error(t, err)
	_, err = DecodeBatch([]byte{0x10, 0x01, 0x02}, true)
	require.Error(t, err)
	_, err = DecodeBatch([]byte{0x05}, false)
	require.Error(t, err)
}
