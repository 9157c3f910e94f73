package actors

import (
	"sync"
	"time"
)

// HLCLogicalBits is the width of the logical counter in an HLC timestamp.
const HLCLogicalBits = 16

// HLC is a hybrid logical clock: timestamps are physical milliseconds << 16 | a logical counter.
// Every timestamp it returns is larger than every timestamp it returned or observed before, even if
// the wall clock goes back; when more than 65535 timestamps fall in one millisecond the counter
// carries into the millisecond part, which keeps the order. Safe for concurrent use.
type HLC struct {
	mu   sync.Mutex
	last uint64
	now  func() time.Time
}

// NewHLC returns a clock reading now (time.Now when nil).
func NewHLC(now func() time.Time) *HLC {
	if now == nil {
		now = time.Now
	}
	return &HLC{now: now}
}

// Now returns a new timestamp.
func (c *HLC) Now() uint64 {
	phys := physical(c.now())
	c.mu.Lock()
	defer c.mu.Unlock()
	if phys > c.last {
		c.last = phys
	} else {
		c.last++
	}
	return c.last
}

// Observe moves the clock past a timestamp seen from another node, so that later local
// timestamps order after it.
func (c *HLC) Observe(ts uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.last = max(c.last, ts)
}

// HLCTime is the wall-clock millisecond part of an HLC timestamp.
func HLCTime(ts uint64) time.Time { return time.UnixMilli(int64(ts >> HLCLogicalBits)) }

func physical(t time.Time) uint64 {
	ms := t.UnixMilli()
	if ms < 0 {
		ms = 0
	}
	return uint64(ms) << HLCLogicalBits
}
