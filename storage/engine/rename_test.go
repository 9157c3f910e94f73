package engine

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/index"
	"github.com/chronogo/chronogo/storage/wal"
)

// hostView scans table and returns "host/field/time" -> value (series keyed by their host tag).
func hostView(t testing.TB, v *Vnode, table string) map[string]string {
	t.Helper()
	s := v.Snapshot()
	defer s.Release()
	out := map[string]string{}
	require.NoError(t, s.Scan(ScanQuery{Table: table, MinTime: minTime, MaxTime: maxTime}, func(c *ScanColumn) error {
		k, ok := s.SeriesKey(c.Series)
		require.True(t, ok)
		host, _ := k.Tag("host")
		for i, ts := range c.Points.Times {
			out[fmt.Sprintf("%s/%s/%d", host.Raw, c.Field, ts)] = valueString(&c.Points.Values, i)
		}
		return nil
	}))
	return out
}

// hostIs matches host == h.
func hostIs(h string) index.Expr {
	return index.Match{Key: "host", Op: index.OpEq, Value: storage.StringTag(h)}
}

// setHost renames every series whose host is in m to host m[host] (others unchanged).
func setHost(m map[string]string) func(storage.SeriesKey) (storage.SeriesKey, bool, error) {
	return func(k storage.SeriesKey) (storage.SeriesKey, bool, error) {
		h, _ := k.Tag("host")
		to, ok := m[string(h.Raw)]
		if !ok || to == string(h.Raw) {
			return k, false, nil
		}
		nk := storage.SeriesKey{Table: k.Table, Tags: []storage.Tag{{Key: "host", Value: storage.StringTag(to)}}}
		return nk, true, nil
	}
}

func writeInts(t testing.TB, v *Vnode, version uint64, host, field string, times []int64, vals []int64) {
	t.Helper()
	_, err := v.WriteSync(&storage.Batch{Version: version, Series: []storage.SeriesRows{intRows(seriesKey(t, "cpu", "host", host), field, times, vals)}})
	require.NoError(t, err)
}

func TestRename(t *testing.T) {
	for _, c := range []struct {
		name   string
		setup  func(t *testing.T, v *Vnode)
		filter index.Expr
		rename map[string]string
		want   map[string]string
		res    RenameResult
	}{
		{
			name: "to a new key",
			setup: func(t *testing.T, v *Vnode) {
				writeInts(t, v, 1, "a", "x", []int64{10, 20}, []int64{1, 2})
				writeInts(t, v, 1, "a", "y", []int64{20, 30}, []int64{3, 4})
				writeInts(t, v, 1, "b", "x", []int64{10}, []int64{5})
			},
			filter: hostIs("a"), rename: map[string]string{"a": "z"},
			want: map[string]string{"z/x/10": "i1", "z/x/20": "i2", "z/y/20": "i3", "z/y/30": "i4", "b/x/10": "i5"},
			res:  RenameResult{Series: 1, Renamed: 1, Rows: 3, RenamedRows: 3},
		},
		{
			name: "to an existing key with overlapping times",
			setup: func(t *testing.T, v *Vnode) {
				writeInts(t, v, 2, "a", "x", []int64{10, 20, 30}, []int64{1, 2, 3})
				writeInts(t, v, 3, "b", "x", []int64{10}, []int64{100})  // older than the rename (5): loses
				writeInts(t, v, 5, "b", "x", []int64{20}, []int64{200})  // same version, earlier seq: loses
				writeInts(t, v, 9, "b", "x", []int64{30}, []int64{300})  // newer than the rename: wins
				writeInts(t, v, 1, "b", "x", []int64{40}, []int64{400})  // no competitor: stays
				writeInts(t, v, 1, "b", "y", []int64{10}, []int64{1000}) // other field: stays
			},
			filter: hostIs("a"), rename: map[string]string{"a": "b"},
			want: map[string]string{"b/x/10": "i1", "b/x/20": "i2", "b/x/30": "i300", "b/x/40": "i400", "b/y/10": "i1000"},
			res:  RenameResult{Series: 1, Renamed: 1, Rows: 3, RenamedRows: 3},
		},
		{
			name: "unchanged keys are matched, not renamed",
			setup: func(t *testing.T, v *Vnode) {
				writeInts(t, v, 1, "a", "x", []int64{10, 20}, []int64{1, 2})
				writeInts(t, v, 1, "b", "x", []int64{10, 20, 30}, []int64{3, 4, 5})
				writeInts(t, v, 1, "c", "x", []int64{10}, []int64{6})
			},
			filter: nil, rename: map[string]string{"a": "d", "b": "b"},
			want: map[string]string{"d/x/10": "i1", "d/x/20": "i2", "b/x/10": "i3", "b/x/20": "i4", "b/x/30": "i5", "c/x/10": "i6"},
			res:  RenameResult{Series: 3, Renamed: 1, Rows: 6, RenamedRows: 2},
		},
		{
			name: "filter matches nothing",
			setup: func(t *testing.T, v *Vnode) {
				writeInts(t, v, 1, "a", "x", []int64{10}, []int64{1})
			},
			filter: hostIs("nope"), rename: map[string]string{"a": "z"},
			want: map[string]string{"a/x/10": "i1"},
			res:  RenameResult{},
		},
		{
			name: "series in memcache, L1 and L0 files",
			setup: func(t *testing.T, v *Vnode) {
				writeInts(t, v, 1, "a", "x", []int64{100, 200}, []int64{1, 2})
				require.NoError(t, v.Flush()) // L1
				writeInts(t, v, 1, "a", "x", []int64{50, 200}, []int64{3, 4})
				require.NoError(t, v.Flush()) // 50 is older than L1's range: delta (L0); 200 overlaps
				writeInts(t, v, 1, "a", "x", []int64{300}, []int64{5})
				writeInts(t, v, 1, "a", "y", []int64{100}, []int64{6}) // memcache
				levels := map[uint8]bool{}
				for _, f := range v.Stats().Files {
					levels[f.Level] = true
				}
				require.True(t, levels[0] && levels[1], "files on L0 and L1: %v", v.Stats().Files)
			},
			filter: hostIs("a"), rename: map[string]string{"a": "z"},
			want: map[string]string{"z/x/50": "i3", "z/x/100": "i1", "z/x/200": "i4", "z/x/300": "i5", "z/y/100": "i6"},
			res:  RenameResult{Series: 1, Renamed: 1, Rows: 4, RenamedRows: 4},
		},
		{
			name: "deletes and expiry before the rename are respected",
			setup: func(t *testing.T, v *Vnode) {
				writeInts(t, v, 1, "a", "x", []int64{10, 20, 30, 40}, []int64{1, 2, 3, 4})
				require.NoError(t, v.Flush())
				writeInts(t, v, 1, "a", "y", []int64{10, 35}, []int64{5, 6})
				require.NoError(t, v.Delete("cpu", hostIs("a"), 30, 35, 2))
				require.NoError(t, v.ExpireBefore(20))
			},
			filter: hostIs("a"), rename: map[string]string{"a": "z"},
			want: map[string]string{"z/x/20": "i2", "z/x/40": "i4"},
			res:  RenameResult{Series: 1, Renamed: 1, Rows: 2, RenamedRows: 2},
		},
		{
			name: "points newer than the rename stay",
			setup: func(t *testing.T, v *Vnode) {
				writeInts(t, v, 1, "a", "x", []int64{10, 20}, []int64{1, 2})
				writeInts(t, v, 8, "a", "x", []int64{20, 30}, []int64{3, 4}) // version 8 > 5
			},
			filter: hostIs("a"), rename: map[string]string{"a": "z"},
			want: map[string]string{"z/x/10": "i1", "a/x/20": "i3", "a/x/30": "i4"},
			res:  RenameResult{Series: 1, Renamed: 1, Rows: 3, RenamedRows: 1},
		},
		{
			name: "swap in one rename",
			setup: func(t *testing.T, v *Vnode) {
				writeInts(t, v, 1, "a", "x", []int64{10}, []int64{1})
				writeInts(t, v, 1, "b", "x", []int64{10, 20}, []int64{2, 3})
			},
			filter: nil, rename: map[string]string{"a": "b", "b": "a"},
			want: map[string]string{"b/x/10": "i1", "a/x/10": "i2", "a/x/20": "i3"},
			res:  RenameResult{Series: 2, Renamed: 2, Rows: 3, RenamedRows: 3},
		},
		{
			name: "merge two series into one",
			setup: func(t *testing.T, v *Vnode) {
				writeInts(t, v, 1, "a", "x", []int64{10}, []int64{1})
				writeInts(t, v, 1, "b", "x", []int64{20}, []int64{2})
			},
			filter: nil, rename: map[string]string{"a": "m", "b": "m"},
			want: map[string]string{"m/x/10": "i1", "m/x/20": "i2"},
			res:  RenameResult{Series: 2, Renamed: 2, Rows: 2, RenamedRows: 2},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			v := openTest(t, dir, Options{Sync: wal.SyncNever})
			defer func() { require.NoError(t, v.Close()) }()
			c.setup(t, v)
			before := hostView(t, v, "cpu")
			snap := v.Snapshot() // an older snapshot keeps its view
			res, err := v.Rename("cpu", c.filter, setHost(c.rename), 5)
			require.NoError(t, err)
			require.Equal(t, c.res, res)
			require.Equal(t, c.want, hostView(t, v, "cpu"))
			got := map[string]string{}
			require.NoError(t, snap.Scan(ScanQuery{Table: "cpu", MinTime: minTime, MaxTime: maxTime}, func(col *ScanColumn) error {
				k, _ := snap.SeriesKey(col.Series)
				h, _ := k.Tag("host")
				for i, ts := range col.Points.Times {
					got[fmt.Sprintf("%s/%s/%d", h.Raw, col.Field, ts)] = valueString(&col.Points.Values, i)
				}
				return nil
			}))
			snap.Release()
			// A snapshot taken before sees exactly its view, none of the rename (points the copy
			// overwrote in the mutable cache keep their old values: memcache.ReadUpTo).
			require.Equal(t, before, got, "old snapshot")
			// Flush, compact and reopen (summary + WAL replay) keep the result.
			require.NoError(t, v.Flush())
			require.NoError(t, v.Compact(t.Context(), true))
			require.Equal(t, c.want, hostView(t, v, "cpu"), "after flush and compaction")
			require.NoError(t, v.Close())
			v = openTest(t, dir, Options{Sync: wal.SyncNever})
			require.Equal(t, c.want, hostView(t, v, "cpu"), "after reopen")
		})
	}
}

// TestRenameSnapshot: readers holding a snapshot from before the rename keep their exact view
// while the rename, a flush and a compaction run.
func TestRenameSnapshot(t *testing.T) {
	v := openTest(t, t.TempDir(), Options{Sync: wal.SyncNever})
	defer v.Close()
	writeInts(t, v, 1, "a", "x", []int64{10, 20}, []int64{1, 2})
	writeInts(t, v, 1, "b", "x", []int64{20, 30}, []int64{3, 4})
	require.NoError(t, v.Flush())
	before := hostView(t, v, "cpu")
	snap := v.Snapshot()
	defer snap.Release()
	_, err := v.Rename("cpu", nil, setHost(map[string]string{"a": "b", "b": "c"}), 5)
	require.NoError(t, err)
	require.NoError(t, v.Flush())
	require.NoError(t, v.Compact(t.Context(), true))
	require.Equal(t, map[string]string{"b/x/10": "i1", "b/x/20": "i2", "c/x/20": "i3", "c/x/30": "i4"}, hostView(t, v, "cpu"))
	got := map[string]string{}
	require.NoError(t, snap.Scan(ScanQuery{Table: "cpu", MinTime: minTime, MaxTime: maxTime}, func(col *ScanColumn) error {
		k, _ := snap.SeriesKey(col.Series)
		h, _ := k.Tag("host")
		for i, ts := range col.Points.Times {
			got[fmt.Sprintf("%s/%s/%d", h.Raw, col.Field, ts)] = valueString(&col.Points.Values, i)
		}
		return nil
	}))
	require.Equal(t, before, got)
}

func TestRenameLateWrites(t *testing.T) {
	dir := t.TempDir()
	v := openTest(t, dir, Options{Sync: wal.SyncNever})
	writeInts(t, v, 1, "a", "x", []int64{10, 20}, []int64{1, 2})
	_, err := v.Rename("cpu", hostIs("a"), setHost(map[string]string{"a": "b"}), 10)
	require.NoError(t, err)
	writeInts(t, v, 4, "a", "x", []int64{30}, []int64{3})  // stamped before the rename: lands on b
	writeInts(t, v, 9, "a", "x", []int64{20}, []int64{9})  // an older value for a copied point: the copy (10) wins
	writeInts(t, v, 10, "a", "x", []int64{40}, []int64{4}) // same version as the rename: after it, stays on a
	writeInts(t, v, 11, "a", "y", []int64{50}, []int64{5}) // newer: stays on a
	writeInts(t, v, 2, "a", "x", []int64{60}, []int64{99}) // a new time: lands on b
	want := map[string]string{"b/x/10": "i1", "b/x/20": "i2", "b/x/30": "i3", "b/x/60": "i99", "a/x/40": "i4", "a/y/50": "i5"}
	require.Equal(t, want, hostView(t, v, "cpu"))

	// A batch mixing a redirected series with others: the caller's batch is not modified.
	b := &storage.Batch{Version: 3, Series: []storage.SeriesRows{
		intRows(seriesKey(t, "cpu", "host", "a"), "x", []int64{70}, []int64{7}),
		intRows(seriesKey(t, "cpu", "host", "d"), "x", []int64{70}, []int64{8}),
	}}
	keyA := b.Series[0].Key
	_, err = v.WriteSync(b)
	require.NoError(t, err)
	require.Equal(t, keyA, b.Series[0].Key)
	want["b/x/70"], want["d/x/70"] = "i7", "i8"
	require.Equal(t, want, hostView(t, v, "cpu"))

	// A chain: b -> c at version 20. Writes to a older than 10 follow a -> b -> c; between 10 and
	// 20 they stay on a (written after the first rename); writes to b older than 20 go to c.
	res, err := v.Rename("cpu", hostIs("b"), setHost(map[string]string{"b": "c"}), 20)
	require.NoError(t, err)
	require.Equal(t, RenameResult{Series: 1, Renamed: 1, Rows: 5, RenamedRows: 5}, res)
	writeInts(t, v, 1, "a", "x", []int64{80}, []int64{80})
	writeInts(t, v, 15, "a", "x", []int64{90}, []int64{90})
	writeInts(t, v, 15, "b", "x", []int64{100}, []int64{100})
	want = map[string]string{"c/x/10": "i1", "c/x/20": "i2", "c/x/30": "i3", "c/x/60": "i99", "c/x/70": "i7", "d/x/70": "i8",
		"a/x/40": "i4", "a/y/50": "i5", "c/x/80": "i80", "a/x/90": "i90", "c/x/100": "i100"}
	require.Equal(t, want, hostView(t, v, "cpu"))

	// Reopen without a flush: the WAL holds the rewritten batches, the summary rebuilds the redirects.
	require.NoError(t, v.Close())
	v = openTest(t, dir, Options{Sync: wal.SyncNever})
	require.Equal(t, want, hostView(t, v, "cpu"), "after reopen")
	writeInts(t, v, 5, "a", "x", []int64{110}, []int64{110})
	want["c/x/110"] = "i110"
	require.Equal(t, want, hostView(t, v, "cpu"), "redirects survive a reopen")
	require.NoError(t, v.Close())
}

// TestRenameReplayOldRecords: WAL records written before the rename (older and newer versions,
// one already hidden by a delete) replay exactly as readers saw them before the close.
func TestRenameReplayOldRecords(t *testing.T) {
	dir := t.TempDir()
	v := openTest(t, dir, Options{Sync: wal.SyncNever})
	writeInts(t, v, 1, "a", "x", []int64{10, 20}, []int64{1, 2})
	writeInts(t, v, 20, "a", "x", []int64{30}, []int64{3}) // newer than the rename: stays on a
	writeInts(t, v, 1, "a", "y", []int64{40}, []int64{4})
	require.NoError(t, v.Delete("cpu", hostIs("a"), 40, 40, 2)) // hidden: must not reappear anywhere
	_, err := v.Rename("cpu", hostIs("a"), setHost(map[string]string{"a": "b"}), 10)
	require.NoError(t, err)
	want := map[string]string{"b/x/10": "i1", "b/x/20": "i2", "a/x/30": "i3"}
	require.Equal(t, want, hostView(t, v, "cpu"))
	require.NoError(t, v.Close())
	v = openTest(t, dir, Options{Sync: wal.SyncNever})
	require.Equal(t, want, hostView(t, v, "cpu"))
	require.NoError(t, v.Flush())
	require.NoError(t, v.Close())
	v = openTest(t, dir, Options{Sync: wal.SyncNever})
	require.Equal(t, want, hostView(t, v, "cpu"))
	require.NoError(t, v.Close())
}

// TestRenameInterrupted: a crash between the copy and the tombstone leaves both series visible
// (nothing lost); repeating the rename finishes it with the same result as an uninterrupted one.
func TestRenameInterrupted(t *testing.T) {
	dir := t.TempDir()
	v := openTest(t, dir, Options{Sync: wal.SyncAlways})
	writeInts(t, v, 1, "a", "x", []int64{10, 20}, []int64{1, 2})
	writeInts(t, v, 1, "b", "x", []int64{20, 30}, []int64{3, 4})
	errCrash := errors.New("crash")
	renameCrashHook = func() error { return errCrash }
	_, err := v.Rename("cpu", hostIs("a"), setHost(map[string]string{"a": "b"}), 5)
	renameCrashHook = nil
	require.ErrorIs(t, err, errCrash)
	require.NoError(t, v.Close())
	v = openTest(t, dir, Options{Sync: wal.SyncAlways})
	require.Equal(t, map[string]string{"a/x/10": "i1", "a/x/20": "i2", "b/x/10": "i1", "b/x/20": "i2", "b/x/30": "i4"},
		hostView(t, v, "cpu"), "copy done, a still visible")
	res, err := v.Rename("cpu", hostIs("a"), setHost(map[string]string{"a": "b"}), 5)
	require.NoError(t, err)
	require.Equal(t, RenameResult{Series: 1, Renamed: 1, Rows: 2, RenamedRows: 2}, res)
	want := map[string]string{"b/x/10": "i1", "b/x/20": "i2", "b/x/30": "i4"}
	require.Equal(t, want, hostView(t, v, "cpu"))
	require.NoError(t, v.Close())
	v = openTest(t, dir, Options{Sync: wal.SyncAlways})
	require.Equal(t, want, hostView(t, v, "cpu"))
	require.NoError(t, v.Close())
}

func TestRenameErrors(t *testing.T) {
	v := openTest(t, t.TempDir(), Options{Sync: wal.SyncNever})
	defer v.Close()
	writeInts(t, v, 1, "a", "x", []int64{10}, []int64{1})
	writeInts(t, v, 1, "b", "x", []int64{10}, []int64{2})
	want := hostView(t, v, "cpu")
	seq := v.Stats().Seq
	calls := 0
	_, err := v.Rename("cpu", nil, func(k storage.SeriesKey) (storage.SeriesKey, bool, error) {
		calls++
		if calls == 2 {
			return k, false, errors.New("bad update")
		}
		return storage.SeriesKey{Table: "cpu", Tags: []storage.Tag{{Key: "host", Value: storage.StringTag("z")}}}, true, nil
	}, 5)
	require.ErrorContains(t, err, "bad update")
	_, err = v.Rename("cpu", nil, func(k storage.SeriesKey) (storage.SeriesKey, bool, error) {
		return storage.SeriesKey{Table: "mem", Tags: k.Tags}, true, nil
	}, 5)
	require.ErrorContains(t, err, "table")
	require.Equal(t, want, hostView(t, v, "cpu"), "nothing changed")
	require.Equal(t, seq, v.Stats().Seq)
	require.Equal(t, 0, v.Stats().Tombstones)
}

func TestRenameManyBatches(t *testing.T) {
	defer func(p, b int) { copyChunkPoints, copyBatchValues = p, b }(copyChunkPoints, copyBatchValues)
	copyChunkPoints, copyBatchValues = 7, 20
	dir := t.TempDir()
	// A tiny cache and MaxImmutable 1: the copy stalls and flushes on its way.
	v := openTest(t, dir, Options{Sync: wal.SyncNever, CacheSize: 512, MaxImmutable: 1})
	want := map[string]string{}
	for i := int64(0); i < 100; i++ {
		times, vals := []int64{i * 10}, []int64{i}
		_, err := v.Write(&storage.Batch{Version: 1, Series: []storage.SeriesRows{
			intRows(seriesKey(t, "cpu", "host", "a"), "x", times, vals), intRows(seriesKey(t, "cpu", "host", "a"), "y", times, vals)}})
		if errors.Is(err, ErrWriteStall) {
			require.NoError(t, v.Flush())
			i--
			continue
		}
		require.NoError(t, err)
		want[fmt.Sprintf("z/x/%d", i*10)], want[fmt.Sprintf("z/y/%d", i*10)] = fmt.Sprintf("i%d", i), fmt.Sprintf("i%d", i)
	}
	res, err := v.Rename("cpu", nil, setHost(map[string]string{"a": "z"}), math.MaxUint64-1)
	require.NoError(t, err)
	require.Equal(t, RenameResult{Series: 1, Renamed: 1, Rows: 100, RenamedRows: 100}, res)
	require.Equal(t, want, hostView(t, v, "cpu"))
	require.NoError(t, v.Close())
	v = openTest(t, dir, Options{Sync: wal.SyncNever})
	require.Equal(t, want, hostView(t, v, "cpu"))
	require.NoError(t, v.Close())
}

// TestDeleteKeepsRenameTombstones: a later, wider delete does not drop a rename tombstone (its
// redirect stays), while a rename still replaces plain tombstones it covers.
func TestDeleteKeepsRenameTombstones(t *testing.T) {
	dir := t.TempDir()
	v := openTest(t, dir, Options{Sync: wal.SyncNever})
	writeInts(t, v, 1, "a", "x", []int64{10}, []int64{1})
	require.NoError(t, v.Delete("cpu", hostIs("a"), 0, 5, 2))
	require.Equal(t, 1, v.Stats().Tombstones)
	_, err := v.Rename("cpu", hostIs("a"), setHost(map[string]string{"a": "b"}), 5)
	require.NoError(t, err)
	require.Equal(t, 1, v.Stats().Tombstones, "the rename tombstone replaced the covered delete")
	require.NoError(t, v.Delete("cpu", hostIs("a"), math.MinInt64, math.MaxInt64, 100))
	require.Equal(t, 2, v.Stats().Tombstones, "the delete did not replace the rename tombstone")
	require.Equal(t, map[string]string{"b/x/10": "i1"}, hostView(t, v, "cpu"))
	writeInts(t, v, 3, "a", "x", []int64{20}, []int64{2}) // still redirected
	require.Equal(t, map[string]string{"b/x/10": "i1", "b/x/20": "i2"}, hostView(t, v, "cpu"))
	require.NoError(t, v.Close())
	v = openTest(t, dir, Options{Sync: wal.SyncNever})
	require.Equal(t, 2, v.Stats().Tombstones)
	writeInts(t, v, 3, "a", "x", []int64{30}, []int64{3})
	require.Equal(t, map[string]string{"b/x/10": "i1", "b/x/20": "i2", "b/x/30": "i3"}, hostView(t, v, "cpu"))
	require.NoError(t, v.Close())
}
