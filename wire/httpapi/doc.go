// Package httpapi serves ChronoGo's HTTP endpoints: InfluxDB v1 line protocol writes (/write),
// Prometheus metrics (/metrics), a health check (/health) and, with --pprof, Go's profiler (/debug/pprof).
package httpapi
