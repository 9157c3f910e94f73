//go:build linux

package recordfile

import (
	"os"
	"syscall"
)

// fdatasync flushes file data and the metadata needed to read it back (size), not mtime.
func fdatasync(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			return err
		}
	}
}
