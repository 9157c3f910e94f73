package backend

import (
	"runtime/metrics"

	"github.com/prometheus/client_golang/prometheus"
)

// Memory by component: chronogo_memory_bytes{component}, from the vnodes' memcache figures and the
// Go runtime's memory classes (runtime/metrics), so that an operator sees what the RSS is made of:
//   - memcache: points in the vnodes' memcaches, waiting for a flush (the size of their slices);
//   - heap_other: the rest of the live and not yet collected Go heap (requests in flight, index,
//     TSM file indexes, cursors, compaction buffers);
//   - heap_free: heap pages the runtime holds for reuse (returned to the OS when the node is quiet);
//   - stacks and runtime: goroutine stacks and the runtime's own metadata.
var memoryBytes = prometheus.NewDesc("chronogo_memory_bytes", "Memory held by the process, by component (memcache, heap_other, heap_free, stacks, runtime).", []string{"component"}, nil)

var memorySamples = []metrics.Sample{
	{Name: "/memory/classes/heap/objects:bytes"},
	{Name: "/memory/classes/heap/unused:bytes"},
	{Name: "/memory/classes/heap/free:bytes"},
	{Name: "/memory/classes/heap/stacks:bytes"},
	{Name: "/memory/classes/os-stacks:bytes"},
	{Name: "/memory/classes/metadata/other:bytes"},
	{Name: "/memory/classes/metadata/mspan/inuse:bytes"},
	{Name: "/memory/classes/metadata/mcache/inuse:bytes"},
	{Name: "/memory/classes/other:bytes"},
	{Name: "/memory/classes/profiling/buckets:bytes"},
}

// memoryComponents splits the process's memory given the memcaches' bytes.
func memoryComponents(memcache uint64) map[string]uint64 {
	s := make([]metrics.Sample, len(memorySamples))
	copy(s, memorySamples)
	metrics.Read(s)
	v := func(i int) uint64 {
		if s[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return s[i].Value.Uint64()
	}
	heap := v(0) + v(1) // objects, and the unused tails of their spans
	memcache = min(memcache, heap)
	return map[string]uint64{
		"memcache":   memcache,
		"heap_other": heap - memcache,
		"heap_free":  v(2),
		"stacks":     v(3) + v(4),
		"runtime":    v(5) + v(6) + v(7) + v(8) + v(9),
	}
}

func collectMemory(ch chan<- prometheus.Metric, memcache uint64) {
	for c, b := range memoryComponents(memcache) {
		ch <- prometheus.MustNewConstMetric(memoryBytes, prometheus.GaugeValue, float64(b), c)
	}
}
