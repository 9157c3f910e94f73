// Package layout names every file and directory of a ChronoGo data directory in one place:
// <root>/data/<tenant>/<db>/<bucket>/<replicaset>/<vnode>/{wal,tsm,delta,index,summary}.
package layout

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Directory and file names inside a vnode directory. The vnode directory is self-contained:
// moving a vnode means copying it.
const (
	DataDir      = "data"      // <root>/data holds every tenant
	TempDir      = "tmp"       // <root>/tmp holds query spill files (unlinked at creation)
	BackupDir    = "backup"    // <root>/backup holds the checkpoints of backups under way
	WALDir       = "wal"       // write-ahead log segments
	TSMDir       = "tsm"       // level 1..4 TSM files
	DeltaDir     = "delta"     // level 0 (out-of-order) TSM files
	IndexDir     = "index"     // series and tag index
	SummaryFile  = "summary"   // version edit log
	MetaFile     = "meta.json" // human-readable description of the vnode, informational only
	LockFile     = "LOCK"      // held while a process has the vnode open
	TSMExt       = ".tsm"
	DeltaExt     = ".delta"
	TmpExt       = ".tmp" // a file being written; removed on open
	BadExt       = ".bad" // a quarantined file
	tsmNameWidth = 6
)

// VnodeDir is the directory of one vnode.
func VnodeDir(root, tenant, db string, bucket, replicaSet, vnode uint64) string {
	return filepath.Join(root, DataDir, tenant, db, strconv.FormatUint(bucket, 10),
		strconv.FormatUint(replicaSet, 10), strconv.FormatUint(vnode, 10))
}

// FileName is the name of a TSM file with the given id: level 0 files are delta files.
func FileName(vnodeDir string, id uint64, level int) string {
	if level == 0 {
		return filepath.Join(vnodeDir, DeltaDir, fmt.Sprintf("%0*d%s", tsmNameWidth, id, DeltaExt))
	}
	return filepath.Join(vnodeDir, TSMDir, fmt.Sprintf("%0*d%s", tsmNameWidth, id, TSMExt))
}

// ParseFileID returns the id of a TSM or delta file name, and false for other names.
func ParseFileID(name string) (uint64, bool) {
	var base string
	switch {
	case strings.HasSuffix(name, TSMExt):
		base = strings.TrimSuffix(name, TSMExt)
	case strings.HasSuffix(name, DeltaExt):
		base = strings.TrimSuffix(name, DeltaExt)
	default:
		return 0, false
	}
	id, err := strconv.ParseUint(base, 10, 64)
	return id, err == nil
}

// VnodePath is a vnode directory found on disk, with the names its path gives.
type VnodePath struct {
	Tenant, DB                string
	Bucket, ReplicaSet, Vnode uint64
	Dir                       string
}

// VnodeDirs lists the vnode directories under root (<root>/data/<tenant>/<db>/<bucket>/<rs>/<vnode>,
// numbers in decimal); entries of any other shape are skipped. A missing data directory has none.
func VnodeDirs(root string) ([]VnodePath, error) {
	var out []VnodePath
	base := filepath.Join(root, DataDir)
	tenants, err := subdirs(base)
	if err != nil {
		return nil, err
	}
	for _, tenant := range tenants {
		dbs, err := subdirs(filepath.Join(base, tenant))
		if err != nil {
			return nil, err
		}
		for _, db := range dbs {
			err := numbered(filepath.Join(base, tenant, db), func(bucket uint64, bdir string) error {
				return numbered(bdir, func(rs uint64, rdir string) error {
					return numbered(rdir, func(vn uint64, vdir string) error {
						out = append(out, VnodePath{Tenant: tenant, DB: db, Bucket: bucket, ReplicaSet: rs, Vnode: vn, Dir: vdir})
						return nil
					})
				})
			})
			if err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// subdirs lists the directories in dir (none when dir does not exist).
func subdirs(dir string) ([]string, error) {
	return List(dir, func(e fs.DirEntry) bool { return e.IsDir() })
}

// List lists the names of the entries of dir that keep accepts (none when dir does not exist).
func List(dir string, keep func(fs.DirEntry) bool) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	var out []string
	for _, e := range entries {
		if keep(e) {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// numbered calls fn for each subdirectory of dir named by a canonical decimal number.
func numbered(dir string, fn func(n uint64, sub string) error) error {
	names, err := subdirs(dir)
	if err != nil {
		return err
	}
	for _, name := range names {
		n, err := strconv.ParseUint(name, 10, 64)
		if err != nil || strconv.FormatUint(n, 10) != name {
			continue
		}
		if err := fn(n, filepath.Join(dir, name)); err != nil {
			return err
		}
	}
	return nil
}
