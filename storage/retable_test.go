package storage

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRetable: keys change table and keep their tags (decoded independently); a key of another
// table, or one that would grow too long, leaves the batch untouched.
func TestRetable(t *testing.T) {
	mk := func(table string, tags ...Tag) []byte {
		k := SeriesKey{Table: table, Tags: tags}
		return k.Marshal(nil)
	}
	host := Tag{Key: "m.host", Value: StringTag("a")}
	b := &Batch{Series: []SeriesRows{{Key: mk("cpu", host)}, {Key: mk("cpu")}}}
	require.NoError(t, b.Retable("cpu", "cpu$out.00000000000000ff"))
	for i, want := range []SeriesKey{{Table: "cpu$out.00000000000000ff", Tags: []Tag{host}}, {Table: "cpu$out.00000000000000ff", Tags: []Tag{}}} {
		got, err := UnmarshalSeriesKey(b.Series[i].Key)
		require.NoError(t, err)
		require.Equal(t, want, got)
		table, err := KeyTableBytes(b.Series[i].Key)
		require.NoError(t, err)
		require.Equal(t, want.Table, string(table))
	}

	mixed := &Batch{Series: []SeriesRows{{Key: mk("cpu")}, {Key: mk("mem")}}}
	before := [][]byte{mixed.Series[0].Key, mixed.Series[1].Key}
	err := mixed.Retable("cpu", "x")
	require.True(t, errors.Is(err, ErrInvalidBatch), "%v", err)
	require.Equal(t, before, [][]byte{mixed.Series[0].Key, mixed.Series[1].Key})

	long := &Batch{Series: []SeriesRows{{Key: mk("c", Tag{Key: "k", Value: StringTag(string(make([]byte, MaxSeriesKeyLen-20)))})}}}
	err = long.Retable("c", "a-much-longer-table-name-than-before")
	require.True(t, errors.Is(err, ErrInvalidBatch), "%v", err)

	_, err = KeyTableBytes([]byte{0x80})
	require.Error(t, err)
}
