//go:build !linux

package recordfile

import "os"

func fdatasync(f *os.File) error { return f.Sync() }
