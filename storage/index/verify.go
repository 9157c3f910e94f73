package index

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/chronogo/chronogo/storage"
)

// Verify checks the index in dir without changing it (offline tools): the snapshot and every log
// must decode and pass their checksums, and the logs after the snapshot must be contiguous. A torn
// tail of the last log is not damage (Open truncates it). Damage is a *storage.CorruptionError.
func Verify(dir string) error {
	x := &Index{dir: dir}
	firstGen := uint64(1)
	snapPath := filepath.Join(dir, SnapshotFileName)
	data, err := os.ReadFile(snapPath)
	switch {
	case err == nil:
		_, g, err := decodeSnapshot(data)
		if err != nil {
			return corruption(snapPath, err)
		}
		firstGen = g
	case !os.IsNotExist(err):
		return fmt.Errorf("verify index %s: %w", dir, err)
	}
	gens, err := x.logGensReadOnly()
	if err != nil {
		return fmt.Errorf("verify index %s: %w", dir, err)
	}
	var live []uint64
	for _, g := range gens {
		if g >= firstGen {
			live = append(live, g)
		}
	}
	for i, g := range live {
		path := x.logPath(g)
		if want := firstGen + uint64(i); g != want {
			return &storage.CorruptionError{Path: x.logPath(want), Err: fmt.Errorf("log generation missing: got %d; want %d", g, want)}
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("verify index %s: %w", dir, err)
		}
		hg, err := decodeLogHeader(data)
		if err != nil {
			return &storage.CorruptionError{Path: path, Err: err}
		}
		if hg != g {
			return &storage.CorruptionError{Path: path, Offset: 8, Err: fmt.Errorf("log generation: got %d; want %d", hg, g)}
		}
		end, torn, err := scanFrames(data, logHeaderSize, func(_ int, payload []byte) error {
			_, err := decodeLogRecord(payload)
			return err
		})
		if err != nil {
			return corruption(path, err)
		}
		if torn && i != len(live)-1 {
			return &storage.CorruptionError{Path: path, Offset: int64(end), Err: errors.New("torn record in a log that is not the last")}
		}
	}
	return nil
}

// logGensReadOnly is logGens without removing temp files.
func (x *Index) logGensReadOnly() ([]uint64, error) {
	ents, err := os.ReadDir(x.dir)
	if err != nil {
		return nil, err
	}
	var gens []uint64
	for _, e := range ents {
		if g, ok := parseLogName(e.Name()); ok {
			gens = append(gens, g)
		}
	}
	slices.Sort(gens)
	return gens, nil
}
