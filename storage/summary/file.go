package summary

import (
	"errors"
	"fmt"
	"os"

	"github.com/sirupsen/logrus"

	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/recordfile"
)

// Magic is the record-file magic of a summary file.
var Magic = [4]byte{'C', 'G', 'S', 'M'}

// DefaultRewriteSize is the summary size past which Append rewrites it as one snapshot edit.
const DefaultRewriteSize = 4 << 20

// File is an open summary file. Only one goroutine may append at a time (the vnode's summary writer).
type File struct {
	path        string
	w           *recordfile.Writer
	state       *State
	rewriteSize int64
	log         logrus.FieldLogger
	// torn is the damaged tail that Open truncated (nil if the log ended cleanly); deleted holds
	// the files that the log's edits removed. Recovery uses both to tell an orphan TSM file that
	// a lost edit may have installed from one a finished edit deleted.
	torn    *recordfile.TornTailError
	deleted map[uint64]bool
}

// Open reads the summary at path (creating an empty one if it does not exist), folds its edits into
// a State and opens it for appending. A torn last record (a crash during Append) is truncated and
// logged; any other damage is a *storage.CorruptionError.
func Open(path string, log logrus.FieldLogger) (*File, *State, error) {
	if log == nil {
		log = logrus.StandardLogger()
	}
	st := NewState()
	f := &File{path: path, state: st, rewriteSize: DefaultRewriteSize, log: log, deleted: map[uint64]bool{}}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		if err := recordfile.WriteFileAtomic(path, Magic, [][]byte{st.Snapshot().Marshal(nil)}); err != nil {
			return nil, nil, fmt.Errorf("create summary %s: %w", path, err)
		}
	}
	validEnd, err := recordfile.Scan(path, Magic, func(off int64, payload []byte) error {
		// A record that passes its CRC but does not decode or apply is damage too: say where.
		e, err := UnmarshalVersionEdit(payload)
		if err != nil {
			return &storage.CorruptionError{Path: path, Offset: off, Err: err}
		}
		if err := st.Apply(e); err != nil {
			return &storage.CorruptionError{Path: path, Offset: off, Err: err}
		}
		for _, id := range e.DelFiles {
			f.deleted[id] = true
		}
		return nil
	})
	var torn *recordfile.TornTailError
	switch {
	case errors.As(err, &torn):
		// A crash during Append, or damage to a last record that was durable: the caller cannot
		// tell which, so it keeps every TSM file the lost edit may have installed (TornTail).
		log.WithFields(logrus.Fields{"file": path, "offset": torn.Offset, "size": torn.Size, "reason": torn.Err}).
			Warn("truncating torn summary tail")
		f.torn = torn
	case err != nil:
		return nil, nil, fmt.Errorf("read summary: %w", err)
	}
	w, err := recordfile.OpenAppend(path, Magic, validEnd)
	if err != nil {
		return nil, nil, fmt.Errorf("open summary %s: %w", path, err)
	}
	f.w = w
	return f, st.Clone(), nil
}

// ReadState folds the summary at path into a State without opening it for appending or changing
// it (a torn last record is left as it is and ignored, as Open would truncate it); a summary that
// does not exist is an empty vnode's state. Other damage is a *storage.CorruptionError.
func ReadState(path string) (*State, error) {
	st := NewState()
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	_, err := recordfile.Scan(path, Magic, func(off int64, payload []byte) error {
		e, err := UnmarshalVersionEdit(payload)
		if err == nil {
			err = st.Apply(e)
		}
		if err != nil {
			return &storage.CorruptionError{Path: path, Offset: off, Err: err}
		}
		return nil
	})
	var torn *recordfile.TornTailError
	if err != nil && !errors.As(err, &torn) {
		return nil, fmt.Errorf("read summary: %w", err)
	}
	return st, nil
}

// Append makes e durable (write + fsync) and folds it into the file's state. If e does not apply
// to the state, nothing is written. A large summary is rewritten atomically as one snapshot edit;
// if that rewrite fails, e is nevertheless durable and applied, the error says so, and the file keeps
// appending to the old log.
func (f *File) Append(e *VersionEdit) error {
	if f.w == nil {
		return fmt.Errorf("append summary %s: file is closed", f.path)
	}
	next := f.state.Clone()
	if err := next.Apply(e); err != nil {
		return err
	}
	size := f.w.Size()
	if _, err := f.w.Append(e.Marshal(nil)); err != nil {
		return f.failed("append", size, err)
	}
	if err := f.w.Sync(); err != nil {
		return f.failed("sync", size, err)
	}
	f.state = next
	if f.w.Size() > f.rewriteSize {
		if err := f.rewrite(); err != nil {
			return fmt.Errorf("edit applied and durable, but: %w", err)
		}
	}
	return nil
}

// rewrite replaces the log with one snapshot edit: tmp file, fsync, rename, dir fsync.
func (f *File) rewrite() error {
	if err := f.w.Close(); err != nil {
		return fmt.Errorf("close summary %s: %w", f.path, err)
	}
	f.w = nil
	if err := recordfile.WriteFileAtomic(f.path, Magic, [][]byte{f.state.Snapshot().Marshal(nil)}); err != nil {
		// The old log is intact and holds every edit: keep appending to it.
		if st, serr := os.Stat(f.path); serr == nil {
			if w, oerr := recordfile.OpenAppend(f.path, Magic, st.Size()); oerr == nil {
				f.w = w
			}
		}
		return fmt.Errorf("rewrite summary %s: %w", f.path, err)
	}
	st, err := os.Stat(f.path)
	if err != nil {
		return fmt.Errorf("rewrite summary: %w", err)
	}
	w, err := recordfile.OpenAppend(f.path, Magic, st.Size())
	if err != nil {
		return fmt.Errorf("reopen summary %s: %w", f.path, err)
	}
	f.w = w
	f.log.WithFields(logrus.Fields{"file": f.path, "size": st.Size()}).Debug("summary rewritten")
	return nil
}

// failed handles an edit that did not become durable: the file is cut back to the previous edit
// (the state never changed), so that a full disk only fails this edit and the next can succeed.
func (f *File) failed(op string, size int64, err error) error {
	if rerr := f.w.Rewind(size); rerr != nil {
		f.log.WithError(rerr).WithField("file", f.path).Error("summary: cannot cut off a failed edit")
	}
	return fmt.Errorf("%s summary %s: %w", op, f.path, err)
}

// TornTail returns the damaged tail that Open truncated, or nil if the log ended cleanly.
func (f *File) TornTail() *recordfile.TornTailError { return f.torn }

// DeletedByLog reports whether an edit of the log (since its last rewrite) removed file id.
func (f *File) DeletedByLog(id uint64) bool { return f.deleted[id] }

// Create replaces the summary at path with one snapshot edit of st (tmp file, fsync, rename) and
// opens it for appending: recovery's way to rebuild a damaged summary from the TSM files.
func Create(path string, st *State, log logrus.FieldLogger) (*File, error) {
	if log == nil {
		log = logrus.StandardLogger()
	}
	if err := recordfile.WriteFileAtomic(path, Magic, [][]byte{st.Snapshot().Marshal(nil)}); err != nil {
		return nil, fmt.Errorf("create summary %s: %w", path, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("create summary %s: %w", path, err)
	}
	w, err := recordfile.OpenAppend(path, Magic, fi.Size())
	if err != nil {
		return nil, fmt.Errorf("open summary %s: %w", path, err)
	}
	return &File{path: path, w: w, state: st.Clone(), rewriteSize: DefaultRewriteSize, log: log, deleted: map[uint64]bool{}}, nil
}

// State returns a copy of the current state.
func (f *File) State() *State { return f.state.Clone() }

// SetRewriteSize changes the rewrite threshold (tests use small values).
func (f *File) SetRewriteSize(n int64) { f.rewriteSize = n }

// Close closes the file.
func (f *File) Close() error {
	if f.w == nil {
		return nil
	}
	err := f.w.Close()
	f.w = nil
	return err
}
