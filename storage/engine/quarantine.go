package engine

import (
	"errors"
	"fmt"
	"os"

	"github.com/sirupsen/logrus"

	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/layout"
	"github.com/chronogo/chronogo/storage/summary"
)

// Damaged TSM files are quarantined: renamed to <name>.bad (InfluxDB's convention), dropped from
// the summary and logged at error level with the file, offset and reason. The rest of the vnode
// stays readable. Files are checked when the vnode opens them (header, index, footer) and block by
// block when a read or a compaction decodes them; a read that meets damage fails with the
// *storage.CorruptionError, and the reads after it no longer see the file.

// quarantine renames a damaged TSM file to <name>.bad and logs why.
func (v *Vnode) quarantine(path string, reason error) error {
	fields := logrus.Fields{"file": path, "reason": reason, "moved_to": path + layout.BadExt}
	var corrupt *storage.CorruptionError
	if errors.As(reason, &corrupt) {
		fields["offset"] = corrupt.Offset
	}
	v.log.WithFields(fields).Error("tsm file is damaged: quarantined, its points are not readable")
	if err := os.Rename(path, path+layout.BadExt); err != nil {
		return fmt.Errorf("quarantine %s: %w", path, err)
	}
	return nil
}

// QuarantineFile takes the live TSM file at path out of the vnode because of reason: it is renamed
// to .bad first (so no later open removes it as a leftover), then deleted from the summary.
// Readers that hold it keep reading their open descriptor. It reports false when path is not a
// live file (already quarantined, or compacted away).
func (v *Vnode) QuarantineFile(path string, reason error) (bool, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.quarantineLocked(path, reason)
}

func (v *Vnode) quarantineLocked(path string, reason error) (bool, error) {
	if v.closed {
		return false, ErrClosed
	}
	var h *fileHandle
	for _, f := range v.cur.files {
		if f.path == path {
			h = f
		}
	}
	if h == nil {
		return false, nil
	}
	if err := v.quarantine(path, reason); err != nil {
		return false, err
	}
	h.bad.Store(true) // not removed when its last reader lets go
	if err := v.installLocked(&summary.VersionEdit{DelFiles: []uint64{h.meta.ID}}, nil); err != nil {
		return false, fmt.Errorf("quarantine %s: %w", path, err)
	}
	return true, nil
}

// noticeDamage quarantines the file of a corruption error met while reading s, so that the reads
// after this one see the rest of the vnode; it returns err.
func (s *Snapshot) noticeDamage(err error) error {
	var ce *storage.CorruptionError
	if s.owner == nil || !errors.As(err, &ce) {
		return err
	}
	if _, qerr := s.owner.QuarantineFile(ce.Path, err); qerr != nil && !errors.Is(qerr, ErrClosed) {
		s.owner.log.WithError(qerr).WithField("file", ce.Path).Error("cannot quarantine damaged tsm file")
	}
	return err
}
