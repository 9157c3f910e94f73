package handoff

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"

	"github.com/chronogo/chronogo/actors"
)

// Config configures the handoff manager and its target actors.
type Config struct {
	// Dir holds one queue directory per target node: <Dir>/<node id>/.
	Dir string
	// NodeID is this node; hints for it (a local replica that failed) replay to LocalManager.
	NodeID       uint64
	LocalManager *actor.PID
	// Placement resolves a target node's actor address before every replay attempt.
	Placement actors.Placement
	// MaxBytes bounds each target's queue (default 1 GiB), SegmentSize its segments (64 MiB).
	MaxBytes, SegmentSize int64
	// MaxHintWindow is the age after which a hint is dropped instead of replayed (default 3 h).
	MaxHintWindow time.Duration
	// ReplayTimeout bounds one replayed write's answer (default 2 s).
	ReplayTimeout time.Duration
	// MinBackoff is the delay before retrying a target that failed, doubling up to MaxBackoff
	// (defaults 200 ms and 10 s).
	MinBackoff, MaxBackoff time.Duration
	// ReplayBatch is how many hints are in flight to a target at once (default 8).
	ReplayBatch int
	Logger      logrus.FieldLogger
	// Now is the clock of enqueue times and expiry (time.Now when nil; tests set it).
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.ReplayTimeout <= 0 {
		c.ReplayTimeout = 2 * time.Second
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = 200 * time.Millisecond
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 10 * time.Second
	}
	c.MaxBackoff = max(c.MaxBackoff, c.MinBackoff)
	if c.ReplayBatch <= 0 {
		c.ReplayBatch = 8
	}
	if c.Logger == nil {
		c.Logger = logrus.StandardLogger()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	q := c.queueOptions().withDefaults()
	c.MaxBytes, c.SegmentSize, c.MaxHintWindow = q.MaxBytes, q.SegmentSize, q.MaxHintWindow
	return c
}

func (c Config) queueOptions() QueueOptions {
	return QueueOptions{MaxBytes: c.MaxBytes, SegmentSize: c.SegmentSize, MaxHintWindow: c.MaxHintWindow, Logger: c.Logger}
}
