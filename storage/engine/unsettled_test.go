package engine

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage/compaction"
	"github.com/chronogo/chronogo/storage/layout"
	"github.com/chronogo/chronogo/storage/summary"
)

// TestUnsettledBySummary: with no WAL records and no level-0 files, a vnode is unsettled while its
// summary lists files not yet merged to one per range (a kill during a compaction), and settled
// once one file holds each range; the summary is only read (its bytes do not change).
func TestUnsettledBySummary(t *testing.T) {
	const day = int64(24 * 3600 * 1e9)
	for _, strategy := range []compaction.Strategy{compaction.LevelRange, compaction.TimeWindow} {
		opts := compaction.Options{Strategy: strategy}
		cases := []struct {
			name  string
			files []summary.FileMeta
			want  bool
		}{
			{"no files", nil, false},
			{"one merged file", []summary.FileMeta{{ID: 1, Level: summary.MaxLevel, Size: 10, MinTime: 0, MaxTime: day / 2}}, false},
			{"two files of one day", []summary.FileMeta{
				{ID: 1, Level: summary.MaxLevel, Size: 10, MinTime: 0, MaxTime: day / 2},
				{ID: 2, Level: 1, Size: 10, MinTime: day / 4, MaxTime: day / 3}}, true},
		}
		for _, c := range cases {
			dir := t.TempDir()
			require.NoError(t, os.MkdirAll(filepath.Join(dir, layout.WALDir), 0o755))
			path := filepath.Join(dir, layout.SummaryFile)
			st := summary.NewState()
			require.NoError(t, st.Apply(&summary.VersionEdit{AddFiles: c.files, NextFileID: 3}))
			f, err := summary.Create(path, st, nil)
			require.NoError(t, err)
			require.NoError(t, f.Close())
			before, err := os.ReadFile(path)
			require.NoError(t, err)
			got, err := Unsettled(dir, opts)
			require.NoError(t, err)
			require.Equal(t, c.want, got, "strategy %v: %s", strategy, c.name)
			after, err := os.ReadFile(path)
			require.NoError(t, err)
			require.Equal(t, before, after, "the summary is only read")
		}
	}
	// a damaged summary is an error, not "settled"
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, layout.SummaryFile), []byte("not a summary at all"), 0o644))
	_, err := Unsettled(dir, compaction.Options{})
	require.Error(t, err)
}
