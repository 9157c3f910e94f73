package vnode

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics of the flush and compaction jobs of every vnode of the process.
var (
	jobBuckets     = prometheus.ExponentialBuckets(0.001, 4, 10) // 1 ms .. 4.4 min
	flushSeconds   = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "chronogo", Name: "flush_seconds", Help: "Duration of vnode flushes (memcaches to TSM files), committed or failed.", Buckets: jobBuckets})
	flushBytes     = prometheus.NewCounter(prometheus.CounterOpts{Namespace: "chronogo", Name: "flush_bytes_total", Help: "Bytes of TSM files written by flushes."})
	flushFailures  = prometheus.NewCounter(prometheus.CounterOpts{Namespace: "chronogo", Name: "flush_failures_total", Help: "Flushes that failed (full disk, damage); the data stays in memory and the WAL."})
	compactSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "chronogo", Name: "compaction_seconds", Help: "Duration of vnode compactions, by kind (level: due by file counts; full: settling, requests).", Buckets: jobBuckets}, []string{"kind"})
	compactIn      = prometheus.NewCounter(prometheus.CounterOpts{Namespace: "chronogo", Name: "compaction_input_bytes_total", Help: "Bytes of TSM files merged by compactions."})
	compactOut     = prometheus.NewCounter(prometheus.CounterOpts{Namespace: "chronogo", Name: "compaction_output_bytes_total", Help: "Bytes of TSM files written by compactions."})
	compactFails   = prometheus.NewCounter(prometheus.CounterOpts{Namespace: "chronogo", Name: "compaction_failures_total", Help: "Compactions that failed or were abandoned."})
)

func init() {
	prometheus.MustRegister(flushSeconds, flushBytes, flushFailures, compactSeconds, compactIn, compactOut, compactFails)
}

// observeFlush records a finished flush that started at began.
func observeFlush(began time.Time, bytes int64, err error) {
	flushSeconds.Observe(time.Since(began).Seconds())
	if err != nil {
		flushFailures.Inc()
		return
	}
	flushBytes.Add(float64(bytes))
}

// observeCompaction records a finished compaction that started at began.
func observeCompaction(began time.Time, full bool, in, out int64, err error) {
	kind := "level"
	if full {
		kind = "full"
	}
	compactSeconds.WithLabelValues(kind).Observe(time.Since(began).Seconds())
	if err != nil {
		compactFails.Inc()
		return
	}
	compactIn.Add(float64(in))
	compactOut.Add(float64(out))
}
