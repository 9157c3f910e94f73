package index

import (
	"bytes"
	"encoding/hex"
	"flag"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

func goldenKeys(t testing.TB) [][]byte {
	return [][]byte{
		mkKey(t, "cpu"),
		mkKey(t, "cpu", "host", "server01", "region", "us-west"),
		mkKey(t, "weather", "sensor.id", 42, "loc", "NYC"),
		mkKey(t, "m", "a", int32(-1), "b", true, "c", 0.5),
	}
}

// TestGoldenSeriesIDs pins HashSeriesKey and the id layout: the hash is checked against
// hash/fnv (an independent FNV-1a) and against the frozen testdata/series_ids.golden.
func TestGoldenSeriesIDs(t *testing.T) {
	x, err := Open(t.TempDir(), Options{})
	require.NoError(t, err)
	defer x.Close()
	keys := goldenKeys(t)
	ids, err := x.GetOrCreate(keys, nil)
	require.NoError(t, err)
	var out strings.Builder
	for i, k := range keys {
		h := fnv.New64a()
		h.Write(k)
		want := uint32(h.Sum64() >> 40)
		require.Equal(t, want, storage.HashSeriesKey(k))
		require.Equal(t, storage.SeriesID(uint64(want)<<40|uint64(i+1)), ids[i])
		fmt.Fprintf(&out, "%s %06x %016x\n", hex.EncodeToString(k), want, uint64(ids[i]))
	}
	path := filepath.Join("testdata", "series_ids.golden")
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(out.String()), 0o644))
	}
	golden, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, string(golden), out.String())
}

// buildGolden writes a deterministic index: with close=false it leaves a log with add, delete
// and drop records (no snapshot); with close=true a snapshot and an empty log.
func buildGolden(t *testing.T, dir string, close bool) *model {
	x, err := Open(dir, Options{})
	require.NoError(t, err)
	m := newModel()
	keys := append(goldenKeys(t), hostKeys(t, "cpu", 0, 6)...)
	keys = append(keys, hostKeys(t, "mem", 0, 2)...)
	ids := create(t, x, m, keys)
	require.NoError(t, x.DeleteSeries([]storage.SeriesID{ids[5]}))
	delete(m.byID, ids[5])
	require.NoError(t, x.DropTable("mem"))
	for id, k := range m.byID {
		if k.Table == "mem" {
			delete(m.byID, id)
		}
	}
	create(t, x, m, hostKeys(t, "disk", 0, 1))
	if close {
		require.NoError(t, x.Close())
	} else {
		require.NoError(t, x.Sync())
		abandon(x)
	}
	return m
}

// TestGoldenFormat freezes the on-disk format: files written today must equal testdata/v1, and
// the frozen files must open to the expected state.
func TestGoldenFormat(t *testing.T) {
	for _, c := range []struct {
		name  string
		close bool
	}{{"log", false}, {"snapshot", true}} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			m := buildGolden(t, dir, c.close)
			golden := filepath.Join("testdata", "v1", c.name)
			if *update {
				require.NoError(t, os.RemoveAll(golden))
				require.NoError(t, os.MkdirAll(golden, 0o755))
				copyDir(t, dir, golden)
			}
			require.Equal(t, dirFiles(t, golden), dirFiles(t, dir))
			for _, name := range dirFiles(t, dir) {
				want, err := os.ReadFile(filepath.Join(golden, name))
				require.NoError(t, err)
				got, err := os.ReadFile(filepath.Join(dir, name))
				require.NoError(t, err)
				require.True(t, bytes.Equal(want, got), "%s differs from golden", name)
			}
			frozen := t.TempDir()
			copyDir(t, golden, frozen)
			x, err := Open(frozen, Options{})
			require.NoError(t, err)
			checkAgainstModel(t, x, m)
			require.NoError(t, x.Close())
		})
	}
}
