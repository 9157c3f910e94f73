package engine

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/chronogo/chronogo/storage/compaction"
	"github.com/chronogo/chronogo/storage/layout"
	"github.com/chronogo/chronogo/storage/recordfile"
	"github.com/chronogo/chronogo/storage/summary"
	"github.com/chronogo/chronogo/storage/wal"
)

// Unsettled reports, from the directory listing and the summary (nothing is opened for writing),
// whether the vnode in dir has work a settling would do: WAL records not yet flushed (a segment
// longer than its header, or more than one segment), level-0 files waiting for compaction, or
// files not yet merged to one per window (a node killed in the middle of a compaction, or before
// its quiet period ended) by the compaction options c. A node that stopped before its vnodes
// settled opens these at start so that they settle without waiting for a client.
func Unsettled(dir string, c compaction.Options) (bool, error) {
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
	if err != nil || len(deltas) > 0 {
		return len(deltas) > 0, err
	}
	st, err := summary.ReadState(filepath.Join(dir, layout.SummaryFile))
	if err != nil {
		return false, fmt.Errorf("unsettled %s: %w", dir, err)
	}
	metas := make([]summary.FileMeta, 0, len(st.Files))
	for _, m := range st.Files {
		metas = append(metas, m)
	}
	return compaction.PickFull(metas, c) != nil, nil
}

// listNames lists the files in dir ending in ext (none when dir does not exist).
func listNames(dir, ext string) ([]string, error) {
	return layout.List(dir, func(e fs.DirEntry) bool { return !e.IsDir() && strings.HasSuffix(e.Name(), ext) })
}
