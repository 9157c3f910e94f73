package index

import (
	"fmt"

	"github.com/chronogo/chronogo/storage"
)

// RawKey returns the encoded series key of id (a new slice), as TSM files store it.
func (x *Index) RawKey(id storage.SeriesID) ([]byte, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	key, ok := x.s.keyOf(id)
	if !ok {
		return nil, false
	}
	return []byte(key), true
}

// Adopt adds series whose ids are already fixed (read back from the series-key tables of TSM files
// when a lost index is rebuilt), raises the id counter to at least minNext (past every id the
// files use, named or not, so no new series takes one of them), and makes it all durable with a
// snapshot. A key that already has an id, an id that already has a key, or an entry that is not
// valid (undecodable key, hash that does not match) is skipped and counted.
func (x *Index) Adopt(ids []storage.SeriesID, keys [][]byte, minNext uint64) (adopted, skipped int, err error) {
	x.syncMu.Lock()
	defer x.syncMu.Unlock()
	x.mu.Lock()
	if x.closed {
		x.mu.Unlock()
		return 0, 0, ErrClosed
	}
	bufStart, start := len(x.buf), -1
	for i, id := range ids {
		k := keys[i]
		_, have := x.s.lookup(k)
		_, used := x.s.keyOf(id)
		sk, kerr := validateKey(k)
		if have || used || kerr != nil || id.AutoInc() == 0 || storage.HashSeriesKey(k) != id.Hash24() {
			skipped++
			continue
		}
		x.s.insert(k, id, &sk)
		adopted++
		start = x.bufferAdd(start, id, k)
	}
	if start >= 0 {
		x.buf = finishRecord(x.buf, start)
	}
	x.logBytes += int64(len(x.buf) - bufStart)
	if minNext > storage.MaxAutoInc+1 {
		minNext = storage.MaxAutoInc + 1
	}
	x.s.next = max(x.s.next, minNext)
	x.logBytes++ // a snapshot is due even with nothing adopted: it keeps the raised counter
	x.mu.Unlock()
	if err := x.syncLocked(true); err != nil {
		return adopted, skipped, fmt.Errorf("adopt series: %w", err)
	}
	return adopted, skipped, nil
}
