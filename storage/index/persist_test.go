package index

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage"
)

func hostKeys(t testing.TB, table string, from, to int) [][]byte {
	keys := make([][]byte, 0, to-from)
	for i := from; i < to; i++ {
		keys = append(keys, mkKey(t, table, "host", fmt.Sprintf("h%05d", i), "dc", i%7, "odd", i%2 == 1))
	}
	return keys
}

func create(t *testing.T, x *Index, m *model, keys [][]byte) []storage.SeriesID {
	t.Helper()
	ids, err := x.GetOrCreate(keys, nil)
	require.NoError(t, err)
	for i, k := range keys {
		if _, ok := m.byID[ids[i]]; !ok {
			m.add(t, ids[i], k)
		}
	}
	return ids
}

// abandon simulates a crash: the Index is dropped without Close, and buffered records are lost.
func abandon(x *Index) { x.f.Close() }

func dirFiles(t *testing.T, dir string) []string {
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func maxAutoInc(m *model) uint64 {
	var n uint64
	for id := range m.byID {
		n = max(n, id.AutoInc())
	}
	return n
}

func TestReopenAfterClose(t *testing.T) {
	dir := t.TempDir()
	x, err := Open(dir, Options{})
	require.NoError(t, err)
	m := newModel()
	ids := create(t, x, m, hostKeys(t, "cpu", 0, 100))
	for i, id := range ids {
		require.Equal(t, uint64(i+1), id.AutoInc(), "counter starts at 1 and counts up")
		require.Equal(t, storage.HashSeriesKey(hostKeys(t, "cpu", i, i+1)[0]), id.Hash24())
	}
	create(t, x, m, hostKeys(t, "mem", 0, 10))
	require.NoError(t, x.Close())
	require.Equal(t, []string{"index-000002.log", "index.snap"}, dirFiles(t, dir))
	_, err = x.GetOrCreate(hostKeys(t, "cpu", 500, 501), nil)
	require.ErrorIs(t, err, ErrClosed)
	require.ErrorIs(t, x.DeleteSeries(ids), ErrClosed)
	require.ErrorIs(t, x.Sync(), ErrClosed)
	require.NoError(t, x.Close(), "second Close is a no-op")

	x, err = Open(dir, Options{})
	require.NoError(t, err)
	checkAgainstModel(t, x, m)
	again, err := x.GetOrCreate(hostKeys(t, "cpu", 0, 100), make([]storage.SeriesID, 3))
	require.NoError(t, err)
	require.Equal(t, ids, again, "ids stable across reopen")
	next := create(t, x, m, hostKeys(t, "cpu", 100, 101))
	require.Equal(t, uint64(111), next[0].AutoInc(), "counter continues after reopen")
	require.NoError(t, x.Close())
	x, err = Open(dir, Options{})
	require.NoError(t, err)
	checkAgainstModel(t, x, m)
	require.NoError(t, x.Close())
}

func TestCrashWithoutClose(t *testing.T) {
	dir := t.TempDir()
	x, err := Open(dir, Options{})
	require.NoError(t, err)
	m := newModel()
	create(t, x, m, hostKeys(t, "cpu", 0, 50))
	require.NoError(t, x.Sync())
	// Created after the last Sync and still in the buffer: lost by the crash.
	lost, err := x.GetOrCreate(hostKeys(t, "cpu", 50, 60), nil)
	require.NoError(t, err)
	abandon(x)

	x, err = Open(dir, Options{})
	require.NoError(t, err)
	checkAgainstModel(t, x, m)
	for _, id := range lost {
		_, ok := x.Key(id)
		require.False(t, ok)
	}
	ids := create(t, x, m, hostKeys(t, "cpu", 50, 51))
	require.Equal(t, uint64(51), ids[0].AutoInc())
	require.NoError(t, x.Sync())
	abandon(x)

	x, err = Open(dir, Options{})
	require.NoError(t, err)
	checkAgainstModel(t, x, m)
	abandon(x)
}

func TestCrashWrittenNotSynced(t *testing.T) {
	// A batch larger than the log buffer is written to the file (not fsynced); a process crash
	// keeps it in the page cache, so it is recovered.
	dir := t.TempDir()
	x, err := Open(dir, Options{})
	require.NoError(t, err)
	m := newModel()
	create(t, x, m, hostKeys(t, "cpu", 0, 8000))
	require.Empty(t, x.buf, "batch was written to the file")
	abandon(x)
	x, err = Open(dir, Options{})
	require.NoError(t, err)
	checkAgainstModel(t, x, m)
	require.NoError(t, x.Close())
}

func TestTornTail(t *testing.T) {
	partial := func(t *testing.T) []byte {
		r := appendLogRecord(nil, &logRecord{Type: recAddSeries, IDs: []storage.SeriesID{storage.NewSeriesID(1, 999)}, Keys: [][]byte{mkKey(t, "x")}})
		return r
	}
	cases := map[string]func(t *testing.T) []byte{
		"short frame header": func(t *testing.T) []byte { return partial(t)[:5] },
		"short payload":      func(t *testing.T) []byte { r := partial(t); return r[:len(r)-2] },
		"bad crc last": func(t *testing.T) []byte {
			r := partial(t)
			r[len(r)-1] ^= 0xFF
			return r
		},
		"zero fill": func(t *testing.T) []byte { return make([]byte, 100) },
	}
	for name, tail := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			x, err := Open(dir, Options{})
			require.NoError(t, err)
			m := newModel()
			create(t, x, m, hostKeys(t, "cpu", 0, 20))
			require.NoError(t, x.Sync())
			abandon(x)
			path := filepath.Join(dir, "index-000001.log")
			st, err := os.Stat(path)
			require.NoError(t, err)
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			require.NoError(t, err)
			_, err = f.Write(tail(t))
			require.NoError(t, err)
			require.NoError(t, f.Close())

			logger, hook := logtest.NewNullLogger()
			x, err = Open(dir, Options{Logger: logger})
			require.NoError(t, err)
			checkAgainstModel(t, x, m)
			st2, err := os.Stat(path)
			require.NoError(t, err)
			require.Equal(t, st.Size(), st2.Size(), "torn tail truncated")
			require.Len(t, hook.Entries, 1)
			require.Equal(t, logrus.WarnLevel, hook.LastEntry().Level)
			require.Equal(t, int(st.Size()), hook.LastEntry().Data["offset"])
			// Appending after the truncation works.
			create(t, x, m, hostKeys(t, "cpu", 20, 30))
			require.NoError(t, x.Sync())
			abandon(x)
			x, err = Open(dir, Options{})
			require.NoError(t, err)
			checkAgainstModel(t, x, m)
			require.NoError(t, x.Close())
		})
	}
}

func requireCorruption(t *testing.T, err error, path string, off int64) {
	t.Helper()
	var ce *storage.CorruptionError
	require.True(t, errors.As(err, &ce), "got %v", err)
	require.Equal(t, path, ce.Path)
	require.Equal(t, off, ce.Offset)
}

func TestCorruptLogMiddle(t *testing.T) {
	dir := t.TempDir()
	x, err := Open(dir, Options{})
	require.NoError(t, err)
	m := newModel()
	create(t, x, m, hostKeys(t, "cpu", 0, 10))
	require.NoError(t, x.Sync())
	create(t, x, m, hostKeys(t, "cpu", 10, 20))
	require.NoError(t, x.Sync())
	abandon(x)
	path := filepath.Join(dir, "index-000001.log")
	data, err := os.ReadFile(path)
	require.NoError(t, err)

	// A flipped payload byte in the first of two records.
	bad := slices.Clone(data)
	bad[logHeaderSize+frameHeader+3] ^= 0x40
	require.NoError(t, os.WriteFile(path, bad, 0o644))
	_, err = Open(dir, Options{})
	requireCorruption(t, err, path, logHeaderSize)

	// A CRC-valid record that does not decode (unknown type).
	bad = slices.Clone(data[:logHeaderSize])
	bad = appendFrame(bad, []byte{99, 1, 2})
	bad = append(bad, data[logHeaderSize:]...)
	require.NoError(t, os.WriteFile(path, bad, 0o644))
	_, err = Open(dir, Options{})
	requireCorruption(t, err, path, logHeaderSize)

	// A CRC-valid record adding a key under an id whose hash does not match.
	bad = slices.Clone(data)
	bad = appendLogRecord(bad, &logRecord{Type: recAddSeries, IDs: []storage.SeriesID{storage.NewSeriesID(1, 77)}, Keys: [][]byte{mkKey(t, "zz")}})
	require.NoError(t, os.WriteFile(path, bad, 0o644))
	_, err = Open(dir, Options{})
	requireCorruption(t, err, path, int64(len(data)))

	// Bad header.
	bad = slices.Clone(data)
	bad[2] ^= 1
	require.NoError(t, os.WriteFile(path, bad, 0o644))
	_, err = Open(dir, Options{})
	requireCorruption(t, err, path, 0)

	// Intact again: opens.
	require.NoError(t, os.WriteFile(path, data, 0o644))
	x, err = Open(dir, Options{})
	require.NoError(t, err)
	checkAgainstModel(t, x, m)
	require.NoError(t, x.Close())
}

func appendFrame(dst, payload []byte) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(payload)))
	dst = binary.LittleEndian.AppendUint32(dst, crc32.Checksum(payload, crc32.MakeTable(crc32.Castagnoli)))
	return append(dst, payload...)
}

func TestCorruptSnapshot(t *testing.T) {
	dir := t.TempDir()
	x, err := Open(dir, Options{})
	require.NoError(t, err)
	m := newModel()
	create(t, x, m, hostKeys(t, "cpu", 0, 30))
	require.NoError(t, x.Close())
	path := filepath.Join(dir, SnapshotFileName)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	bad := slices.Clone(data)
	bad[len(bad)/2] ^= 0x10
	require.NoError(t, os.WriteFile(path, bad, 0o644))
	_, err = Open(dir, Options{})
	requireCorruption(t, err, path, int64(len(data)-4))

	require.NoError(t, os.WriteFile(path, data[:10], 0o644))
	_, err = Open(dir, Options{})
	requireCorruption(t, err, path, 0)

	require.NoError(t, os.WriteFile(path, data, 0o644))
	x, err = Open(dir, Options{})
	require.NoError(t, err)
	checkAgainstModel(t, x, m)
	require.NoError(t, x.Close())
}

func TestDeleteAndDropPersisted(t *testing.T) {
	for _, crash := range []bool{false, true} {
		t.Run(fmt.Sprintf("crash=%v", crash), func(t *testing.T) {
			dir := t.TempDir()
			x, err := Open(dir, Options{})
			require.NoError(t, err)
			m := newModel()
			ids := create(t, x, m, hostKeys(t, "cpu", 0, 40))
			create(t, x, m, hostKeys(t, "mem", 0, 5))
			create(t, x, m, hostKeys(t, "disk", 0, 5))
			del := []storage.SeriesID{ids[3], ids[7], ids[7], storage.NewSeriesID(5, 12345)}
			require.NoError(t, x.DeleteSeries(del))
			delete(m.byID, ids[3])
			delete(m.byID, ids[7])
			require.NoError(t, x.DropTable("mem"))
			require.NoError(t, x.DropTable("nosuch"))
			for id, k := range m.byID {
				if k.Table == "mem" {
					delete(m.byID, id)
				}
			}
			checkAgainstModel(t, x, m)
			// Deleting every series of a table removes the table.
			var disk []storage.SeriesID
			for id, k := range m.byID {
				if k.Table == "disk" {
					disk = append(disk, id)
					delete(m.byID, id)
				}
			}
			require.NoError(t, x.DeleteSeries(disk))
			checkAgainstModel(t, x, m)
			if crash {
				abandon(x)
			} else {
				require.NoError(t, x.Close())
			}
			x, err = Open(dir, Options{})
			require.NoError(t, err)
			checkAgainstModel(t, x, m)
			// A deleted key is created again with a new id.
			again := create(t, x, m, hostKeys(t, "cpu", 3, 4))
			require.NotEqual(t, ids[3], again[0])
			require.Equal(t, uint64(51), again[0].AutoInc())
			require.NoError(t, x.Close())
		})
	}
}

func TestSnapshotRotation(t *testing.T) {
	dir := t.TempDir()
	x, err := Open(dir, Options{SnapshotThreshold: 1 << 10})
	require.NoError(t, err)
	m := newModel()
	for i := 0; i < 5; i++ {
		create(t, x, m, hostKeys(t, "cpu", i*50, i*50+50))
		require.NoError(t, x.Sync())
		require.Equal(t, []string{fmt.Sprintf("index-%06d.log", i+2), "index.snap"}, dirFiles(t, dir))
	}
	before := t.TempDir()
	copyDir(t, dir, before)
	m2 := newModel()
	for id, k := range m.byID {
		m2.byID[id] = k
	}
	create(t, x, m, hostKeys(t, "cpu", 1000, 1001))
	require.NoError(t, x.Close())
	after := dirFiles(t, dir)
	require.Equal(t, []string{"index-000007.log", "index.snap"}, after)

	// Crash after the snapshot rename but before the old log was removed: the old log is covered.
	copyFile(t, filepath.Join(before, "index-000006.log"), filepath.Join(dir, "index-000006.log"))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "index.snap.tmp"), []byte("junk"), 0o644))
	x, err = Open(dir, Options{})
	require.NoError(t, err)
	checkAgainstModel(t, x, m)
	require.Equal(t, []string{"index-000007.log", "index.snap"}, dirFiles(t, dir))
	require.NoError(t, x.Close())

	// Crash after the new log was created but before the snapshot was renamed: both logs replay.
	crashed := t.TempDir()
	copyDir(t, before, crashed)
	x, err = Open(crashed, Options{})
	require.NoError(t, err)
	create(t, x, m2, hostKeys(t, "cpu", 2000, 2003))
	x.mu.RLock()
	require.NoError(t, x.writeBufLocked())
	nf, err := x.createLog(x.gen + 1)
	require.NoError(t, err)
	x.f, x.gen = nf, x.gen+1
	x.mu.RUnlock()
	create(t, x, m2, hostKeys(t, "cpu", 3000, 3003))
	require.NoError(t, x.writeBufLocked())
	abandon(x)
	require.Equal(t, []string{"index-000006.log", "index-000007.log", "index.snap"}, dirFiles(t, crashed))
	x, err = Open(crashed, Options{})
	require.NoError(t, err)
	checkAgainstModel(t, x, m2)
	require.NoError(t, x.Close())

	// A missing log generation is corruption.
	require.NoError(t, os.Rename(filepath.Join(crashed, "index-000008.log"), filepath.Join(crashed, "index-000010.log")))
	_, err = Open(crashed, Options{})
	requireCorruption(t, err, filepath.Join(crashed, "index-000008.log"), 0)
}

func copyDir(t *testing.T, from, to string) {
	for _, name := range dirFiles(t, from) {
		copyFile(t, filepath.Join(from, name), filepath.Join(to, name))
	}
}

func copyFile(t *testing.T, from, to string) {
	data, err := os.ReadFile(from)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(to, data, 0o644))
}

func TestGetOrCreateErrors(t *testing.T) {
	x, err := Open(t.TempDir(), Options{})
	require.NoError(t, err)
	defer x.Close()
	good := mkKey(t, "cpu", "a", "1")
	unsorted := (&storage.SeriesKey{Table: "cpu", Tags: []storage.Tag{{Key: "b", Value: tv("1")}, {Key: "a", Value: tv("2")}}}).Marshal(nil)
	noTable := (&storage.SeriesKey{}).Marshal(nil)
	badType := (&storage.SeriesKey{Table: "cpu", Tags: []storage.Tag{{Key: "a", Value: storage.TagValue{Type: 0x77}}}}).Marshal(nil)
	nonCanonical := append([]byte{0x83, 0x00}, "cpu\x00"...) // table length as a 2-byte uvarint
	for name, bad := range map[string][]byte{"garbage": {0xFF, 0xFF}, "unsorted": unsorted, "no table": noTable, "bad type": badType, "non-canonical": nonCanonical} {
		ids, err := x.GetOrCreate([][]byte{good, bad}, nil)
		require.Error(t, err, name)
		require.NotZero(t, ids[0], name)
		_, ok := x.Lookup(bad)
		require.False(t, ok, name)
	}
	require.Equal(t, 1, x.Len())
}

func TestConcurrentReaders(t *testing.T) {
	x, err := Open(t.TempDir(), Options{SnapshotThreshold: 8 << 10})
	require.NoError(t, err)
	defer x.Close()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for r := 0; r < 3; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				ids, err := x.Select("cpu", Match{Key: "odd", Op: OpEq, Value: tv(true)})
				if err != nil || !slices.IsSorted(ids) {
					panic("bad select")
				}
				for _, id := range ids {
					if k, ok := x.Key(id); !ok || k.Table != "cpu" {
						panic("bad key")
					}
				}
				x.TagValues("cpu", "host")
			}
		}()
	}
	m := newModel()
	for i := 0; i < 40; i++ {
		create(t, x, m, hostKeys(t, "cpu", i*20, i*20+20))
		if i%5 == 0 {
			require.NoError(t, x.Sync())
		}
		if i%7 == 0 {
			require.NoError(t, x.DeleteSeries([]storage.SeriesID{storage.NewSeriesID(0, 1)}))
		}
	}
	close(stop)
	wg.Wait()
	checkAgainstModel(t, x, m)
}
