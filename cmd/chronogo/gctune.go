package main

import (
	"context"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// Tuning the collector to the live heap. Go's default (GOGC=100) lets the heap grow by as much
// again as the last collection found live. During a load most of the live heap is memcache
// columns, and that doubling is what sets the peak RSS; during queries the live heap is small
// and allocation is fast, and a tighter setting only means more collections (Q2 ran 20 % slower
// at a fixed GOGC=50). So every gcTuneEvery the server sets the headroom to half the live heap,
// but never less than gcMinHeadroom: GOGC 100 up to gcMinHeadroom live, down to 50 at twice that.
// A GOGC in the environment turns the tuning off.
const (
	gcTuneEvery   = 250 * time.Millisecond
	gcMinHeadroom = 64 << 20
	gcMinPercent  = 50
	gcMaxPercent  = 100
)

// gcPercentFor is the GOGC for a live heap of live bytes, in steps of 5.
func gcPercentFor(live uint64) int {
	if live == 0 {
		return gcMaxPercent
	}
	headroom := max(live/2, gcMinHeadroom)
	p := int(headroom * 100 / live)
	p = min(max(p, gcMinPercent), gcMaxPercent)
	return p / 5 * 5
}

// tuneGC runs until ctx ends (nothing when the environment sets GOGC).
func tuneGC(ctx context.Context) {
	if os.Getenv("GOGC") != "" {
		return
	}
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	t := time.NewTicker(gcTuneEvery)
	defer t.Stop()
	current := -1
	for {
		metrics.Read(sample)
		if p := gcPercentFor(sample[0].Value.Uint64()); p != current {
			debug.SetGCPercent(p)
			current = p
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
