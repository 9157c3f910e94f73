package coordinator

import (
	"sync"
	"sync/atomic"
	"time"
)

// WriteStats is what the coordinator of a node did: writes in flight, and writes answered by
// consistency level since the node started.
type WriteStats struct {
	Inflight int64                 `json:"inflight"`
	Levels   map[string]LevelStats `json:"levels"`
}

// LevelStats counts the writes answered at one consistency level.
type LevelStats struct {
	Writes      uint64 `json:"writes"`
	Failed      uint64 `json:"failed"` // answered with an error (a partial write included)
	Rows        uint64 `json:"rows"`   // rows (documents, lines) of the writes
	TotalMicros uint64 `json:"totalMicros"`
	MaxMicros   uint64 `json:"maxMicros"`
}

// writeStats collects WriteStats; the coordinator actor and its write jobs update it.
type writeStats struct {
	inflight atomic.Int64
	mu       sync.Mutex
	byLevel  map[Level]*LevelStats
}

func newWriteStats() *writeStats { return &writeStats{byLevel: map[Level]*LevelStats{}} }

// answered records a write answered after d.
func (s *writeStats) answered(l Level, rows int, d time.Duration, failed bool) {
	us := uint64(max(d.Microseconds(), 0))
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.byLevel[l]
	if st == nil {
		st = &LevelStats{}
		s.byLevel[l] = st
	}
	st.Writes++
	st.Rows += uint64(rows)
	st.TotalMicros += us
	st.MaxMicros = max(st.MaxMicros, us)
	if failed {
		st.Failed++
	}
}

// Stats returns the coordinator's figures.
func (c *Client) Stats() WriteStats {
	s := c.cfg.stats
	out := WriteStats{Inflight: s.inflight.Load(), Levels: map[string]LevelStats{}}
	s.mu.Lock()
	defer s.mu.Unlock()
	for l, st := range s.byLevel {
		out.Levels[l.String()] = *st
	}
	return out
}
