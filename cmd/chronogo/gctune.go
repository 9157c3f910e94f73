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

// An idle server gives its free heap back to the system at once: after a load or a big query the
// runtime's scavenger returns it only slowly (RSS stayed ~80 MiB above the live heap for minutes).
// Idle means less than idleAllocBytes allocated per gcTuneEvery for idleAfter; the release happens
// only when at least idleFreeBytes are free and not yet released (the warm heap of small queries is
// kept: a query on a cold heap pays its page faults, 1 ms → 3 ms for Q1).
const (
	idleAllocBytes = 1 << 20
	idleAfter      = 10 * time.Second
	idleFreeBytes  = 16 << 20
)

// idleRelease decides when to release memory: once per idle period.
type idleRelease struct {
	quiet    time.Duration // idle so far
	released bool          // in this idle period
}

// tick takes the bytes allocated during the last period and the heap's free, unreleased bytes,
// and reports whether to release now.
func (r *idleRelease) tick(allocated, free uint64, period time.Duration) bool {
	if allocated >= idleAllocBytes {
		r.quiet, r.released = 0, false
		return false
	}
	r.quiet += period
	if r.quiet >= idleAfter && !r.released && free >= idleFreeBytes {
		r.released = true
		return true
	}
	return false
}

// tuneGC runs until ctx ends. A GOGC in the environment turns the percent tuning off (idle
// release stays).
func tuneGC(ctx context.Context) {
	tune := os.Getenv("GOGC") == ""
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/gc/heap/allocs:bytes"}, {Name: "/memory/classes/heap/free:bytes"}}
	t := time.NewTicker(gcTuneEvery)
	defer t.Stop()
	current := -1
	var idle idleRelease
	var lastAllocs uint64
	for {
		metrics.Read(sample)
		if p := gcPercentFor(sample[0].Value.Uint64()); tune && p != current {
			debug.SetGCPercent(p)
			current = p
		}
		allocs := sample[1].Value.Uint64()
		if lastAllocs != 0 && idle.tick(allocs-lastAllocs, sample[2].Value.Uint64(), gcTuneEvery) {
			debug.FreeOSMemory()
		}
		lastAllocs = allocs
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
