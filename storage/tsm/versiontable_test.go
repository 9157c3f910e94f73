package tsm

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage"
)

// uniqueVersions is a column of n int points whose (version, seq) pairs are all distinct and
// start at base: the worst case for the version table.
func uniqueVersions(series storage.SeriesID, n int, base uint64) column {
	c := column{key: Key{Series: series, Field: "v", Type: storage.TypeInt64}, vals: storage.Values{Type: storage.TypeInt64}}
	for i := range n {
		c.times = append(c.times, int64(i)*10)
		c.vals.Ints = append(c.vals.Ints, int64(i%7))
		c.versions = append(c.versions, base+uint64(i))
		c.seqs = append(c.seqs, base+uint64(i)/3)
	}
	return c
}

// TestVersionTableFull: past MaxVersionIDs pairs, blocks keep their own version and seq columns,
// and everything reads back exactly; copying blocks of two full files into one (CopyBlock), whose
// pairs cannot all fit the new table, falls back to writing them with their own columns.
func TestVersionTableFull(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, base uint64) (string, []column) {
		var cols []column
		for s := range 70 { // 70 × 1000 distinct pairs > MaxVersionIDs
			cols = append(cols, uniqueVersions(storage.SeriesID(s+1), 1000, base+uint64(s)*1000))
		}
		path := filepath.Join(dir, name)
		w, err := NewWriter(path, WriterOptions{})
		require.NoError(t, err)
		for _, c := range cols {
			require.NoError(t, w.WriteColumn(c.key, c.times, &c.vals, c.versions, c.seqs))
		}
		_, err = w.Finish()
		require.NoError(t, err)
		return path, cols
	}
	path, cols := write("a.tsm", 1)
	r, err := Open(path)
	require.NoError(t, err)
	defer r.Close()
	// 65 blocks' pairs fit; the 66th's would pass the limit: it and the rest keep their columns
	require.Equal(t, MaxVersionIDs/1000*1000, r.table.len(), "the table filled up, no partial block in it")
	explicit := 0
	for _, e := range r.Entries() {
		for _, m := range e.Blocks {
			raw, err := r.ReadRawBlock(m)
			require.NoError(t, err)
			if raw[0]&blockVersionsByID == 0 {
				explicit++
			}
		}
	}
	require.Equal(t, 70-MaxVersionIDs/1000, explicit, "blocks past the table's capacity keep their own columns")
	checkFile(t, r, cols)
	require.NoError(t, r.Verify())

	// Copy both files' blocks (other pairs) into one: what no longer fits is rewritten.
	path2, cols2 := write("b.tsm", 1<<40)
	r2, err := Open(path2)
	require.NoError(t, err)
	defer r2.Close()
	out := filepath.Join(dir, "out.tsm")
	w, err := NewWriter(out, WriterOptions{})
	require.NoError(t, err)
	var all []column
	for i := range cols {
		// file a's key of series i, then file b's under a series after all of a's
		e := r.Entries()[i]
		for _, m := range e.Blocks {
			require.NoError(t, w.CopyBlock(e.Key, m, r))
		}
		all = append(all, cols[i])
	}
	for i := range cols2 {
		e := r2.Entries()[i]
		k := e.Key
		k.Series += 1000
		for _, m := range e.Blocks {
			require.NoError(t, w.CopyBlock(k, m, r2))
		}
		c := cols2[i]
		c.key = k
		all = append(all, c)
	}
	_, err = w.Finish()
	require.NoError(t, err)
	ro, err := Open(out)
	require.NoError(t, err)
	defer ro.Close()
	require.Equal(t, MaxVersionIDs/1000*1000, ro.table.len(), "file a's pairs; file b's blocks were rewritten")
	checkFile(t, ro, all)
	require.NoError(t, ro.Verify())
}
