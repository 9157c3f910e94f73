package engine

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage"
)

// seriesKey encodes a series key of table with string tags given as k1, v1, k2, v2, ...
func seriesKey(t testing.TB, table string, kv ...string) []byte {
	t.Helper()
	k := storage.SeriesKey{Table: table}
	for i := 0; i+1 < len(kv); i += 2 {
		k.Tags = append(k.Tags, storage.Tag{Key: kv[i], Value: storage.StringTag(kv[i+1])})
	}
	require.NoError(t, k.Normalize())
	return k.Marshal(nil)
}

// intRows makes a series with one int64 field "v" holding vals at times.
func intRows(key []byte, field string, times []int64, vals []int64) storage.SeriesRows {
	return storage.SeriesRows{Key: key, Times: times, Fields: []storage.FieldColumn{{Name: field, Values: storage.Values{Type: storage.TypeInt64, Ints: vals}}}}
}

func openTest(t testing.TB, dir string, opts Options) *Vnode {
	t.Helper()
	v, err := Open(dir, opts)
	require.NoError(t, err)
	return v
}

// scanAll returns every visible point of table as "series/field/type/time" -> value string.
func scanAll(t testing.TB, v *Vnode, table string) map[string]string {
	t.Helper()
	s := v.Snapshot()
	defer s.Release()
	out := map[string]string{}
	err := s.Scan(ScanQuery{Table: table, MinTime: minTime, MaxTime: maxTime}, func(c *ScanColumn) error {
		k, ok := s.SeriesKey(c.Series)
		require.True(t, ok)
		kb := k.Marshal(nil)
		for i, ts := range c.Points.Times {
			out[fmt.Sprintf("%x/%s/%d/%d", kb, c.Field, c.Points.Values.Type, ts)] = valueString(&c.Points.Values, i)
		}
		return nil
	})
	require.NoError(t, err)
	return out
}

func valueString(v *storage.Values, i int) string {
	switch v.Type.Class() {
	case storage.ClassFloat:
		return fmt.Sprintf("f%v", v.Floats[i])
	case storage.ClassInt:
		return fmt.Sprintf("i%d", v.Ints[i])
	case storage.ClassBool:
		return fmt.Sprintf("b%v", v.Bools[i])
	}
	return fmt.Sprintf("s%q", v.Bytes[i])
}
