package meta

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/lni/vfs"
)

// tan, dragonboat's LogDB, preallocates every log file it creates: 64 MiB (fallocate, beyond the
// file's size) per shard per start, three shards here, and it never gives the space back; 90
// starts held 17 GB, and a small disk could not start at all. Its preallocation only happens for a
// *os.File, so the LogDB gets an FS whose files are not one: meta entries are small and rare, the
// preallocation buys nothing. trimLogFiles gives back what older versions preallocated.

// noPreallocFS is vfs.Default whose files hide their *os.File (still exposing Fd for syncs).
type noPreallocFS struct{ vfs.FS }

type plainFile struct{ *os.File }

func wrap(f vfs.File, err error) (vfs.File, error) {
	if osf, ok := f.(*os.File); ok && err == nil {
		return plainFile{osf}, nil
	}
	return f, err
}

func (n noPreallocFS) Create(name string) (vfs.File, error) { return wrap(n.FS.Create(name)) }
func (n noPreallocFS) Open(name string, opts ...vfs.OpenOption) (vfs.File, error) {
	return wrap(n.FS.Open(name, opts...))
}
func (n noPreallocFS) OpenForAppend(name string) (vfs.File, error) {
	return wrap(n.FS.OpenForAppend(name))
}
func (n noPreallocFS) ReuseForWrite(oldname, newname string) (vfs.File, error) {
	return wrap(n.FS.ReuseForWrite(oldname, newname))
}

// trimLogFiles truncates every tan log file under dir to its own size, which frees the space
// preallocated past its end (ext4 and xfs free blocks past the size on truncate).
func trimLogFiles(dir string) (freed int64, err error) {
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil && path == dir && errors.Is(err, fs.ErrNotExist) {
			return nil // a first start
		}
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".log") || !strings.Contains(path, "tandb") {
			return err
		}
		before, err := allocated(path)
		if err != nil {
			return err
		}
		fi, err := os.Stat(path)
		if err != nil {
			return err
		}
		if err := os.Truncate(path, fi.Size()); err != nil {
			return fmt.Errorf("trim meta log %s: %w", path, err)
		}
		after, err := allocated(path)
		if err != nil {
			return err
		}
		freed += before - after
		return nil
	})
	return freed, err
}
