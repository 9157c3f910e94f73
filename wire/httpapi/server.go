package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/sirupsen/logrus"

	"github.com/chronogo/chronogo/wire/lineproto"
)

// LineWriter stores parsed line protocol in database db (creating collections as needed).
type LineWriter interface {
	WriteLines(ctx context.Context, db string, b *lineproto.Batches) error
}

// Health reports whether the server can take requests; nil means healthy.
type Health func(ctx context.Context) error

// MaxBodySize bounds a /write request body.
const MaxBodySize = 256 << 20

// Metrics of the HTTP endpoints.
var (
	writeLines = prometheus.NewCounter(prometheus.CounterOpts{Namespace: "chronogo", Subsystem: "http",
		Name: "write_lines_total", Help: "Line-protocol lines written through /write."})
	writeValues = prometheus.NewCounter(prometheus.CounterOpts{Namespace: "chronogo", Subsystem: "http",
		Name: "write_values_total", Help: "Field values written through /write."})
	writeErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "chronogo", Subsystem: "http",
		Name: "write_errors_total", Help: "Failed /write requests by reason."}, []string{"reason"})
)

func init() {
	prometheus.MustRegister(writeLines, writeValues, writeErrors)
}

// Handler returns the HTTP routes; callers may add their own to the mux. A nil w (a meta node,
// which stores no data) serves no /write.
func Handler(w LineWriter, health Health, log logrus.FieldLogger) *http.ServeMux {
	mux := http.NewServeMux()
	if w != nil {
		mux.HandleFunc("POST /write", func(rw http.ResponseWriter, r *http.Request) { handleWrite(rw, r, w, log) })
	}
	mux.HandleFunc("GET /health", func(rw http.ResponseWriter, r *http.Request) {
		if err := health(r.Context()); err != nil {
			http.Error(rw, `{"status":"unhealthy","error":`+quote(err.Error())+`}`, http.StatusServiceUnavailable)
			return
		}
		rw.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(rw, `{"status":"ok"}`)
	})
	mux.Handle("GET /metrics", promhttp.Handler())
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

func quote(s string) string { return fmt.Sprintf("%q", s) }

// writeError answers in InfluxDB 1.x's shape: {"error": "..."}.
func writeError(rw http.ResponseWriter, status int, reason, msg string) {
	writeErrors.WithLabelValues(reason).Inc()
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(status)
	_, _ = io.WriteString(rw, `{"error":`+quote(msg)+`}`)
}

func handleWrite(rw http.ResponseWriter, r *http.Request, w LineWriter, log logrus.FieldLogger) {
	db := r.URL.Query().Get("db")
	if db == "" {
		writeError(rw, http.StatusBadRequest, "no_db", "database is required (?db=...)")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, MaxBodySize))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(rw, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("request body larger than %d bytes", MaxBodySize))
			return
		}
		writeError(rw, http.StatusBadRequest, "read", "reading body: "+err.Error())
		return
	}
	batches, err := lineproto.Parse(body, r.URL.Query().Get("precision"), time.Now().UnixNano())
	if err != nil {
		writeError(rw, http.StatusBadRequest, "parse", "unable to parse: "+err.Error())
		return
	}
	batches.Finish()
	if err := w.WriteLines(r.Context(), db, batches); err != nil {
		log.WithError(err).WithField("db", db).Warn("line protocol write failed")
		writeError(rw, http.StatusInternalServerError, "write", err.Error())
		return
	}
	writeLines.Add(float64(batches.Lines))
	writeValues.Add(float64(batches.Values))
	rw.WriteHeader(http.StatusNoContent)
}
