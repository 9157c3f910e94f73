package engine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/layout"
	"github.com/chronogo/chronogo/storage/summary"
	"github.com/chronogo/chronogo/storage/tsm"
)

// Recovery of the summary and the TSM files at open. The rule: no TSM file is deleted because the
// summary lacks it unless the summary is known to be whole.
//   - A summary whose log ends cleanly is whole: a TSM file it does not list is the output of a job
//     whose edit was never written (its data is still in the WAL or in the job's inputs) or a file
//     an edit deleted: it is removed.
//   - A summary whose last record was damaged (torn) may have lost a durable edit: every complete
//     TSM file it does not list and no edit of the log deleted is adopted back. At worst this keeps
//     a second copy of points (same version and seq: last-write-wins makes them one) until the next
//     compaction.
//   - A summary damaged elsewhere is moved aside (summary.bad.<unix>) and rebuilt from the TSM
//     files' own headers, with FlushedSeq 0 so the whole remaining WAL is replayed. Tombstones and
//     renames recorded only in the lost summary are gone: deleted points may reappear, never the
//     other way round.
//   - A TSM file that does not open (bad header, footer or index) is renamed <name>.bad and
//     dropped from the summary; the rest of the vnode stays readable.
// Every case is logged at error level with the file, the offset and the reason.

// openSummary opens the vnode's summary, rebuilding it from the TSM files if it is corrupt.
func (v *Vnode) openSummary() (*summary.File, *summary.State, error) {
	path := filepath.Join(v.dir, layout.SummaryFile)
	sum, st, err := summary.Open(path, v.log)
	var corrupt *storage.CorruptionError
	if err == nil || !errors.As(err, &corrupt) {
		return sum, st, err
	}
	aside := fmt.Sprintf("%s.bad.%d", path, time.Now().UnixNano())
	v.log.WithFields(logrus.Fields{"file": corrupt.Path, "offset": corrupt.Offset, "reason": corrupt.Err, "moved_to": aside}).
		Error("summary is corrupt: rebuilding it from the TSM files; deletes and renames it alone recorded are lost")
	if err := os.Rename(path, aside); err != nil {
		return nil, nil, fmt.Errorf("move corrupt summary aside: %w", err)
	}
	st = summary.NewState()
	found, err := v.completeFiles(func(uint64) bool { return true })
	if err != nil {
		return nil, nil, err
	}
	for _, m := range found {
		st.Files[m.ID] = m
		st.NextFileID = max(st.NextFileID, m.ID+1)
		st.MaxSeq = max(st.MaxSeq, m.MaxSeq)
	}
	sum, err = summary.Create(path, st, v.log)
	if err != nil {
		return nil, nil, err
	}
	return sum, st, nil
}

// adoptOrphans adds to the summary every complete TSM file it does not list and its log did not
// delete, after a damaged tail was truncated (see the rule above).
func (v *Vnode) adoptOrphans(st *summary.State) (*summary.State, error) {
	torn := v.sum.TornTail()
	if torn == nil {
		return st, nil
	}
	found, err := v.completeFiles(func(id uint64) bool {
		_, live := st.Files[id]
		return !live && !v.sum.DeletedByLog(id)
	})
	if err != nil || len(found) == 0 {
		return st, err
	}
	edit := &summary.VersionEdit{AddFiles: found}
	for _, m := range found {
		edit.NextFileID = max(edit.NextFileID, m.ID+1, st.NextFileID)
		v.log.WithFields(logrus.Fields{"file": layout.FileName(v.dir, m.ID, int(m.Level)), "summary": torn.Path, "torn_at": torn.Offset}).
			Error("summary tail was damaged: adopting a TSM file it does not list")
	}
	if err := v.sum.Append(edit); err != nil {
		return nil, fmt.Errorf("adopt orphan tsm files: %w", err)
	}
	return v.sum.State(), nil
}

// completeFiles returns the metadata, read from the files themselves, of every TSM and delta file
// whose id want accepts and that opens; one that does not open is quarantined.
func (v *Vnode) completeFiles(want func(id uint64) bool) ([]summary.FileMeta, error) {
	var out []summary.FileMeta
	for _, sub := range []string{layout.TSMDir, layout.DeltaDir} {
		ents, err := os.ReadDir(filepath.Join(v.dir, sub))
		if err != nil {
			return nil, fmt.Errorf("open vnode %s: %w", v.dir, err)
		}
		for _, e := range ents {
			id, ok := layout.ParseFileID(e.Name())
			if !ok || strings.HasSuffix(e.Name(), layout.TmpExt) || !want(id) {
				continue
			}
			path := filepath.Join(v.dir, sub, e.Name())
			r, err := tsm.Open(path)
			if err != nil {
				if qerr := v.quarantine(path, err); qerr != nil {
					return nil, qerr
				}
				continue
			}
			info := r.Info()
			_ = r.Close()
			level := uint8(1) // a .tsm file's level is not in its name: 1 is always valid
			if sub == layout.DeltaDir {
				level = 0
			}
			out = append(out, summary.FileMeta{ID: id, Level: level, Size: info.Size, MinTime: info.MinTime,
				MaxTime: info.MaxTime, MinSeq: info.MinSeq, MaxSeq: info.MaxSeq})
		}
	}
	return out, nil
}

// openFiles opens the summary's files. A file that fails with corruption is quarantined and
// removed from the summary; any other error (EIO, EMFILE) fails the open.
func (v *Vnode) openFiles(st *summary.State) ([]*fileHandle, *summary.State, error) {
	var handles []*fileHandle
	var bad []uint64
	fail := func(err error) ([]*fileHandle, *summary.State, error) {
		for _, h := range handles {
			_ = h.r.Close()
		}
		return nil, nil, fmt.Errorf("open vnode %s: %w", v.dir, err)
	}
	for _, m := range st.Files {
		path := layout.FileName(v.dir, m.ID, int(m.Level))
		r, err := tsm.Open(path)
		var corrupt *storage.CorruptionError
		switch {
		case err == nil:
			handles = append(handles, &fileHandle{meta: m, path: path, r: r})
			continue
		case errors.As(err, &corrupt):
			if qerr := v.quarantine(path, err); qerr != nil {
				return fail(qerr)
			}
		case errors.Is(err, os.ErrNotExist):
			v.log.WithFields(logrus.Fields{"file": path}).Error("tsm file listed in the summary is missing: its points are lost")
		default:
			return fail(err)
		}
		bad = append(bad, m.ID)
	}
	if len(bad) == 0 {
		return handles, st, nil
	}
	if err := v.sum.Append(&summary.VersionEdit{DelFiles: bad}); err != nil {
		return fail(err)
	}
	return handles, v.sum.State(), nil
}
