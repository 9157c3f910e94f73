package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/sirupsen/logrus"

	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/compaction"
	"github.com/chronogo/chronogo/storage/layout"
	"github.com/chronogo/chronogo/storage/summary"
	"github.com/chronogo/chronogo/storage/tsm"
)

// CompactionJob merges files. StartCompaction picks it (under the vnode lock), Run merges (slow,
// interruptible through its context), FinishCompaction commits the new file set with one version
// edit: a crash at any point leaves either the old or the new file set.
type CompactionJob struct {
	v      *Vnode
	plan   *compaction.Plan
	ver    *version
	id     uint64
	stable uint64
	out    *fileHandle
	prog   compaction.Progress
}

// Progress is how many input points the running job merged, of how many (0 of 0 before Run
// counted them); safe from any goroutine.
func (j *CompactionJob) Progress() (done, total int64) {
	return j.prog.Done.Load(), j.prog.Total.Load()
}

// InputBytes is the size of the files the job merges.
func (j *CompactionJob) InputBytes() int64 {
	var n int64
	for _, m := range j.plan.Inputs {
		n += m.Size
	}
	return n
}

// OutputBytes is the size of the file Run wrote (0 before Run, when it failed, or when every
// point was hidden).
func (j *CompactionJob) OutputBytes() int64 {
	if j.out == nil {
		return 0
	}
	return j.out.meta.Size
}

// CompactionDue reports whether a compaction is due (a level or window past its trigger).
func (v *Vnode) CompactionDue() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return compaction.Pick(v.cur.metas(), v.opts.Compaction) != nil
}

// Plan is the job's plan (for logs and tests).
func (j *CompactionJob) Plan() *compaction.Plan { return j.plan }

// StartCompaction returns the next due compaction (full: merge toward one file per range, then
// rewrite the files that hold points deletes or expiry hide), or nil.
func (v *Vnode) StartCompaction(full bool) *CompactionJob {
	var rewrite *compaction.Plan
	if full {
		rewrite = v.pickRewrite()
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed || v.compacting {
		return nil
	}
	var p *compaction.Plan
	if full {
		p = compaction.PickFull(v.cur.metas(), v.opts.Compaction)
		if p == nil && rewrite != nil && v.cur.hasFiles(rewrite.Inputs) {
			p = rewrite
		}
	} else {
		p = compaction.Pick(v.cur.metas(), v.opts.Compaction)
	}
	if p == nil {
		return nil
	}
	j := &CompactionJob{v: v, plan: p, ver: v.cur.ref(), id: v.nextFileID}
	v.nextFileID++
	if v.opts.StableVersion != nil {
		j.stable = v.opts.StableVersion()
		// Versions may only be collapsed if no cached point of that range can still compete.
		lo, hi := p.TimeRange()
		for _, c := range append(v.immutables, v.mutable) {
			if clo, chi, ok := c.TimeRange(); ok && clo <= hi && chi >= lo && c.MinVersion() <= j.stable {
				j.stable = 0
			}
		}
	}
	v.compacting = true
	return j
}

// pickRewrite is the plan of a rewrite of files that hold points deletes or expiry hide
// (compaction.PickRewrite), chosen from a reference to the current version without the vnode's
// lock: it may read blocks.
func (v *Vnode) pickRewrite() *compaction.Plan {
	v.mu.Lock()
	if v.closed {
		v.mu.Unlock()
		return nil
	}
	cur := v.cur.ref()
	v.mu.Unlock()
	defer cur.unref()
	byID := map[uint64]*fileHandle{}
	for _, h := range cur.files {
		byID[h.meta.ID] = h
	}
	return compaction.PickRewrite(cur.metas(), func(m summary.FileMeta) bool {
		h := byID[m.ID]
		return h != nil && cur.holdsHidden(h)
	})
}

// Run merges the inputs into the output file.
func (j *CompactionJob) Run(ctx context.Context) error {
	inputs := make([]compaction.Input, 0, len(j.plan.Inputs))
	for _, m := range j.plan.Inputs {
		for _, h := range j.ver.files {
			if h.meta.ID == m.ID {
				inputs = append(inputs, compaction.Input{Meta: m, Reader: h.r})
			}
		}
	}
	path := layout.FileName(j.v.dir, j.id, int(j.plan.OutputLevel))
	meta, ok, err := compaction.Run(ctx, j.plan, inputs, compaction.RunOptions{
		ID: j.id, Path: path, StableVersion: j.stable,
		Hide:         func(s storage.SeriesID, t int64, v, q uint64) bool { return j.ver.hide(s, t, v, q) },
		SeriesHidden: j.ver.seriesHidden,
		SeriesKey:    j.v.idx.RawKey,
		Progress:     &j.prog,
	})
	if err != nil || !ok {
		return err
	}
	r, err := tsm.Open(path)
	if err != nil {
		return err
	}
	j.out = &fileHandle{meta: meta, path: path, r: r}
	return nil
}

// FinishCompaction commits a job that Run completed (runErr == nil) or abandons it.
func (v *Vnode) FinishCompaction(j *CompactionJob, runErr error) error {
	defer j.ver.unref()
	v.mu.Lock()
	defer v.mu.Unlock()
	v.compacting = false
	abandon := func() {
		if j.out != nil {
			_ = j.out.r.Close()
			_ = removeFile(j.out.path)
		}
	}
	if runErr != nil {
		abandon()
		var ce *storage.CorruptionError
		if errors.As(runErr, &ce) && !v.closed {
			// a damaged input: take it out, so the next compaction does not meet it again
			if _, qerr := v.quarantineLocked(ce.Path, runErr); qerr != nil {
				v.log.WithError(qerr).WithField("file", ce.Path).Error("cannot quarantine damaged tsm file")
			}
		}
		return fmt.Errorf("compaction: %w", runErr)
	}
	if v.closed {
		abandon()
		return ErrClosed
	}
	edit := &summary.VersionEdit{NextFileID: v.nextFileID}
	for _, m := range j.plan.Inputs {
		edit.DelFiles = append(edit.DelFiles, m.ID)
	}
	var added []*fileHandle
	if j.out != nil {
		edit.AddFiles = []summary.FileMeta{j.out.meta}
		added = append(added, j.out)
	}
	if err := v.installLocked(edit, added); err != nil {
		abandon()
		return fmt.Errorf("compaction: %w", err)
	}
	v.log.WithFields(logrus.Fields{"inputs": len(j.plan.Inputs), "output_level": j.plan.OutputLevel}).Debug("compacted")
	return nil
}

// Compact runs due compactions until none is left (full: until one file per range).
func (v *Vnode) Compact(ctx context.Context, full bool) error {
	for {
		j := v.StartCompaction(full)
		if j == nil {
			return nil
		}
		if err := v.FinishCompaction(j, j.Run(ctx)); err != nil {
			return err
		}
	}
}
