//go:build !linux

package recordfile

import "github.com/chronogo/chronogo/storage/vfs"

func fdatasync(f vfs.File) error { return f.Sync() }
