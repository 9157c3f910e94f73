package engine

import (
	"github.com/sirupsen/logrus"

	"github.com/chronogo/chronogo/storage/compaction"
	"github.com/chronogo/chronogo/storage/wal"
)

// Options configure a vnode.
type Options struct {
	Sync           wal.SyncPolicy // fsync policy of the WAL (default: fsync before acknowledging)
	WALSegmentSize int64          // default 64 MiB
	// CacheSize is the memcache size (approximate bytes) at which the mutable cache becomes
	// immutable and a flush is due. Default 64 MiB.
	CacheSize int64
	// MaxImmutable is how many immutable caches may wait for a flush before Write refuses with
	// ErrWriteStall. Default 4.
	MaxImmutable int
	// CacheBudget, shared by a node's vnodes, bounds their memcaches together (nil: no bound).
	CacheBudget *CacheBudget
	Compaction  compaction.Options
	// StableVersion, if set, returns a version that every future write is guaranteed to exceed
	// (the coordinator's clock minus the hinted-handoff window). Compaction uses it to store columns
	// with one version; without it per-point versions are kept.
	StableVersion func() uint64
	Logger        logrus.FieldLogger
}

func (o Options) withDefaults() Options {
	if o.CacheSize <= 0 {
		o.CacheSize = 64 << 20
	}
	if o.MaxImmutable <= 0 {
		o.MaxImmutable = 4
	}
	if o.WALSegmentSize <= 0 {
		o.WALSegmentSize = 64 << 20
	}
	if o.Logger == nil {
		o.Logger = logrus.StandardLogger()
	}
	o.Compaction = o.Compaction.WithDefaults()
	return o
}
