package layout_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage/layout"
)

func TestVnodeDir(t *testing.T) {
	require.Equal(t, filepath.Join("/r", "data", "acme", "db1", "3", "4", "5"), layout.VnodeDir("/r", "acme", "db1", 3, 4, 5))
}

func TestFileNames(t *testing.T) {
	v := filepath.Join("/r", "v")
	for _, c := range []struct {
		id    uint64
		level int
		want  string
	}{
		{1, 0, "/r/v/delta/000001.delta"},
		{42, 1, "/r/v/tsm/000042.tsm"},
		{123456, 4, "/r/v/tsm/123456.tsm"},
		{1234567, 2, "/r/v/tsm/1234567.tsm"}, // wider than the padding
		{18446744073709551615, 3, "/r/v/tsm/18446744073709551615.tsm"},
	} {
		name := layout.FileName(v, c.id, c.level)
		require.Equal(t, filepath.FromSlash(c.want), name)
		id, ok := layout.ParseFileID(filepath.Base(name))
		require.True(t, ok, name)
		require.Equal(t, c.id, id)
	}
	for _, bad := range []string{"", ".tsm", ".delta", "x.tsm", "1.tsm.tmp", "1.bad", "5.delta.tsm", "5.tsm.delta", "-1.tsm",
		"+1.tsm", "0x10.tsm", "18446744073709551616.tsm", "summary", "1"} {
		_, ok := layout.ParseFileID(bad)
		require.False(t, ok, bad)
	}
}

// TestVnodeDirs: the vnode directories under a data directory, with the names their paths give;
// files, non-numeric and non-canonical numbers ("007") at the numbered levels are not vnodes.
func TestVnodeDirs(t *testing.T) {
	root := t.TempDir()
	got, err := layout.VnodeDirs(root)
	require.NoError(t, err)
	require.Empty(t, got, "no data directory yet")
	want := []layout.VnodePath{
		{Tenant: "acme", DB: "metrics", Bucket: 1, ReplicaSet: 2, Vnode: 3},
		{Tenant: "acme", DB: "metrics", Bucket: 1, ReplicaSet: 2, Vnode: 4},
		{Tenant: "default", DB: "db", Bucket: 18446744073709551615, ReplicaSet: 0, Vnode: 9},
	}
	for i := range want {
		want[i].Dir = layout.VnodeDir(root, want[i].Tenant, want[i].DB, want[i].Bucket, want[i].ReplicaSet, want[i].Vnode)
		require.NoError(t, os.MkdirAll(filepath.Join(want[i].Dir, layout.WALDir), 0o755))
	}
	for _, junk := range []string{"acme/metrics/x/2/3", "acme/metrics/1/007/3", "acme/metrics/1/2/-5", "acme/metrics/1/2/99999999999999999999"} {
		require.NoError(t, os.MkdirAll(filepath.Join(root, layout.DataDir, junk), 0o755))
	}
	require.NoError(t, os.WriteFile(filepath.Join(root, layout.DataDir, "acme", "metrics", "1", "2", "7"), nil, 0o644))
	got, err = layout.VnodeDirs(root)
	require.NoError(t, err)
	require.ElementsMatch(t, want, got)
}
