package index

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/sirupsen/logrus"

	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/vfs"
)

// File names inside an index directory.
const (
	SnapshotFileName = "index.snap"
	logFilePrefix    = "index-"
	logFileSuffix    = ".log"
	tmpSuffix        = ".tmp"
)

// DefaultSnapshotThreshold is the log size after which Sync, DeleteSeries and DropTable write a snapshot.
const DefaultSnapshotThreshold = 8 << 20

// flushBufferSize is how many buffered log bytes GetOrCreate keeps before writing them to the file
// (without fsync).
const flushBufferSize = 256 << 10

// ErrClosed is returned by mutations after Close.
var ErrClosed = errors.New("index closed")

// Options configure Open.
type Options struct {
	Logger logrus.FieldLogger
	// SnapshotThreshold is the number of log bytes since the last snapshot after which Sync,
	// DeleteSeries and DropTable write a new snapshot. Zero means DefaultSnapshotThreshold.
	SnapshotThreshold int64
}

// Index is the series index of one vnode. Readers (Lookup, Key, Select, Tables, TagKeys, TagValues,
// Len) may run concurrently with each other and with one writer.
//
// Locking: mu guards the state and the log fields (s, buf, f, gen, logBytes, err, closed). Writers
// hold mu exclusively. Durability work (Sync, snapshots, Close) holds syncMu and then only mu.RLock,
// so readers keep running; the log fields are therefore written either under mu.Lock or under
// syncMu+mu.RLock, which excludes every other writer of them. Readers normalize lazily sorted
// postings under mu.RLock+normMu.
type Index struct {
	dir       string
	logger    logrus.FieldLogger
	threshold int64

	syncMu sync.Mutex
	mu     sync.RWMutex
	normMu sync.Mutex

	s        *state
	buf      []byte   // framed records not yet written to f
	f        vfs.File // current log file (append only)
	gen      uint64   // generation of f
	logBytes int64    // record bytes in the logs not covered by the snapshot
	err      error    // sticky log write error
	closed   bool
}

// Open creates or recovers the index stored in dir: it loads the snapshot and replays the logs
// after it. A torn tail of the last log is truncated; any other damage is a *storage.CorruptionError.
func Open(dir string, opts Options) (*Index, error) {
	x := &Index{dir: dir, logger: opts.Logger, threshold: opts.SnapshotThreshold}
	if x.logger == nil {
		l := logrus.New()
		l.Out = io.Discard
		x.logger = l
	}
	x.logger = x.logger.WithField("index", dir)
	if x.threshold <= 0 {
		x.threshold = DefaultSnapshotThreshold
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("open index %s: %w", dir, err)
	}
	if err := x.recover(); err != nil {
		return nil, fmt.Errorf("open index %s: %w", dir, err)
	}
	return x, nil
}

func (x *Index) logPath(gen uint64) string {
	return filepath.Join(x.dir, fmt.Sprintf("%s%06d%s", logFilePrefix, gen, logFileSuffix))
}

// logGens lists the generations of the log files in dir, ascending, and removes leftover temp files.
func (x *Index) logGens() ([]uint64, error) {
	ents, err := os.ReadDir(x.dir)
	if err != nil {
		return nil, err
	}
	var gens []uint64
	for _, e := range ents {
		name := e.Name()
		if strings.HasSuffix(name, tmpSuffix) {
			if err := os.Remove(filepath.Join(x.dir, name)); err != nil {
				return nil, err
			}
			continue
		}
		if g, ok := parseLogName(name); ok {
			gens = append(gens, g)
		}
	}
	slices.Sort(gens)
	return gens, nil
}

// parseLogName reads the generation of a log file's name.
func parseLogName(name string) (uint64, bool) {
	if !strings.HasPrefix(name, logFilePrefix) || !strings.HasSuffix(name, logFileSuffix) {
		return 0, false
	}
	g, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(name, logFilePrefix), logFileSuffix), 10, 64)
	return g, err == nil && g > 0
}

func (x *Index) recover() error {
	firstGen := uint64(1)
	x.s = newState()
	snapPath := filepath.Join(x.dir, SnapshotFileName)
	data, err := os.ReadFile(snapPath)
	switch {
	case err == nil:
		s, g, err := decodeSnapshot(data)
		if err != nil {
			return corruption(snapPath, err)
		}
		x.s, firstGen = s, g
	case !os.IsNotExist(err):
		return err
	}
	gens, err := x.logGens()
	if err != nil {
		return err
	}
	for len(gens) > 0 && gens[0] < firstGen {
		x.logger.WithField("log", x.logPath(gens[0])).Info("removing log covered by the snapshot")
		if err := os.Remove(x.logPath(gens[0])); err != nil {
			return err
		}
		gens = gens[1:]
	}
	for i, g := range gens {
		if want := firstGen + uint64(i); g != want {
			return &storage.CorruptionError{Path: x.logPath(want), Offset: 0, Err: fmt.Errorf("log generation missing: got %d; want %d", g, want)}
		}
		if err := x.replay(g, i == len(gens)-1); err != nil {
			return err
		}
	}
	if len(gens) == 0 {
		f, err := x.createLog(firstGen)
		if err != nil {
			return err
		}
		x.f, x.gen = f, firstGen
		return nil
	}
	x.gen = gens[len(gens)-1]
	x.f, err = vfs.OpenFile(x.logPath(x.gen), os.O_WRONLY|os.O_APPEND, 0)
	return err
}

func corruption(path string, err error) error {
	var fe *frameError
	if errors.As(err, &fe) {
		return &storage.CorruptionError{Path: path, Offset: int64(fe.Off), Err: fe.Err}
	}
	return &storage.CorruptionError{Path: path, Err: err}
}

// replay applies the records of log gen. A torn tail is truncated when last is true.
func (x *Index) replay(gen uint64, last bool) error {
	path := x.logPath(gen)
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	g, err := decodeLogHeader(data)
	if err != nil {
		return &storage.CorruptionError{Path: path, Offset: 0, Err: err}
	}
	if g != gen {
		return &storage.CorruptionError{Path: path, Offset: 8, Err: fmt.Errorf("log generation: got %d; want %d", g, gen)}
	}
	end, torn, err := scanFrames(data, logHeaderSize, x.applyRecord)
	if err != nil {
		return corruption(path, err)
	}
	x.logBytes += int64(end - logHeaderSize)
	if !torn {
		return nil
	}
	if !last {
		return &storage.CorruptionError{Path: path, Offset: int64(end), Err: errors.New("torn record in a log that is not the last")}
	}
	x.logger.WithFields(logrus.Fields{"log": path, "offset": end, "dropped_bytes": len(data) - end}).
		Warn("truncating torn tail of index log")
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if err := f.Truncate(int64(end)); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// applyRecord replays one log record into the state.
func (x *Index) applyRecord(_ int, payload []byte) error {
	r, err := decodeLogRecord(payload)
	if err != nil {
		return err
	}
	switch r.Type {
	case recAddSeries:
		for i, id := range r.IDs {
			key := r.Keys[i]
			if old, ok := x.s.lookup(key); ok {
				if old != id {
					return fmt.Errorf("add series: key has id %#x; record says %#x", uint64(old), uint64(id))
				}
				continue
			}
			if _, ok := x.s.keyOf(id); ok {
				return fmt.Errorf("add series: id %#x already used by another key", uint64(id))
			}
			if id.AutoInc() == 0 {
				return fmt.Errorf("add series: id %#x has counter 0", uint64(id))
			}
			if h := storage.HashSeriesKey(key); h != id.Hash24() {
				return fmt.Errorf("add series: key hash got %#x; want %#x", h, id.Hash24())
			}
			sk, err := validateKey(key)
			if err != nil {
				return err
			}
			x.s.insert(key, id, &sk)
		}
	case recDeleteSeries:
		if _, err := x.s.deleteSeries(r.IDs); err != nil {
			return err
		}
	case recDropTable:
		x.s.dropTable(r.Table)
	}
	return nil
}

// createLog writes an empty log of generation gen (temp file, fsync, rename, dir fsync) and opens it.
func (x *Index) createLog(gen uint64) (vfs.File, error) {
	path := x.logPath(gen)
	if err := writeFileAtomic(path, appendLogHeader(nil, gen)); err != nil {
		return nil, err
	}
	return vfs.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
}

// writeFileAtomic writes data to path through a temporary file (fsync, rename, dir fsync); on a
// failure the temporary file is removed, so a full disk keeps no half-written copy.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + tmpSuffix
	f, err := vfs.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	fail := func(err error) error {
		_ = f.Close()
		_ = os.Remove(tmp)
		return err
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return err
	}
	return d.Close()
}

// GetOrCreate returns the id of each encoded series key (storage.SeriesKey.Marshal after
// Normalize), creating missing series: result[i] is the id of keys[i]. ids is reused as the result
// buffer. New series are appended to the log buffer; they are durable after Sync. On an error the
// ids of the keys before the failing one are valid.
func (x *Index) GetOrCreate(keys [][]byte, ids []storage.SeriesID) ([]storage.SeriesID, error) {
	ids = slices.Grow(ids[:0], len(keys))[:len(keys)]
	missing := false
	x.mu.RLock()
	for i, k := range keys {
		id, ok := x.s.lookup(k)
		ids[i] = id // 0 is never a valid id: counters start at 1
		missing = missing || !ok
	}
	x.mu.RUnlock()
	if !missing {
		return ids, nil
	}

	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		return ids, ErrClosed
	}
	if x.err != nil {
		return ids, x.err
	}
	bufStart, start := len(x.buf), -1
	var err error
	for i, k := range keys {
		if ids[i] != 0 {
			continue
		}
		if id, ok := x.s.lookup(k); ok {
			ids[i] = id
			continue
		}
		sk, kerr := validateKey(k)
		if kerr != nil {
			err = fmt.Errorf("get or create series: key %d: %w", i, kerr)
			break
		}
		if x.s.next > storage.MaxAutoInc {
			err = errors.New("get or create series: series counter exhausted")
			break
		}
		id := storage.NewSeriesID(storage.HashSeriesKey(k), x.s.next)
		x.s.insert(k, id, &sk)
		ids[i] = id
		start = x.bufferAdd(start, id, k)
	}
	if start >= 0 {
		x.buf = finishRecord(x.buf, start)
	}
	x.logBytes += int64(len(x.buf) - bufStart)
	if len(x.buf) >= flushBufferSize {
		if werr := x.writeBufLocked(); werr != nil && err == nil {
			err = werr
		}
	}
	return ids, err
}

// bufferAdd appends an add entry to the log buffer, in the open add record that starts at start
// (-1: none) or in a new one once that passes splitRecordLen; it returns the open record's start.
// The caller finishes the record.
func (x *Index) bufferAdd(start int, id storage.SeriesID, key []byte) int {
	if start >= 0 && len(x.buf)-start > splitRecordLen {
		x.buf = finishRecord(x.buf, start)
		start = -1
	}
	if start < 0 {
		x.buf, start = beginRecord(x.buf, recAddSeries)
	}
	x.buf = appendAddEntry(x.buf, id, key)
	return start
}

// writeBufLocked writes the buffered records to the log file (no fsync). A full disk is not
// sticky: the partial write is cut off and the records stay buffered for the next try; any other
// failure is.
func (x *Index) writeBufLocked() error {
	if x.err != nil {
		return x.err
	}
	if len(x.buf) == 0 {
		return nil
	}
	st, err := x.f.Stat()
	if err != nil {
		x.err = fmt.Errorf("stat index log %s: %w", x.f.Name(), err)
		return x.err
	}
	if _, err := x.f.Write(x.buf); err != nil {
		if storage.IsDiskFull(err) {
			if terr := x.f.Truncate(st.Size()); terr == nil {
				return fmt.Errorf("write index log %s: %w", x.f.Name(), err)
			}
		}
		x.err = fmt.Errorf("write index log %s: %w", x.f.Name(), err)
		return x.err
	}
	x.buf = x.buf[:0]
	return nil
}

// Lookup returns the id of an encoded series key.
func (x *Index) Lookup(key []byte) (storage.SeriesID, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.s.lookup(key)
}

// Key returns the decoded series key of id.
func (x *Index) Key(id storage.SeriesID) (storage.SeriesKey, bool) {
	x.mu.RLock()
	key, ok := x.s.keyOf(id)
	x.mu.RUnlock()
	if !ok {
		return storage.SeriesKey{}, false
	}
	k, err := storage.UnmarshalSeriesKey([]byte(key))
	if err != nil {
		x.logger.WithError(err).WithField("series", uint64(id)).Error("undecodable series key in index")
		return storage.SeriesKey{}, false
	}
	return k, true
}

// Sync makes every series created so far durable (write + fsync of the log). When the logs have
// grown past the snapshot threshold it also writes a snapshot.
func (x *Index) Sync() error {
	x.syncMu.Lock()
	defer x.syncMu.Unlock()
	return x.syncLocked(false)
}

// syncLocked writes and fsyncs the log, then snapshots if forced or over the threshold.
// The caller holds syncMu.
func (x *Index) syncLocked(forceSnapshot bool) error {
	if x.closed {
		return ErrClosed
	}
	x.mu.RLock()
	err := x.writeBufLocked()
	f, need := x.f, x.logBytes > x.threshold || (forceSnapshot && x.logBytes > 0)
	x.mu.RUnlock()
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		x.mu.Lock()
		x.err = fmt.Errorf("fsync index log %s: %w", f.Name(), err)
		x.mu.Unlock()
		return x.err
	}
	if need {
		return x.snapshotLocked()
	}
	return nil
}

// snapshotLocked rotates the log and writes a snapshot covering every older log, then removes them.
// The caller holds syncMu and has synced the current log.
func (x *Index) snapshotLocked() error {
	x.mu.RLock()
	if err := x.writeBufLocked(); err != nil {
		x.mu.RUnlock()
		return err
	}
	old, newGen := x.f, x.gen+1
	if err := old.Sync(); err != nil {
		x.mu.RUnlock()
		return err
	}
	nf, err := x.createLog(newGen)
	if err != nil {
		x.mu.RUnlock()
		return fmt.Errorf("rotate index log: %w", err)
	}
	x.f, x.gen = nf, newGen
	covered := x.logBytes
	x.normMu.Lock()
	x.s.normalize()
	data := appendSnapshot(nil, x.s, newGen)
	x.normMu.Unlock()
	nSeries := x.s.n
	x.mu.RUnlock()

	if err := old.Close(); err != nil {
		return err
	}
	path := filepath.Join(x.dir, SnapshotFileName)
	if err := writeFileAtomic(path, data); err != nil {
		return fmt.Errorf("write index snapshot %s: %w", path, err)
	}
	x.mu.Lock()
	x.logBytes -= covered
	x.mu.Unlock()
	gens, err := x.logGens()
	if err != nil {
		return err
	}
	for _, g := range gens {
		if g < newGen {
			if err := os.Remove(x.logPath(g)); err != nil {
				return err
			}
		}
	}
	x.logger.WithFields(logrus.Fields{"series": nSeries, "bytes": len(data), "log_gen": newGen}).Debug("wrote index snapshot")
	return nil
}

// DeleteSeries removes series and makes the removal durable. Unknown ids are ignored.
func (x *Index) DeleteSeries(ids []storage.SeriesID) error {
	x.syncMu.Lock()
	defer x.syncMu.Unlock()
	x.mu.Lock()
	if err := x.mutableLocked(); err != nil {
		x.mu.Unlock()
		return err
	}
	var known []storage.SeriesID
	for _, id := range ids {
		if _, ok := x.s.keyOf(id); ok {
			known = append(known, id)
		}
	}
	if len(known) == 0 {
		x.mu.Unlock()
		return nil
	}
	bufStart, start := len(x.buf), -1
	for _, id := range known {
		if start >= 0 && len(x.buf)-start > splitRecordLen {
			x.buf = finishRecord(x.buf, start)
			start = -1
		}
		if start < 0 {
			x.buf, start = beginRecord(x.buf, recDeleteSeries)
		}
		x.buf = binary.AppendUvarint(x.buf, uint64(id))
	}
	x.buf = finishRecord(x.buf, start)
	x.logBytes += int64(len(x.buf) - bufStart)
	_, err := x.s.deleteSeries(known)
	x.mu.Unlock()
	if err != nil {
		return err
	}
	return x.syncLocked(false)
}

// DropTable removes a table and all its series and makes the removal durable.
func (x *Index) DropTable(table string) error {
	x.syncMu.Lock()
	defer x.syncMu.Unlock()
	x.mu.Lock()
	if err := x.mutableLocked(); err != nil {
		x.mu.Unlock()
		return err
	}
	if x.s.tables[table] == nil {
		x.mu.Unlock()
		return nil
	}
	bufStart := len(x.buf)
	x.buf = appendLogRecord(x.buf, &logRecord{Type: recDropTable, Table: table})
	x.logBytes += int64(len(x.buf) - bufStart)
	x.s.dropTable(table)
	x.mu.Unlock()
	return x.syncLocked(false)
}

func (x *Index) mutableLocked() error {
	if x.closed {
		return ErrClosed
	}
	return x.err
}

// Close writes a snapshot when the logs hold records and closes the log. Reads keep working on the
// in-memory state after Close; mutations return ErrClosed.
func (x *Index) Close() error {
	x.syncMu.Lock()
	defer x.syncMu.Unlock()
	if x.closed {
		return nil
	}
	err := x.syncLocked(true)
	x.mu.Lock()
	x.closed = true
	if cerr := x.f.Close(); err == nil {
		err = cerr
	}
	x.mu.Unlock()
	return err
}

// Len is the number of series.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.s.n
}

// rlock takes the read lock and brings lazily sorted postings up to date.
func (x *Index) rlock() {
	x.mu.RLock()
	x.normMu.Lock()
	x.s.normalize()
	x.normMu.Unlock()
}

// Tables returns the table names, sorted.
func (x *Index) Tables() []string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return sortedKeys(x.s.tables)
}

// TableSeries returns how many series each table has.
func (x *Index) TableSeries() map[string]int {
	x.rlock()
	defer x.mu.RUnlock()
	out := make(map[string]int, len(x.s.tables))
	for name, t := range x.s.tables {
		out[name] = len(t.all.ids)
	}
	return out
}

// TagKeys returns the tag keys of a table, sorted.
func (x *Index) TagKeys(table string) []string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	t := x.s.tables[table]
	if t == nil {
		return nil
	}
	return sortedKeys(t.tags)
}

// TagValues returns the distinct values of a tag of a table, sorted by TagValue.Compare.
func (x *Index) TagValues(table, key string) []storage.TagValue {
	x.rlock()
	defer x.mu.RUnlock()
	t := x.s.tables[table]
	if t == nil {
		return nil
	}
	ti := t.tags[key]
	if ti == nil {
		return nil
	}
	n := 0
	for _, vk := range ti.keys {
		n += len(vk) - 1
	}
	raw := make([]byte, 0, n)
	out := make([]storage.TagValue, len(ti.keys))
	for i, vk := range ti.keys {
		raw = append(raw, vk[1:]...)
		out[i] = storage.TagValue{Type: storage.FieldType(vk[0]), Raw: raw[len(raw)-(len(vk)-1) : len(raw) : len(raw)]}
	}
	return out
}
