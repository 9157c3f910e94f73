package engine

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/index"
	"github.com/chronogo/chronogo/storage/layout"
	"github.com/chronogo/chronogo/storage/tsm"
)

// openIndex opens the series index. A damaged one is moved aside (index.bad.<ns>) and rebuilt
// from the series-key tables of the live TSM files (format version 2), newest file first; the
// WAL replay that follows re-creates the series only it holds. Series that only version 1 files
// hold cannot be named again: their points stay on disk but are not readable (logged).
func (v *Vnode) openIndex() (*index.Index, error) {
	dir := filepath.Join(v.dir, layout.IndexDir)
	idx, err := index.Open(dir, index.Options{Logger: v.log})
	var ce *storage.CorruptionError
	if err == nil {
		// An index that opens may still lack series the files hold: a directory that is gone
		// opens empty, and damage to the last log record looks like a torn tail and is cut off.
		if missing := v.unnamedSeries(idx); missing > 0 {
			v.log.WithFields(logrus.Fields{"series": missing, "dir": dir}).
				Error("series index lacks series that TSM files hold: naming them again from the files")
			if err := v.adoptSeriesKeys(idx); err != nil {
				_ = idx.Close()
				return nil, err
			}
		}
		return idx, nil
	}
	if !errors.As(err, &ce) {
		return nil, err
	}
	aside := filepath.Join(v.dir, layout.IndexDir+".bad."+strconv.FormatInt(time.Now().UnixNano(), 10))
	v.log.WithFields(logrus.Fields{"file": ce.Path, "offset": ce.Offset, "reason": ce.Err, "moved_to": aside}).
		Error("series index is damaged: rebuilding it from the TSM files")
	if err := os.Rename(dir, aside); err != nil {
		return nil, fmt.Errorf("move damaged index aside: %w", err)
	}
	idx, err = index.Open(dir, index.Options{Logger: v.log})
	if err != nil {
		return nil, err
	}
	if err := v.adoptSeriesKeys(idx); err != nil {
		_ = idx.Close()
		return nil, err
	}
	return idx, nil
}

// unnamedSeries counts the series of live files that idx does not know and no tombstone hides
// (a deleted series leaves the index before its points leave the files).
func (v *Vnode) unnamedSeries(idx *index.Index) int {
	n := 0
	var last storage.SeriesID
	for _, h := range v.cur.files {
		for _, e := range h.r.Entries() {
			id := e.Key.Series
			if id == last {
				continue
			}
			last = id
			if _, ok := idx.RawKey(id); !ok && !v.cur.seriesHidden(id) {
				n++
			}
		}
	}
	return n
}

// adoptSeriesKeys adds the series named by the live files' series-key tables to idx.
func (v *Vnode) adoptSeriesKeys(idx *index.Index) error {
	files := slices.Clone(v.cur.files)
	slices.SortFunc(files, func(a, b *fileHandle) int { return cmp.Compare(b.meta.ID, a.meta.ID) }) // newest first
	var (
		ids     []storage.SeriesID
		keys    [][]byte
		seen    = map[storage.SeriesID]bool{}
		minNext uint64
		unnamed int
	)
	for _, h := range files {
		for _, e := range h.r.Entries() {
			minNext = max(minNext, e.Key.Series.AutoInc()+1)
		}
		err := h.r.SeriesKeys(func(id storage.SeriesID, key []byte) error {
			if !seen[id] {
				seen[id] = true
				ids, keys = append(ids, id), append(keys, slices.Clone(key))
			}
			return nil
		})
		if errors.Is(err, tsm.ErrNoSeriesKeys) {
			unnamed++
			v.log.WithField("file", h.path).Error("tsm file of format version 1 has no series keys: its series are not readable until the index is restored")
			continue
		}
		if err != nil {
			return fmt.Errorf("rebuild index from %s: %w", h.path, err)
		}
	}
	adopted, skipped, err := idx.Adopt(ids, keys, minNext)
	if err != nil {
		return err
	}
	v.log.WithFields(logrus.Fields{"series": adopted, "skipped": skipped, "files": len(files), "files_without_keys": unnamed}).
		Warn("series index rebuilt from the TSM files")
	return nil
}
