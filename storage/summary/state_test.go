package summary_test

import (
	"fmt"
	"maps"
	"math"
	"math/rand"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/summary"
)

// model is an independent fold of edits, written from the documented rules.
type model struct {
	files      map[uint64]summary.FileMeta
	tombs      map[uint64]summary.Tombstone
	flushed    uint64
	nextFileID uint64
	maxSeq     uint64
	expired    int64
}

func newModel() *model {
	return &model{files: map[uint64]summary.FileMeta{}, tombs: map[uint64]summary.Tombstone{}, nextFileID: 1, expired: math.MinInt64}
}

func (m *model) clone() *model {
	c := *m
	c.files, c.tombs = maps.Clone(m.files), maps.Clone(m.tombs)
	return &c
}

// apply reports whether e is valid for m and, if so, applies it.
func (m *model) apply(e *summary.VersionEdit) bool {
	after := maps.Clone(m.files)
	for _, id := range e.DelFiles {
		if _, ok := after[id]; !ok {
			return false // unknown, or deleted twice in one edit
		}
		delete(after, id)
	}
	for _, f := range e.AddFiles {
		if _, ok := after[f.ID]; ok {
			return false // live, or added twice in one edit
		}
		after[f.ID] = f
	}
	tafter := maps.Clone(m.tombs)
	for _, id := range e.DelTombstones {
		if _, ok := tafter[id]; !ok {
			return false
		}
		delete(tafter, id)
	}
	for _, t := range e.AddTombstones {
		tafter[t.ID] = t
	}
	m.files, m.tombs = after, tafter
	m.flushed = max(m.flushed, e.FlushedSeq)
	m.nextFileID = max(m.nextFileID, e.NextFileID)
	for id := range m.files {
		m.nextFileID = max(m.nextFileID, id+1)
	}
	m.maxSeq = max(m.maxSeq, e.MaxSeq, m.flushed)
	for _, t := range e.AddTombstones {
		m.maxSeq = max(m.maxSeq, t.Seq)
	}
	if e.ExpiredBefore != 0 {
		m.expired = max(m.expired, e.ExpiredBefore)
	}
	return true
}

func normTombs(in map[uint64]summary.Tombstone) map[uint64]summary.Tombstone {
	out := map[uint64]summary.Tombstone{}
	for id, t := range in {
		if len(t.Series) == 0 {
			t.Series = nil
		}
		out[id] = t
	}
	return out
}

func (m *model) requireEqual(t *testing.T, s *summary.State, msg string) {
	t.Helper()
	require.Equal(t, m.files, s.Files, msg)
	require.Equal(t, normTombs(m.tombs), normTombs(s.Tombstones), msg)
	require.Equal(t, [4]uint64{m.flushed, m.nextFileID, m.maxSeq, uint64(m.expired)},
		[4]uint64{s.FlushedSeq, s.NextFileID, s.MaxSeq, uint64(s.ExpiredBefore)}, msg)
}

// genStateEdit makes a random edit against m: usually valid (flush, compaction, tombstones, expiry),
// sometimes deliberately invalid.
func genStateEdit(r *rand.Rand, m *model) *summary.VersionEdit {
	e := &summary.VersionEdit{}
	live := slices.Sorted(maps.Keys(m.files))
	tombs := slices.Sorted(maps.Keys(m.tombs))
	newFile := func() summary.FileMeta {
		lo := r.Int63n(1000) - 500
		s := uint64(r.Intn(1000))
		f := summary.FileMeta{ID: m.nextFileID + uint64(r.Intn(3)), Level: uint8(r.Intn(summary.MaxLevel + 1)), Size: r.Int63n(1 << 20),
			MinTime: lo, MaxTime: lo + r.Int63n(100), MinSeq: s, MaxSeq: s + uint64(r.Intn(50))}
		return f
	}
	switch r.Intn(7) {
	case 0: // flush
		f := newFile()
		e.AddFiles = []summary.FileMeta{f}
		e.FlushedSeq = m.flushed + uint64(r.Intn(10))
		e.NextFileID = f.ID + 1
	case 1: // compaction
		for _, id := range live {
			if r.Intn(2) == 0 {
				e.DelFiles = append(e.DelFiles, id)
			}
		}
		if len(e.DelFiles) > 0 {
			e.AddFiles = []summary.FileMeta{newFile()}
			if r.Intn(4) == 0 { // replace a file in place: delete and add the same id
				f := m.files[e.DelFiles[0]]
				f.Level = min(f.Level+1, summary.MaxLevel)
				e.AddFiles = append(e.AddFiles, f)
			}
		}
	case 2: // tombstone
		ts := summary.Tombstone{ID: uint64(r.Intn(20)), MinTime: r.Int63n(100), Version: uint64(r.Intn(5)), Seq: m.maxSeq + 1}
		ts.MaxTime = ts.MinTime + r.Int63n(100)
		for range r.Intn(4) {
			ts.Series = append(ts.Series, storage.SeriesID(r.Intn(100)))
		}
		slices.Sort(ts.Series)
		ts.Series = slices.Compact(ts.Series)
		if r.Intn(3) == 0 { // a rename tombstone: the state keeps its target, the snapshot rewrites it
			k := storage.SeriesKey{Table: "t", Tags: []storage.Tag{{Key: "k", Value: storage.StringTag(strconv.Itoa(r.Intn(10)))}}}
			ts.Target = k.Marshal(nil)
		}
		e.AddTombstones = []summary.Tombstone{ts}
		e.MaxSeq = ts.Seq
	case 3: // drop a tombstone, expire
		if len(tombs) > 0 {
			e.DelTombstones = []uint64{tombs[r.Intn(len(tombs))]}
		}
		e.ExpiredBefore = r.Int63n(200) - 100
	case 4: // invalid: delete an unknown file (with other valid-looking changes)
		e.DelFiles = []uint64{1000 + uint64(r.Intn(5))}
		e.FlushedSeq = m.flushed + 5
		e.AddFiles = []summary.FileMeta{newFile()}
	case 5: // invalid: add a live file, or the same file twice
		if len(live) > 0 && r.Intn(2) == 0 {
			e.AddFiles = []summary.FileMeta{m.files[live[r.Intn(len(live))]]}
		} else {
			f := newFile()
			e.AddFiles = []summary.FileMeta{f, f}
		}
		e.MaxSeq = m.maxSeq + 100
	case 6: // invalid: delete an unknown tombstone
		e.DelTombstones = []uint64{100 + uint64(r.Intn(5))}
		e.ExpiredBefore = math.MaxInt64
	}
	return e
}

func TestStateApplyRules(t *testing.T) {
	s := summary.NewState()
	require.Empty(t, s.Files)
	require.Empty(t, s.Tombstones)
	require.Equal(t, uint64(1), s.NextFileID)
	require.Equal(t, int64(math.MinInt64), s.ExpiredBefore)

	f1 := summary.FileMeta{ID: 1, Level: 0, Size: 10, MinTime: 0, MaxTime: 9, MinSeq: 1, MaxSeq: 5}
	f2 := summary.FileMeta{ID: 5, Level: 1, Size: 10, MinTime: 0, MaxTime: 9, MinSeq: 1, MaxSeq: 5}
	require.NoError(t, s.Apply(&summary.VersionEdit{AddFiles: []summary.FileMeta{f1, f2}, FlushedSeq: 5}))
	require.Equal(t, uint64(6), s.NextFileID, "next file id passes the highest file")
	require.Equal(t, uint64(5), s.MaxSeq, "max seq covers flushed seq")
	before := s.Clone()

	for name, e := range map[string]*summary.VersionEdit{
		"delete unknown file":      {DelFiles: []uint64{2}, FlushedSeq: 100},
		"add live file":            {AddFiles: []summary.FileMeta{f1}, NextFileID: 100},
		"add twice in one edit":    {AddFiles: []summary.FileMeta{{ID: 9}, {ID: 9}}, ExpiredBefore: 5},
		"delete unknown tombstone": {DelTombstones: []uint64{1}, AddFiles: []summary.FileMeta{{ID: 20}}},
		"valid part then invalid": {AddFiles: []summary.FileMeta{{ID: 30}}, DelFiles: []uint64{1, 31},
			AddTombstones: []summary.Tombstone{{ID: 1, Seq: 1000}}},
	} {
		err := s.Apply(e)
		require.Error(t, err, name)
		require.Equal(t, before, s, "%s: state unchanged", name)
	}

	// Delete and re-add the same id in one edit replaces the file.
	f1b := f1
	f1b.Level = 2
	require.NoError(t, s.Apply(&summary.VersionEdit{DelFiles: []uint64{1}, AddFiles: []summary.FileMeta{f1b}}))
	require.Equal(t, f1b, s.Files[1])

	// Counters only grow; ExpiredBefore 0 means unchanged.
	require.NoError(t, s.Apply(&summary.VersionEdit{FlushedSeq: 3, NextFileID: 2, MaxSeq: 1, ExpiredBefore: 50}))
	require.Equal(t, [3]uint64{5, 6, 5}, [3]uint64{s.FlushedSeq, s.NextFileID, s.MaxSeq})
	require.Equal(t, int64(50), s.ExpiredBefore)
	require.NoError(t, s.Apply(&summary.VersionEdit{ExpiredBefore: 40}))
	require.Equal(t, int64(50), s.ExpiredBefore)
	require.NoError(t, s.Apply(&summary.VersionEdit{}))
	require.Equal(t, int64(50), s.ExpiredBefore)

	// A tombstone's seq raises MaxSeq.
	require.NoError(t, s.Apply(&summary.VersionEdit{AddTombstones: []summary.Tombstone{{ID: 3, Seq: 77}}}))
	require.Equal(t, uint64(77), s.MaxSeq)
	require.NoError(t, s.Apply(&summary.VersionEdit{DelTombstones: []uint64{3}}))
	require.Empty(t, s.Tombstones)

	// Clone is independent.
	c := s.Clone()
	delete(c.Files, 1)
	require.Contains(t, s.Files, uint64(1))
}

func TestStateModelAndSnapshot(t *testing.T) {
	r := rand.New(rand.NewSource(21))
	for run := range 30 {
		s, m := summary.NewState(), newModel()
		var edits []*summary.VersionEdit
		for step := range 60 {
			e := genStateEdit(r, m)
			before := s.Clone()
			valid := m.clone().apply(e)
			err := s.Apply(e)
			msg := fmt.Sprintf("run %d step %d edit %+v", run, step, e)
			if valid {
				require.NoError(t, err, msg)
				m.apply(e)
				edits = append(edits, e)
			} else {
				require.Error(t, err, msg)
				require.Equal(t, before, s, msg)
			}
			m.requireEqual(t, s, msg)

			// The snapshot, applied to an empty state (also after an encoding round trip), reproduces s.
			snap := s.Snapshot()
			fresh := summary.NewState()
			require.NoError(t, fresh.Apply(snap), msg)
			require.Equal(t, s, fresh, msg)
			dec, err := summary.UnmarshalVersionEdit(snap.Marshal(nil))
			require.NoError(t, err)
			fresh2 := summary.NewState()
			require.NoError(t, fresh2.Apply(dec))
			m.requireEqual(t, fresh2, msg)
			require.Equal(t, snap.Marshal(nil), fresh.Snapshot().Marshal(nil), msg)
		}
		// Determinism: replaying the same edits gives byte-identical snapshots.
		again := summary.NewState()
		for _, e := range edits {
			require.NoError(t, again.Apply(e))
		}
		require.Equal(t, s.Snapshot().Marshal(nil), again.Snapshot().Marshal(nil))
	}
}

func TestSnapshotOrder(t *testing.T) {
	s := summary.NewState()
	require.NoError(t, s.Apply(&summary.VersionEdit{
		AddFiles:      []summary.FileMeta{{ID: 9}, {ID: 2}, {ID: 5}},
		AddTombstones: []summary.Tombstone{{ID: 8}, {ID: 1}},
	}))
	snap := s.Snapshot()
	var ids []uint64
	for _, f := range snap.AddFiles {
		ids = append(ids, f.ID)
	}
	require.Equal(t, []uint64{2, 5, 9}, ids)
	require.Equal(t, uint64(1), snap.AddTombstones[0].ID)
	require.Equal(t, uint64(8), snap.AddTombstones[1].ID)
	require.Equal(t, uint64(10), snap.NextFileID)
	require.Equal(t, int64(math.MinInt64), snap.ExpiredBefore)
}
