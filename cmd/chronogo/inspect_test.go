package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// runInspect runs `chronogo inspect args...` and returns its output and error.
func runInspect(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := inspectCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

// TestInspectGolden is issue #15's golden outputs for inspect on the storage packages' golden
// files: the readable form (RFC 3339 times, BSON type names, series keys as line protocol) is
// frozen in testdata/, and --raw is exactly the TSM package's own frozen dump.
func TestInspectGolden(t *testing.T) {
	cases := []struct {
		name   string
		args   []string
		golden string
	}{
		{"dumptsm", []string{"dumptsm", "../../storage/tsm/testdata/v2/000001.tsm"}, "testdata/dumptsm.golden"},
		{"dumptsm index", []string{"dumptsm", "--index-only", "../../storage/tsm/testdata/v2/000001.tsm"}, "testdata/dumptsm-index.golden"},
		{"dumptsm raw", []string{"dumptsm", "--raw", "../../storage/tsm/testdata/v2/000001.tsm"}, "../../storage/tsm/testdata/v2/000001.txt"},
		{"dumptsm v1", []string{"dumptsm", "--index-only", "../../storage/tsm/testdata/v1/000001.tsm"}, "testdata/dumptsm-v1-index.golden"},
		{"dumpwal", []string{"dumpwal", "../../storage/wal/testdata/v1/00000001.wal"}, "testdata/dumpwal.golden"},
		{"dumpwal raw", []string{"dumpwal", "--raw", "../../storage/wal/testdata/v1/00000001.wal"}, "testdata/dumpwal-raw.golden"},
		{"dumpsummary", []string{"dumpsummary", "../../storage/summary/testdata/v1/summary"}, "testdata/dumpsummary.golden"},
		{"dumpsummary rename", []string{"dumpsummary", "../../storage/summary/testdata/v1/summary-rename"}, "testdata/dumpsummary-rename.golden"},
		// a data directory holding copies of the TSM v3 and WAL golden files
		{"reportdisk", []string{"reportdisk", "testdata/reportdisk"}, "testdata/reportdisk.golden"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runInspect(t, tc.args...)
			require.NoError(t, err, out)
			// file names in the output are the arguments: make them stable
			out = string(bytes.ReplaceAll([]byte(out), []byte("../../"), nil))
			if *update && filepath.Dir(tc.golden) == "testdata" {
				require.NoError(t, os.MkdirAll("testdata", 0o755))
				require.NoError(t, os.WriteFile(tc.golden, []byte(out), 0o644))
			}
			want, err := os.ReadFile(tc.golden)
			require.NoError(t, err, "run go test -update once to create %s", tc.golden)
			require.Equal(t, string(want), out)
		})
	}
}

// TestInspectWrongKind: a file given to the wrong dump command is refused with a one-line reason
// naming what it is and the command that reads it, not a decoding error.
func TestInspectWrongKind(t *testing.T) {
	junk := filepath.Join(t.TempDir(), "junk")
	require.NoError(t, os.WriteFile(junk, []byte("hello world"), 0o644))
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"dumptsm", "../../storage/summary/testdata/v1/summary"}, "is a summary file, not a TSM file: read it with chronogo inspect dumpsummary"},
		{[]string{"dumpsummary", "../../storage/wal/testdata/v1/00000001.wal"}, "is a WAL segment, not a summary file: read it with chronogo inspect dumpwal"},
		{[]string{"dumpwal", "../../storage/tsm/testdata/v2/000001.tsm"}, "is a TSM file, not a WAL segment: read it with chronogo inspect dumptsm"},
		{[]string{"dumptsm", junk}, "is a file of no ChronoGo kind (first bytes 0x68656c6c), not a TSM file"},
	}
	for _, tc := range cases {
		_, err := runInspect(t, tc.args...)
		require.Error(t, err, "%v", tc.args)
		require.Contains(t, err.Error(), tc.want)
		require.NotContains(t, err.Error(), "\n", "one line")
	}
}

// TestDiskKindOf: files are classified by their place; a database named like one of the node's
// own directories stays data.
func TestDiskKindOf(t *testing.T) {
	for rel, want := range map[string]string{
		"data/default/db/1/2/3/tsm/000001.tsm":     "tsm",
		"data/default/db/1/2/3/delta/000002.delta": "delta",
		"data/default/db/1/2/3/wal/00000001.wal":   "wal",
		"data/default/db/1/2/3/index/index.snap":   "series index",
		"data/default/db/1/2/3/summary":            "summary",
		"handoff/node-2/00000001.hint":             "hint queues",
		"meta/NODEHOST.ID":                         "meta (raft)",
		"data/default/meta/1/2/3/tsm/000001.tsm":   "tsm",
		"data/default/handoff/1/2/3/summary":       "summary",
		"data/default/meta/1/2/3/LOCK":             "other",
		"LOCK":                                     "other",
		"tsm/000001.tsm":                           "tsm", // DIR a vnode directory
	} {
		require.Equal(t, want, diskKindOf(rel), rel)
	}
}
