package mongo

import "github.com/prometheus/client_golang/prometheus"

// Metrics of the MongoDB listener.
var (
	refusedConns = prometheus.NewCounter(prometheus.CounterOpts{Namespace: "chronogo", Subsystem: "mongo",
		Name: "connections_refused_total", Help: "Client connections closed at once because MaxConnections were open."})
	commandsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "chronogo", Subsystem: "mongo",
		Name: "commands_total", Help: "MongoDB commands answered, by command and outcome (ok, or the error's codeName)."},
		[]string{"command", "outcome"})
	commandSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "chronogo", Subsystem: "mongo",
		Name: "command_seconds", Help: "Time to answer a MongoDB command (a streaming query's first batch), by command.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10)}, []string{"command"})
	acceptedConns = prometheus.NewCounter(prometheus.CounterOpts{Namespace: "chronogo", Subsystem: "mongo",
		Name: "connections_accepted_total", Help: "Client connections accepted."})
	openConns = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "chronogo", Subsystem: "mongo",
		Name: "connections", Help: "Client connections open now."})
	messageMemoryTimeouts = prometheus.NewCounter(prometheus.CounterOpts{Namespace: "chronogo", Subsystem: "mongo",
		Name: "message_memory_timeouts_total", Help: "Connections closed because no message memory (MessageMemory) was free within FrameTimeout."})
)

func init() {
	prometheus.MustRegister(refusedConns, acceptedConns, openConns, messageMemoryTimeouts, commandsTotal, commandSeconds,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "chronogo", Subsystem: "mongo", Name: "open_cursors",
			Help: "Open MongoDB cursors."}, func() float64 { n, _ := cursorTotals(); return float64(n) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "chronogo", Subsystem: "mongo", Name: "cursor_bytes",
			Help: "Memory the open cursors are counted for against --cursor-memory."}, func() float64 { _, b := cursorTotals(); return float64(b) }))
}
