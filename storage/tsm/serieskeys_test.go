package tsm

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage"
)

// TestSeriesKeysRoundTrip writes files whose series have keys (some without) and reads back
// exactly the table a model says.
func TestSeriesKeysRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, nSeries := range []int{0, 1, 7, 500} {
		t.Run(fmt.Sprint(nSeries), func(t *testing.T) {
			want := map[storage.SeriesID]string{}
			var cols []column
			for i := 0; i < nSeries; i++ {
				id := storage.NewSeriesID(uint32(rng.IntN(1<<24)), uint64(i+1))
				cols = append(cols, genColumn(rng, Key{Series: id, Field: "v", Type: storage.TypeDouble}, 1+rng.IntN(50)))
				if rng.IntN(5) > 0 { // a fifth of the series have no key (deleted)
					k := storage.SeriesKey{Table: "t", Tags: []storage.Tag{{Key: "host", Value: storage.StringTag(fmt.Sprintf("h%d", i))}}}
					want[id] = string(k.Marshal(nil))
				}
			}
			sortColumns(cols)
			path := filepath.Join(t.TempDir(), "000001.tsm")
			w, err := NewWriter(path, WriterOptions{SeriesKey: func(id storage.SeriesID) ([]byte, bool) {
				k, ok := want[id]
				return []byte(k), ok
			}})
			require.NoError(t, err)
			for _, c := range cols {
				require.NoError(t, w.WriteColumn(c.key, c.times, &c.vals, c.versions, c.seqs))
			}
			_, err = w.Finish()
			require.NoError(t, err)
			r, err := Open(path)
			require.NoError(t, err)
			defer r.Close()
			got := map[storage.SeriesID]string{}
			var last storage.SeriesID
			require.NoError(t, r.SeriesKeys(func(id storage.SeriesID, key []byte) error {
				require.Greater(t, id, last, "ids ascend")
				last = id
				got[id] = string(key)
				return nil
			}))
			require.Equal(t, want, got)
			require.Equal(t, FormatVersion, r.Version())
		})
	}
}

func TestSeriesKeysWriterRefusesBadKeys(t *testing.T) {
	for _, key := range [][]byte{{}, make([]byte, storage.MaxSeriesKeyLen+1)} {
		path := filepath.Join(t.TempDir(), "000001.tsm")
		w, err := NewWriter(path, WriterOptions{SeriesKey: func(storage.SeriesID) ([]byte, bool) { return key, true }})
		require.NoError(t, err)
		c := genColumn(rand.New(rand.NewPCG(1, 1)), Key{Series: 5, Field: "v", Type: storage.TypeInt64}, 3)
		require.NoError(t, w.WriteColumn(c.key, c.times, &c.vals, c.versions, c.seqs))
		_, err = w.Finish()
		require.ErrorContains(t, err, "want 1..")
	}
}

// TestSeriesKeysTableChecks feeds hand-made tables to the open-time check.
func TestSeriesKeysTableChecks(t *testing.T) {
	entries := []seriesStart{{id: 3, nkeys: 2}, {id: 9, nkeys: 1}}
	cases := []struct {
		name  string
		table []byte
		err   string
	}{
		{"empty", []byte{0}, ""},
		{"both", []byte{2, 3, 1, 'a', 6, 2, 'b', 'c'}, ""},
		{"unknown series", []byte{1, 4, 1, 'a'}, "has no column"},
		{"not ascending", []byte{2, 9, 1, 'a', 0, 1, 'b'}, "id delta"},
		{"zero id", []byte{1, 0, 1, 'a'}, "id delta"},
		{"empty key", []byte{1, 3, 0, 0}, "length 0"},
		{"key past the end", []byte{1, 3, 5, 'a'}, ""},
		{"count past the end", []byte{100, 3, 1, 'a'}, "series key count"},
		{"trailing", []byte{1, 3, 1, 'a', 0}, "trailing"},
	}
	for _, c := range cases {
		_, err := checkSeriesKeys(c.table, 0, FormatV2, entries)
		switch {
		case c.name == "key past the end":
			require.Error(t, err, c.name)
		case c.err == "":
			require.NoError(t, err, c.name)
		default:
			require.ErrorContains(t, err, c.err, c.name)
		}
	}
	_, err := checkSeriesKeys([]byte{0}, 0, FormatV1, entries)
	require.ErrorContains(t, err, "trailing", "a version 1 index ends with its keys")
}
