package engine

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/chronogo/chronogo/storage/layout"
	"github.com/chronogo/chronogo/storage/recordfile"
	"github.com/chronogo/chronogo/storage/wal"
)

// Unsettled reports, from the directory listing alone (nothing is opened), whether the vnode in
// dir has work a settling would do: WAL records not yet flushed (a segment longer than its
// header, or more than one segment) or level-0 files waiting for compaction. A node that stopped
// before its vnodes settled opens these at start so that they settle without waiting for a client.
func Unsettled(dir string) (bool, error) {
	segs, err := listNames(filepath.Join(dir, layout.WALDir), wal.SegmentExt)
	if err != nil {
		return false, err
	}
	if len(segs) > 1 {
		return true, nil
	}
	for _, s := range segs {
		info, err := os.Stat(filepath.Join(dir, layout.WALDir, s))
		if err != nil {
			return false, fmt.Errorf("unsettled %s: %w", dir, err)
		}
		if info.Size() > recordfile.HeaderSize {
			return true, nil
		}
	}
	deltas, err := listNames(filepath.Join(dir, layout.DeltaDir), layout.DeltaExt)
	if err != nil {
		return false, err
	}
	return len(deltas) > 0, nil
}

// listNames lists the files in dir ending in ext (none when dir does not exist).
func listNames(dir, ext string) ([]string, error) {
	return layout.List(dir, func(e fs.DirEntry) bool { return !e.IsDir() && strings.HasSuffix(e.Name(), ext) })
}
