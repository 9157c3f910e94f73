package summary_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand"
	"reflect"
	"slices"
	"testing"
	"testing/quick"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/summary"
)

// normEdit makes nil and empty slices compare equal.
func normEdit(e *summary.VersionEdit) summary.VersionEdit {
	c := *e
	if len(c.AddFiles) == 0 {
		c.AddFiles = nil
	}
	if len(c.DelFiles) == 0 {
		c.DelFiles = nil
	}
	if len(c.DelTombstones) == 0 {
		c.DelTombstones = nil
	}
	if len(c.TableDeletes) == 0 {
		c.TableDeletes = nil
	}
	c.AddTombstones = nil
	for _, t := range e.AddTombstones {
		if len(t.Series) == 0 {
			t.Series = nil
		}
		c.AddTombstones = append(c.AddTombstones, t)
	}
	return c
}

func editCases() map[string]*summary.VersionEdit {
	return map[string]*summary.VersionEdit{
		"empty": {},
		"flush": {
			AddFiles:   []summary.FileMeta{{ID: 7, Level: 0, Size: 4096, MinTime: -5, MaxTime: 1 << 50, MinSeq: 3, MaxSeq: 90}},
			FlushedSeq: 90, NextFileID: 8, MaxSeq: 91,
		},
		"compaction": {
			AddFiles: []summary.FileMeta{
				{ID: 12, Level: 2, Size: math.MaxInt64, MinTime: math.MinInt64, MaxTime: math.MaxInt64, MinSeq: 0, MaxSeq: math.MaxUint64},
				{ID: 13, Level: summary.MaxLevel, Size: 0, MinTime: 0, MaxTime: 0, MinSeq: 5, MaxSeq: 5},
			},
			DelFiles: []uint64{1, 2, 3, math.MaxUint64},
		},
		"tombstones": {
			AddTombstones: []summary.Tombstone{
				{ID: 1, Series: []storage.SeriesID{0, 1, 1 << 40, math.MaxUint64}, MinTime: -10, MaxTime: 10, Version: 3, Seq: 4},
				{ID: 2, MinTime: math.MinInt64, MaxTime: math.MaxInt64, Version: math.MaxUint64, Seq: 0},
			},
			DelTombstones: []uint64{9},
			MaxSeq:        4,
		},
		"table deletes": {
			TableDeletes: []summary.TableDelete{{Table: "cpu", Version: 1 << 50}, {Table: "m$out.00000000000000ab", Version: 1}},
		},
		"rename tombstone": {
			AddTombstones: []summary.Tombstone{
				{ID: 3, Series: []storage.SeriesID{1 << 40}, MinTime: math.MinInt64, MaxTime: math.MaxInt64, Version: 9, Seq: 12, Target: renameTarget()},
				{ID: 4, Series: []storage.SeriesID{7}, MinTime: -1, MaxTime: 1, Version: 2, Seq: 1},
			},
			MaxSeq: 12,
		},
		"expiry":     {ExpiredBefore: -1},
		"expiry min": {ExpiredBefore: math.MinInt64},
		"all": {
			AddFiles:      []summary.FileMeta{{ID: 1, Level: 1, Size: 1, MinTime: 1, MaxTime: 2, MinSeq: 1, MaxSeq: 2}},
			DelFiles:      []uint64{0},
			FlushedSeq:    1,
			NextFileID:    2,
			MaxSeq:        3,
			ExpiredBefore: 1e18,
			AddTombstones: []summary.Tombstone{{ID: 5, Series: []storage.SeriesID{42}, MinTime: 1, MaxTime: 1, Version: 1, Seq: 1}},
			DelTombstones: []uint64{4, 3},
		},
	}
}

// renameTarget is the encoded key cpu{host: "b"} (hand-encoded, see storage.SeriesKey.Marshal).
func renameTarget() []byte {
	return []byte{3, 'c', 'p', 'u', 1, 4, 'h', 'o', 's', 't', byte(storage.TypeString), 1, 'b'}
}

func TestVersionEditRoundTripTable(t *testing.T) {
	for name, e := range editCases() {
		t.Run(name, func(t *testing.T) {
			enc := e.Marshal(nil)
			got, err := summary.UnmarshalVersionEdit(enc)
			require.NoError(t, err)
			require.Equal(t, normEdit(e), normEdit(got))
			require.Equal(t, enc, got.Marshal(nil))
			require.Equal(t, append([]byte{0xaa}, enc...), e.Marshal([]byte{0xaa}), "Marshal appends")
		})
	}
}

// TestVersionEditLayout checks the bytes against a hand-written encoding (docs/format/summary.md).
func TestVersionEditLayout(t *testing.T) {
	e := &summary.VersionEdit{
		AddFiles:      []summary.FileMeta{{ID: 3, Level: 1, Size: 200, MinTime: -1, MaxTime: 64, MinSeq: 1, MaxSeq: 2}},
		DelFiles:      []uint64{2},
		FlushedSeq:    5,
		NextFileID:    4,
		MaxSeq:        6,
		ExpiredBefore: -2,
		AddTombstones: []summary.Tombstone{{ID: 1, Series: []storage.SeriesID{10, 12}, MinTime: 0, MaxTime: 3, Version: 7, Seq: 6}},
		DelTombstones: []uint64{0},
	}
	want := []byte{
		1, 3, 1, 0xc8, 0x01, 0x01, 0x80, 0x01, 1, 2, // add file: id, level, size 200, zigzag(-1)=1, zigzag(64)=128, seqs
		2, 2, // del file 2
		3, 5, // flushed seq
		4, 4, // next file id
		5, 6, // max seq
		6, 3, // expired before zigzag(-2)=3
		7, 1, 0, 6, 7, 6, 2, 10, 2, // tombstone: id, min 0, max zigzag(3)=6, version, seq, n=2, deltas 10, 2
		8, 0, // del tombstone 0
	}
	require.Equal(t, want, e.Marshal(nil))
	// Decoding accepts items in any order.
	shuffled := []byte{8, 0, 6, 3, 5, 6, 7, 1, 0, 6, 7, 6, 2, 10, 2, 4, 4, 2, 2, 3, 5, 1, 3, 1, 0xc8, 0x01, 0x01, 0x80, 0x01, 1, 2}
	got, err := summary.UnmarshalVersionEdit(shuffled)
	require.NoError(t, err)
	require.Equal(t, normEdit(e), normEdit(got))
}

// TestVersionEditRenameLayout pins the bytes of tag 9 (add rename tombstone).
func TestVersionEditRenameLayout(t *testing.T) {
	e := &summary.VersionEdit{AddTombstones: []summary.Tombstone{
		{ID: 2, Series: []storage.SeriesID{5}, MinTime: math.MinInt64, MaxTime: math.MaxInt64, Version: 7, Seq: 9, Target: renameTarget()}}}
	want := cat(
		[]byte{9, 2},                            // tag, id
		binary.AppendVarint(nil, math.MinInt64), // min time
		binary.AppendVarint(nil, math.MaxInt64), // max time
		[]byte{7, 9, 1, 5},                      // version, seq, n=1, series 5
		[]byte{13},                              // target key length
		renameTarget(),
	)
	require.Equal(t, want, e.Marshal(nil))
	got, err := summary.UnmarshalVersionEdit(want)
	require.NoError(t, err)
	require.True(t, got.AddTombstones[0].IsRename())
	require.Equal(t, renameTarget(), got.AddTombstones[0].Target)
	// The decoded target does not alias the input buffer.
	want[len(want)-1] = 'x'
	require.Equal(t, byte('b'), got.AddTombstones[0].Target[12])
}

type randEdit struct{ E *summary.VersionEdit }

func genEdit(r *rand.Rand) *summary.VersionEdit {
	e := &summary.VersionEdit{}
	u := func() uint64 { return r.Uint64() >> uint(r.Intn(64)) }
	i := func() int64 { return int64(r.Uint64()) >> uint(r.Intn(64)) }
	for range r.Intn(4) {
		f := summary.FileMeta{ID: u(), Level: uint8(r.Intn(summary.MaxLevel + 1)), Size: int64(u() >> 1), MinTime: i(), MaxTime: i(), MinSeq: u(), MaxSeq: u()}
		if f.MinTime > f.MaxTime {
			f.MinTime, f.MaxTime = f.MaxTime, f.MinTime
		}
		if f.MinSeq > f.MaxSeq {
			f.MinSeq, f.MaxSeq = f.MaxSeq, f.MinSeq
		}
		e.AddFiles = append(e.AddFiles, f)
	}
	for range r.Intn(4) {
		e.DelFiles = append(e.DelFiles, u())
	}
	if r.Intn(2) == 0 {
		e.FlushedSeq = u()
	}
	if r.Intn(2) == 0 {
		e.NextFileID = u()
	}
	if r.Intn(2) == 0 {
		e.MaxSeq = u()
	}
	if r.Intn(2) == 0 {
		e.ExpiredBefore = i()
	}
	for range r.Intn(3) {
		t := summary.Tombstone{ID: u(), MinTime: i(), MaxTime: i(), Version: u(), Seq: u()}
		for range r.Intn(6) {
			t.Series = append(t.Series, storage.SeriesID(u()))
		}
		slices.Sort(t.Series)
		t.Series = slices.Compact(t.Series)
		if r.Intn(3) == 0 {
			k := storage.SeriesKey{Table: fmt.Sprintf("t%d", r.Intn(100)), Tags: []storage.Tag{{Key: "host", Value: storage.StringTag(fmt.Sprint(u()))}}}
			t.Target = k.Marshal(nil)
		}
		e.AddTombstones = append(e.AddTombstones, t)
	}
	for range r.Intn(3) {
		e.DelTombstones = append(e.DelTombstones, u())
	}
	return e
}

func (randEdit) Generate(r *rand.Rand, _ int) reflect.Value {
	return reflect.ValueOf(randEdit{genEdit(r)})
}

func TestVersionEditRoundTripQuick(t *testing.T) {
	f := func(re randEdit) bool {
		enc := re.E.Marshal(nil)
		got, err := summary.UnmarshalVersionEdit(enc)
		return err == nil && reflect.DeepEqual(normEdit(re.E), normEdit(got)) && bytes.Equal(enc, got.Marshal(nil))
	}
	require.NoError(t, quick.Check(f, &quick.Config{MaxCount: 1000, Rand: rand.New(rand.NewSource(20))}))
}

func uv(v uint64) []byte { return binary.AppendUvarint(nil, v) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func editErrorCases() map[string][]byte {
	file := func(level byte, size uint64, minT, maxT int64, minS, maxS uint64) []byte {
		return cat([]byte{1, 9, level}, uv(size), binary.AppendVarint(nil, minT), binary.AppendVarint(nil, maxT), uv(minS), uv(maxS))
	}
	return map[string][]byte{
		"unknown tag 0":          {0},
		"unknown tag 11":         {11, 1},
		"table delete no name":   {10, 0, 1},
		"table delete past end":  {10, 5, 'c', 'p', 'u'},
		"table delete truncated": {10, 3, 'c', 'p', 'u'},
		"unknown tag 0xff":       {0xff},
		"tag without payload":    {3},
		"add file truncated":     file(1, 1, 1, 2, 1, 2)[:5],
		"level too high":         file(summary.MaxLevel+1, 1, 1, 2, 1, 2),
		"size over MaxInt64":     file(1, 1<<63, 1, 2, 1, 2),
		"min time after max":     file(1, 1, 3, 2, 1, 2),
		"min seq after max":      file(1, 1, 1, 2, 3, 2),
		"repeated flushed seq":   {3, 1, 3, 2},
		"repeated next file id":  {4, 1, 4, 1},
		"repeated max seq":       {5, 1, 1, 1, 1, 1, 1, 1, 1, 5, 0},
		"repeated expiry":        {6, 2, 6, 2},
		"uvarint overflow":       cat([]byte{2}, bytes.Repeat([]byte{0xff}, 10), []byte{1}),
		"varint truncated":       {6, 0x80},
		"tombstone count large":  {7, 1, 0, 0, 1, 1, 100, 1, 2},
		"tombstone dup series":   {7, 1, 0, 0, 1, 1, 3, 1, 0, 1},
		"tombstone series wraps": cat([]byte{7, 1, 0, 0, 1, 1, 2}, uv(math.MaxUint64), uv(2)),
		"tombstone truncated":    {7, 1, 0, 0, 1},
		"del tombstone no id":    {8},
		"rename no target":       {9, 1, 0, 0, 1, 1, 1, 5},
		"rename empty target":    {9, 1, 0, 0, 1, 1, 1, 5, 0},
		"rename target past end": cat([]byte{9, 1, 0, 0, 1, 1, 1, 5, 14}, renameTarget()),
		"rename target too long": cat([]byte{9, 1, 0, 0, 1, 1, 1, 5}, uv(storage.MaxSeriesKeyLen+1), make([]byte, storage.MaxSeriesKeyLen+1)),
		"rename target garbage":  {9, 1, 0, 0, 1, 1, 1, 5, 3, 9, 'a', 'b'},
		"rename target trailing": cat([]byte{9, 1, 0, 0, 1, 1, 1, 5, 14}, renameTarget(), []byte{0}),
	}
}

func TestUnmarshalVersionEditErrors(t *testing.T) {
	for name, b := range editErrorCases() {
		t.Run(name, func(t *testing.T) {
			_, err := summary.UnmarshalVersionEdit(b)
			require.Error(t, err)
			require.Contains(t, err.Error(), "decode version edit at byte")
		})
	}
	// An edit of one item: every strict non-empty prefix is cut inside it.
	for _, e := range []*summary.VersionEdit{
		{AddFiles: []summary.FileMeta{{ID: 1000, Level: 3, Size: 1 << 30, MinTime: -1 << 40, MaxTime: 1 << 40, MinSeq: 300, MaxSeq: 1 << 33}}},
		{AddTombstones: []summary.Tombstone{{ID: 300, Series: []storage.SeriesID{1, 1 << 50}, MinTime: -300, MaxTime: 300, Version: 1 << 40, Seq: 999}}},
		{ExpiredBefore: 1 << 60},
		{AddTombstones: []summary.Tombstone{{ID: 3, Series: []storage.SeriesID{9}, MinTime: -3, MaxTime: 3, Version: 4, Seq: 5, Target: renameTarget()}}},
	} {
		enc := e.Marshal(nil)
		for i := 1; i < len(enc); i++ {
			_, err := summary.UnmarshalVersionEdit(enc[:i])
			require.Error(t, err, "prefix %d of %x", i, enc)
		}
	}
}

// TestTableDeleteLayout pins tag 10's bytes and the fold: the newest version of a table wins, and
// a snapshot keeps it.
func TestTableDeleteLayout(t *testing.T) {
	e := &summary.VersionEdit{TableDeletes: []summary.TableDelete{{Table: "cpu", Version: 300}}}
	require.Equal(t, []byte{10, 3, 'c', 'p', 'u', 0xac, 0x02}, e.Marshal(nil))
	s := summary.NewState()
	require.NoError(t, s.Apply(e))
	require.NoError(t, s.Apply(&summary.VersionEdit{TableDeletes: []summary.TableDelete{{Table: "cpu", Version: 200}, {Table: "mem", Version: 5}}}))
	require.Equal(t, map[string]uint64{"cpu": 300, "mem": 5}, s.TableDeletes)
	again := summary.NewState()
	require.NoError(t, again.Apply(s.Snapshot()))
	require.Equal(t, s.TableDeletes, again.TableDeletes)
	require.Equal(t, s.Snapshot().Marshal(nil), again.Snapshot().Marshal(nil), "deterministic snapshot")
}

func FuzzDecodeVersionEdit(f *testing.F) {
	for _, e := range editCases() {
		f.Add(e.Marshal(nil))
	}
	for _, b := range editErrorCases() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := summary.UnmarshalVersionEdit(b)
		if err != nil {
			return
		}
		for _, fm := range e.AddFiles {
			require.LessOrEqual(t, fm.Level, uint8(summary.MaxLevel))
			require.LessOrEqual(t, fm.MinTime, fm.MaxTime)
			require.LessOrEqual(t, fm.MinSeq, fm.MaxSeq)
			require.GreaterOrEqual(t, fm.Size, int64(0))
		}
		for _, ts := range e.AddTombstones {
			for i := 1; i < len(ts.Series); i++ {
				require.Less(t, ts.Series[i-1], ts.Series[i])
			}
			if ts.IsRename() {
				_, err := storage.UnmarshalSeriesKey(ts.Target)
				require.NoError(t, err)
			}
		}
		// Items may come in any order and zero scalars may be explicit, so compare after one round trip.
		enc := e.Marshal(nil)
		e2, err := summary.UnmarshalVersionEdit(enc)
		require.NoError(t, err)
		require.Equal(t, normEdit(e), normEdit(e2))
		require.Equal(t, enc, e2.Marshal(nil))
	})
}

func TestTombstone(t *testing.T) {
	ts := summary.Tombstone{ID: 1, Series: []storage.SeriesID{2, 5, 9}, MinTime: 10, MaxTime: 20, Version: 3, Seq: 7}
	for _, c := range []struct {
		s          storage.SeriesID
		t          int64
		v, q       uint64
		hides      bool
		why        string
		covers, in bool
	}{
		{5, 15, 3, 6, true, "older seq, same version", true, true},
		{5, 15, 2, 100, true, "older version", true, true},
		{5, 15, 3, 7, false, "same (version, seq)", false, true},
		{5, 15, 4, 0, false, "newer version", false, true},
		{5, 10, 0, 0, true, "min time inclusive", true, true},
		{5, 20, 0, 0, true, "max time inclusive", true, true},
		{5, 9, 0, 0, false, "before range", true, true},
		{5, 21, 0, 0, false, "after range", true, true},
		{4, 15, 0, 0, false, "other series", true, false},
		{9, 15, 0, 0, true, "last series", true, true},
	} {
		require.Equal(t, c.hides, ts.Hides(c.s, c.t, c.v, c.q), c.why)
		require.Equal(t, c.covers, ts.Covers(c.v, c.q), c.why)
		require.Equal(t, c.in, ts.HasSeries(c.s), c.why)
	}
}
