package meta

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// dirAllocated sums the disk blocks (not the sizes) of the files under dir.
func dirAllocated(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		a, err := allocated(p)
		n += a
		return err
	}))
	return n
}

// TestRestartsDoNotAccumulateMetaLogSpace is issue #7's "every start preallocates 3 × 64 MiB of
// meta log files and never frees them": ten starts of a standalone host hold a few MiB in all, and
// space that an older version preallocated is given back at the next start.
func TestRestartsDoNotAccumulateMetaLogSpace(t *testing.T) {
	dir := t.TempDir()
	start := func() {
		h, err := Start(standaloneConfig(t, dir))
		require.NoError(t, err)
		require.NoError(t, h.WaitReady(testContext(t)))
		h.Close()
	}
	for i := 0; i < 10; i++ {
		start()
	}
	total := dirAllocated(t, dir)
	require.Less(t, total, int64(8<<20), "meta dir holds %d bytes after 10 starts", total)

	// A log file with 64 MiB preallocated past its end, as tan made them: the next start frees it.
	var logFile string
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Ext(p) == ".log" && logFile == "" {
			logFile = p
		}
		return err
	}))
	require.NotEmpty(t, logFile)
	f, err := os.OpenFile(logFile, os.O_RDWR, 0)
	require.NoError(t, err)
	if err := unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_KEEP_SIZE, 0, 64<<20); err != nil {
		f.Close()
		t.Skipf("fallocate not supported here: %v", err)
	}
	f.Close()
	require.Greater(t, dirAllocated(t, dir), int64(64<<20))
	start()
	require.Less(t, dirAllocated(t, dir), int64(8<<20))
}
