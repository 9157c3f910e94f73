package plain

import (
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"sync"

	"github.com/cockroachdb/pebble"
	sm "github.com/lni/dragonboat/v4/statemachine"
)

// Limits bound each collection: plain collections are sized for metadata (device registries),
// not for measurements.
type Limits struct {
	MaxDocs  int64
	MaxBytes int64
}

// DefaultLimits are 1M documents and 1 GiB of documents per collection.
var DefaultLimits = Limits{MaxDocs: 1_000_000, MaxBytes: 1 << 30}

// Machine is the plain-collections shard's dragonboat IOnDiskStateMachine: a pebble database in
// its own directory. Updates commit without fsync, with the applied index in the same batch;
// Sync makes them durable before dragonboat compacts its log.
type Machine struct {
	dir    string
	limits Limits

	mu      sync.RWMutex // guards db against Close
	db      *pebble.DB
	applied uint64
}

var _ sm.IOnDiskStateMachine = (*Machine)(nil)

// NewStateMachineFunc returns the CreateOnDiskStateMachineFunc of the shard, keeping each
// replica's database under baseDir.
func NewStateMachineFunc(baseDir string, limits Limits) sm.CreateOnDiskStateMachineFunc {
	return func(shardID, replicaID uint64) sm.IOnDiskStateMachine {
		return NewMachine(filepath.Join(baseDir, fmt.Sprintf("plain-%d-%d", shardID, replicaID)), limits)
	}
}

// NewMachine returns a machine over the database in dir (opened by Open).
func NewMachine(dir string, limits Limits) *Machine {
	return &Machine{dir: dir, limits: limits}
}

// pebbleOptions keep the store small: it holds metadata.
func pebbleOptions() *pebble.Options {
	return &pebble.Options{MemTableSize: 2 << 20, MaxOpenFiles: 256, Cache: pebble.NewCache(8 << 20)}
}

// Open opens (or creates) the database and returns the last applied index.
func (m *Machine) Open(<-chan struct{}) (uint64, error) {
	opts := pebbleOptions()
	defer opts.Cache.Unref()
	db, err := pebble.Open(m.dir, opts)
	if err != nil {
		return 0, fmt.Errorf("open plain store %s: %w", m.dir, err)
	}
	applied, err := readApplied(db)
	if err != nil {
		_ = db.Close()
		return 0, fmt.Errorf("open plain store %s: %w", m.dir, err)
	}
	m.mu.Lock()
	m.db, m.applied = db, applied
	m.mu.Unlock()
	return applied, nil
}

func readApplied(db *pebble.DB) (uint64, error) {
	v, closer, err := db.Get(appliedKey)
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer closer.Close()
	if len(v) != 8 {
		return 0, fmt.Errorf("applied index of %d bytes", len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

// Update applies entries in one batch, with the index of the last.
func (m *Machine) Update(entries []sm.Entry) ([]sm.Entry, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.db == nil {
		return nil, errors.New("plain store is closed")
	}
	b := m.db.NewIndexedBatch()
	defer b.Close()
	last := m.applied
	for i := range entries {
		e := &entries[i]
		if e.Index <= m.applied {
			continue // already applied before a restart
		}
		var res Result
		if c, err := DecodeCommand(e.Cmd); err != nil {
			res = Result{Code: CodeInvalid, Message: err.Error()}
		} else if res, err = m.apply(b, e.Index, &c); err != nil {
			return nil, fmt.Errorf("apply plain entry %d: %w", e.Index, err)
		}
		e.Result = sm.Result{Value: res.Code, Data: EncodeResult(res)}
		last = e.Index
	}
	if err := b.Set(appliedKey, binary.BigEndian.AppendUint64(nil, last), nil); err != nil {
		return nil, err
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		return nil, fmt.Errorf("commit plain batch: %w", err)
	}
	m.applied = last
	return entries, nil
}

// Sync makes every applied update durable.
func (m *Machine) Sync() error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.db == nil {
		return errors.New("plain store is closed")
	}
	return m.db.LogData(nil, pebble.Sync)
}

// Close closes the database.
func (m *Machine) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.db == nil {
		return nil
	}
	err := m.db.Close()
	m.db = nil
	return err
}
