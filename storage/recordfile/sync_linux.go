//go:build linux

package recordfile

import (
	"os"
	"syscall"

	"github.com/chronogo/chronogo/storage/vfs"
)

// fdatasync flushes file data and the metadata needed to read it back (size), not mtime. A file
// with injected faults (vfs) goes through its own Sync.
func fdatasync(f vfs.File) error {
	if _, ok := f.(*os.File); !ok {
		return f.Sync()
	}
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			return err
		}
	}
}
