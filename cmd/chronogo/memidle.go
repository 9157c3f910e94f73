package main

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/sirupsen/logrus"
)

// Returning memory after a load. The Go runtime keeps the heap it grew for a load and returns
// it to the operating system only slowly, and only as garbage collections lower its goal; a
// server that has gone quiet runs no collection, so it would keep its peak RSS (and the garbage
// of its last flush or compaction) for good. Every idleCheck, if the heap grew by less than
// idleAllocs since the last check (no load to speak of) and the heap holds more than idleFree
// bytes beyond what the last collection found live, the server collects and returns the free
// pages (debug.FreeOSMemory): its RSS falls back to what it really uses.
const (
	idleCheck  = 15 * time.Second
	idleAllocs = 64 << 20
	idleFree   = 32 << 20
)

var idleSamples = []metrics.Sample{
	{Name: "/gc/heap/allocs:bytes"},
	{Name: "/gc/heap/live:bytes"},
	{Name: "/memory/classes/heap/objects:bytes"},
	{Name: "/memory/classes/heap/free:bytes"},
}

// releaseIdleMemory runs until ctx ends.
func releaseIdleMemory(ctx context.Context, log logrus.FieldLogger) {
	t := time.NewTicker(idleCheck)
	defer t.Stop()
	var lastAllocs uint64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		metrics.Read(idleSamples)
		allocs, live := idleSamples[0].Value.Uint64(), idleSamples[1].Value.Uint64()
		held := idleSamples[2].Value.Uint64() + idleSamples[3].Value.Uint64()
		quiet := lastAllocs != 0 && allocs-lastAllocs < idleAllocs
		lastAllocs = allocs
		if quiet && held > live+idleFree {
			debug.FreeOSMemory()
			log.WithField("held", humanize.IBytes(held)).Debug("quiet: collected and returned free heap to the OS")
		}
	}
}
