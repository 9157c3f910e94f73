package index

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage"
)

// TestVerify: Verify finds the damage Open would refuse, accepts a torn tail of the last log (a
// crash's), and changes nothing on disk.
func TestVerify(t *testing.T) {
	build := func(t *testing.T) string {
		dir := t.TempDir()
		x, err := Open(dir, Options{})
		require.NoError(t, err)
		_, err = x.GetOrCreate(hostKeys(t, "cpu", 0, 50), nil)
		require.NoError(t, err)
		require.NoError(t, x.Close()) // snapshot + empty log 2
		x, err = Open(dir, Options{})
		require.NoError(t, err)
		_, err = x.GetOrCreate(hostKeys(t, "mem", 0, 50), nil)
		require.NoError(t, err)
		require.NoError(t, x.Sync()) // records in log 2
		abandon(x)
		return dir
	}
	logPath := func(dir string) string { return filepath.Join(dir, "index-000002.log") }
	snapPath := func(dir string) string { return filepath.Join(dir, SnapshotFileName) }
	flip := func(t *testing.T, path string, off int64) {
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		if off < 0 {
			off += int64(len(b))
		}
		b[off] ^= 0x5a
		require.NoError(t, os.WriteFile(path, b, 0o644))
	}
	cases := []struct {
		name    string
		damage  func(t *testing.T, dir string)
		corrupt bool
	}{
		{"whole", func(*testing.T, string) {}, false},
		{"torn tail of the last log", func(t *testing.T, dir string) {
			st, err := os.Stat(logPath(dir))
			require.NoError(t, err)
			require.NoError(t, os.Truncate(logPath(dir), st.Size()-3))
		}, false},
		{"snapshot damaged", func(t *testing.T, dir string) { flip(t, snapPath(dir), 40) }, true},
		{"log header damaged", func(t *testing.T, dir string) { flip(t, logPath(dir), 1) }, true},
		{"log generation missing", func(t *testing.T, dir string) {
			require.NoError(t, os.Rename(logPath(dir), filepath.Join(dir, "index-000003.log")))
		}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := build(t)
			c.damage(t, dir)
			before := dirFiles(t, dir)
			err := Verify(dir)
			var ce *storage.CorruptionError
			require.Equal(t, c.corrupt, errors.As(err, &ce), "%v", err)
			if !c.corrupt {
				require.NoError(t, err)
			}
			require.Equal(t, before, dirFiles(t, dir), "Verify changes nothing")
			_, openErr := Open(dir, Options{})
			require.Equal(t, c.corrupt, errors.As(openErr, &ce), "Open agrees: %v", openErr)
		})
	}
}
