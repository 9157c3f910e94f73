package mongo

import "github.com/prometheus/client_golang/prometheus"

// Metrics of the MongoDB listener.
var (
	refusedConns = prometheus.NewCounter(prometheus.CounterOpts{Namespace: "chronogo", Subsystem: "mongo",
		Name: "connections_refused_total", Help: "Client connections closed at once because MaxConnections were open."})
	messageMemoryTimeouts = prometheus.NewCounter(prometheus.CounterOpts{Namespace: "chronogo", Subsystem: "mongo",
		Name: "message_memory_timeouts_total", Help: "Connections closed because no message memory (MessageMemory) was free within FrameTimeout."})
)

func init() {
	prometheus.MustRegister(refusedConns, messageMemoryTimeouts)
}
