package engine

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/chronogo/chronogo/storage/layout"
)

// CheckpointFile is one file of a checkpoint: its path below the checkpoint directory, its size,
// and whether it never changes once written (TSM and delta files), so that a backup holding a
// file of that path and size already holds it.
type CheckpointFile struct {
	Path      string
	Size      int64
	Immutable bool
}

// Checkpoint makes dst (a directory that must not exist) a copy of the vnode as it is now, which
// Open reads as the vnode: the live TSM and delta files hard-linked (copied across file systems),
// the summary, the series index and the WAL copied, all under the vnode's lock, so no flush,
// compaction or write lands half way. Unflushed writes come along in the WAL copy.
func (v *Vnode) Checkpoint(dst string) ([]CheckpointFile, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return nil, ErrClosed
	}
	if _, err := os.Stat(dst); err == nil {
		return nil, fmt.Errorf("checkpoint %s: already exists", dst)
	}
	for _, d := range []string{layout.TSMDir, layout.DeltaDir, layout.WALDir, layout.IndexDir} {
		if err := os.MkdirAll(filepath.Join(dst, d), 0o755); err != nil {
			return nil, fmt.Errorf("checkpoint %s: %w", dst, err)
		}
	}
	var out []CheckpointFile
	add := func(src string, immutable bool) error {
		rel, err := filepath.Rel(v.dir, src)
		if err != nil {
			return err
		}
		to := filepath.Join(dst, rel)
		var size int64
		if immutable {
			size, err = linkOrCopy(src, to)
		} else {
			size, err = copyFile(src, to)
		}
		if err != nil {
			return fmt.Errorf("checkpoint %s: %w", src, err)
		}
		out = append(out, CheckpointFile{Path: rel, Size: size, Immutable: immutable})
		return nil
	}
	for _, h := range v.cur.files {
		if err := add(h.path, true); err != nil {
			return nil, err
		}
	}
	if err := add(filepath.Join(v.dir, layout.SummaryFile), false); err != nil {
		return nil, err
	}
	for _, d := range []string{layout.WALDir, layout.IndexDir} {
		ents, err := os.ReadDir(filepath.Join(v.dir, d))
		if err != nil {
			return nil, fmt.Errorf("checkpoint %s: %w", dst, err)
		}
		for _, e := range ents {
			if e.Type().IsRegular() {
				if err := add(filepath.Join(v.dir, d, e.Name()), false); err != nil {
					return nil, err
				}
			}
		}
	}
	if _, err := os.Stat(filepath.Join(v.dir, layout.MetaFile)); err == nil {
		if err := add(filepath.Join(v.dir, layout.MetaFile), false); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// linkOrCopy hard-links src to dst, or copies it when the link fails (another file system).
func linkOrCopy(src, dst string) (int64, error) {
	if err := os.Link(src, dst); err == nil {
		st, err := os.Stat(dst)
		if err != nil {
			return 0, err
		}
		return st.Size(), nil
	}
	return copyFile(src, dst)
}

// copyFile copies src to a new file dst and fsyncs it.
func copyFile(src, dst string) (int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, errors.Join(err, os.Remove(dst))
	}
	return n, nil
}
