package handoff

import (
	"cmp"
	"slices"
	"sync"
	"time"
)

// TargetStats are the figures of one target node's queue and replay.
type TargetStats struct {
	Node     uint64
	Hints    int    // queued hints
	Bytes    int64  // their bytes on disk (record frames included)
	Expired  uint64 // hints dropped because they were older than MaxHintWindow
	Corrupt  uint64 // hints dropped because they did not decode
	Replayed uint64 // hints the target acknowledged
	Skipped  uint64 // hints the target refused with a non-retryable error (dropped)
	Refused  uint64 // hints not stored because the queue was full or broken
	// Oldest is when the oldest hint being replayed was queued (zero when none is: the queue is
	// empty or between rounds).
	Oldest time.Time
}

// registry holds the latest TargetStats of every target actor; the actors write, Stats reads.
type registry struct {
	mu      sync.Mutex
	m       map[uint64]TargetStats
	unknown map[uint64]bool // queues found on disk at start whose actor has not published yet
}

func newRegistry() *registry {
	return &registry{m: map[uint64]TargetStats{}, unknown: map[uint64]bool{}}
}

func (r *registry) set(s TargetStats) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.m[s.Node] = s
	delete(r.unknown, s.Node)
}

// holding reports whether any queue may hold a hint.
func (r *registry) holding() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.unknown) > 0 {
		return true
	}
	for _, s := range r.m {
		if s.Hints > 0 {
			return true
		}
	}
	return false
}

// all returns every target's stats sorted by node id.
func (r *registry) all() []TargetStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]TargetStats, 0, len(r.m))
	for _, s := range r.m {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b TargetStats) int { return cmp.Compare(a.Node, b.Node) })
	return out
}
