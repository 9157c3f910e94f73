package summary

import (
	"fmt"
	"maps"
	"math"
	"slices"
)

// State is the fold of every edit: the live files and the counters recovery needs.
type State struct {
	Files         map[uint64]FileMeta
	FlushedSeq    uint64
	NextFileID    uint64
	MaxSeq        uint64
	ExpiredBefore int64 // points older than this are expired; math.MinInt64 when none
	Tombstones    map[uint64]Tombstone
	// TableDeletes is the newest whole-table delete of each table (TableDelete.Version).
	TableDeletes map[string]uint64
}

// NewState returns the state of an empty vnode.
func NewState() *State {
	return &State{Files: map[uint64]FileMeta{}, Tombstones: map[uint64]Tombstone{}, NextFileID: 1, ExpiredBefore: math.MinInt64}
}

// Apply folds e into s. An edit that contradicts the state (adding a live file, removing an unknown
// one) is an error and leaves s unchanged.
func (s *State) Apply(e *VersionEdit) error {
	for _, id := range e.DelFiles {
		if _, ok := s.Files[id]; !ok {
			return fmt.Errorf("apply edit: delete of unknown file %d", id)
		}
	}
	for i, f := range e.AddFiles {
		if _, ok := s.Files[f.ID]; ok && !slices.Contains(e.DelFiles, f.ID) {
			return fmt.Errorf("apply edit: file %d added twice", f.ID)
		}
		for _, g := range e.AddFiles[:i] {
			if g.ID == f.ID {
				return fmt.Errorf("apply edit: file %d added twice", f.ID)
			}
		}
	}
	for _, id := range e.DelTombstones {
		if _, ok := s.Tombstones[id]; !ok {
			return fmt.Errorf("apply edit: delete of unknown tombstone %d", id)
		}
	}
	for _, id := range e.DelFiles {
		delete(s.Files, id)
	}
	for _, f := range e.AddFiles {
		s.Files[f.ID] = f
		if f.ID >= s.NextFileID {
			s.NextFileID = f.ID + 1
		}
	}
	for _, id := range e.DelTombstones {
		delete(s.Tombstones, id)
	}
	for _, t := range e.AddTombstones {
		s.Tombstones[t.ID] = t
		s.MaxSeq = max(s.MaxSeq, t.Seq)
	}
	s.FlushedSeq = max(s.FlushedSeq, e.FlushedSeq)
	s.NextFileID = max(s.NextFileID, e.NextFileID)
	s.MaxSeq = max(s.MaxSeq, e.MaxSeq, s.FlushedSeq)
	if e.ExpiredBefore != 0 {
		s.ExpiredBefore = max(s.ExpiredBefore, e.ExpiredBefore)
	}
	for _, t := range e.TableDeletes {
		if s.TableDeletes == nil {
			s.TableDeletes = map[string]uint64{}
		}
		s.TableDeletes[t.Table] = max(s.TableDeletes[t.Table], t.Version)
	}
	return nil
}

// Snapshot returns one edit that, applied to an empty state, reproduces s. Files and tombstones are
// in id order so the encoding is deterministic.
func (s *State) Snapshot() *VersionEdit {
	e := &VersionEdit{FlushedSeq: s.FlushedSeq, NextFileID: s.NextFileID, MaxSeq: s.MaxSeq, ExpiredBefore: s.ExpiredBefore}
	for _, id := range slices.Sorted(maps.Keys(s.Files)) {
		e.AddFiles = append(e.AddFiles, s.Files[id])
	}
	for _, id := range slices.Sorted(maps.Keys(s.Tombstones)) {
		e.AddTombstones = append(e.AddTombstones, s.Tombstones[id])
	}
	for _, table := range slices.Sorted(maps.Keys(s.TableDeletes)) {
		e.TableDeletes = append(e.TableDeletes, TableDelete{Table: table, Version: s.TableDeletes[table]})
	}
	return e
}

// Clone returns a deep copy of the maps (tombstone series lists are shared: they are immutable).
func (s *State) Clone() *State {
	c := *s
	c.Files = maps.Clone(s.Files)
	c.Tombstones = maps.Clone(s.Tombstones)
	c.TableDeletes = maps.Clone(s.TableDeletes)
	return &c
}
