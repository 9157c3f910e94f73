// Package httpapi serves ChronoGo's HTTP endpoints: InfluxDB v1 line protocol writes (/write),
// Prometheus remote write and read (/api/v1/prom/...), metrics (/metrics), a health check
// (/health), the admin API and, with --pprof, Go's profiler (/debug/pprof).
package httpapi
