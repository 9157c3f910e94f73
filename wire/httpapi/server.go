package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/pprof"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/sirupsen/logrus"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/wire/console"
	"github.com/chronogo/chronogo/wire/lineproto"
)

// LineWriter stores parsed line protocol in database db (creating collections as needed).
type LineWriter interface {
	WriteLines(ctx context.Context, db string, b *lineproto.Batches) error
}

// Health reports whether the server can take requests; nil means healthy.
type Health func(ctx context.Context) error

// Options tune the HTTP API; zero values take the defaults.
type Options struct {
	Log logrus.FieldLogger
	// Stopping, when set, ends when the node stops: long admin work (a repair) stops with it
	// instead of holding the shutdown.
	Stopping context.Context
	// MaxBodySize bounds a /write body (bytes); a longer one is refused with 413 as soon as the
	// limit is passed, before it is parsed. Default DefaultMaxBodySize.
	MaxBodySize int64
	// MaxConcurrentWrites bounds the /write requests read and parsed at once (memory: about this
	// times 3 × MaxBodySize); others wait up to WriteQueueTimeout, then get 503. Default 8.
	MaxConcurrentWrites int
	// WriteQueueTimeout is how long a /write waits for its turn. Default 30 s.
	WriteQueueTimeout time.Duration
	// Pprof serves /debug/pprof (off by default).
	Pprof bool
	// Auth, when set, is asked about every /write's credentials (InfluxDB 1.x: u and p parameters,
	// Basic auth, or "Authorization: Token user:password"): 401 unless it says the user may write
	// into db (403 when the user may not). The lines land in the user's tenant.
	Auth func(ctx context.Context, db, user, password string) (tenant string, mayWrite bool, ok bool, err error)
	// ReadAuth is Auth for Prometheus remote reads (mayRead in place of mayWrite).
	ReadAuth func(ctx context.Context, db, user, password string) (tenant string, mayRead bool, ok bool, err error)
	// Admin, when set, serves the admin API: POST /api/v1/compact, POST /api/v1/flush, GET /api/v1/nodes. AdminAuth, when set, admits
	// only the cluster administrators it names (Basic auth).
	Admin     Admin
	AdminAuth AdminAuth
}

// DefaultMaxBodySize is InfluxDB 1.x's max-body-size: 25 MB.
const DefaultMaxBodySize = 25_000_000

func (o Options) withDefaults() Options {
	if o.Log == nil {
		o.Log = logrus.StandardLogger()
	}
	if o.MaxBodySize <= 0 {
		o.MaxBodySize = DefaultMaxBodySize
	}
	if o.MaxConcurrentWrites <= 0 {
		o.MaxConcurrentWrites = 8
	}
	if o.WriteQueueTimeout <= 0 {
		o.WriteQueueTimeout = 30 * time.Second
	}
	return o
}

// PartialWriteError says that some of a body's values were stored before Err stopped the rest.
type PartialWriteError struct {
	Written, Dropped int
	Err              error
}

func (e *PartialWriteError) Error() string {
	return fmt.Sprintf("partial write: %v written=%d dropped=%d", e.Err, e.Written, e.Dropped)
}

func (e *PartialWriteError) Unwrap() error { return e.Err }

// Metrics of the HTTP endpoints.
var (
	writeLines = prometheus.NewCounter(prometheus.CounterOpts{Namespace: "chronogo", Subsystem: "http",
		Name: "write_lines_total", Help: "Line-protocol lines written through /write."})
	writeValues = prometheus.NewCounter(prometheus.CounterOpts{Namespace: "chronogo", Subsystem: "http",
		Name: "write_values_total", Help: "Field values written through /write."})
	writeErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "chronogo", Subsystem: "http",
		Name: "write_errors_total", Help: "Failed /write, remote write and remote read requests by reason."}, []string{"reason"})
	promSamples = prometheus.NewCounter(prometheus.CounterOpts{Namespace: "chronogo", Subsystem: "http",
		Name: "prom_write_samples_total", Help: "Samples written through Prometheus remote write."})
)

func init() {
	prometheus.MustRegister(writeLines, writeValues, writeErrors, promSamples)
}

// Handler returns the HTTP routes; callers may add their own to the mux. A nil w (a meta node,
// which stores no data) serves no /write.
func Handler(w LineWriter, health Health, opts Options) *http.ServeMux {
	opts = opts.withDefaults()
	mux := http.NewServeMux()
	if w != nil {
		h := &writeHandler{w: w, opts: opts, slots: make(chan struct{}, opts.MaxConcurrentWrites)}
		mux.Handle("POST /write", h)
		mux.HandleFunc("POST /api/v1/prom/write", h.promWrite)
		if pr, ok := w.(PromReader); ok {
			h.prom = pr
			mux.HandleFunc("POST /api/v1/prom/read", h.promRead)
		}
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
	if opts.Admin != nil {
		mux.Handle("POST /api/v1/compact", compactHandler(opts.Admin, opts.AdminAuth))
		mux.Handle("POST /api/v1/flush", flushHandler(opts.Admin, opts.AdminAuth))
		mux.Handle("GET /api/v1/nodes", nodesHandler(opts.Admin.Nodes, opts.AdminAuth))
		if bk, ok := opts.Admin.(Backups); ok {
			backupRoutes(mux, bk, opts.AdminAuth)
		}
		if pl, ok := opts.Admin.(Placements); ok {
			placementRoutes(mux, pl, opts.AdminAuth)
		}
		if rp, ok := opts.Admin.(Repairs); ok {
			repairRoutes(mux, rp, opts.AdminAuth, opts.Stopping)
		}
		if mv, ok := opts.Admin.(Moves); ok {
			moveRoutes(mux, mv, opts.AdminAuth, opts.Stopping)
		}
		if cv, ok := opts.Admin.(ClusterView); ok {
			clusterRoutes(mux, cv, opts.AdminAuth)
			mux.Handle("GET /console/", console.Handler())
			mux.Handle("GET /console", http.RedirectHandler("/console/", http.StatusMovedPermanently))
		}
	}
	if opts.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
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

type writeHandler struct {
	w     LineWriter
	prom  PromReader // nil: no remote read
	opts  Options
	slots chan struct{}
}

// authorize checks the request's credentials for writing (or reading) db and returns the
// context in the user's tenant; it answers the request itself when it refuses.
func (h *writeHandler) authorize(rw http.ResponseWriter, r *http.Request, db string, write bool) (context.Context, bool) {
	ctx := r.Context()
	check := h.opts.Auth
	if !write {
		check = h.opts.ReadAuth
	}
	if check == nil {
		if h.opts.Auth != nil { // authentication is on but nothing can grant this access
			writeError(rw, http.StatusForbidden, "forbidden", "reads are not served with authentication on")
			return ctx, false
		}
		return ctx, true
	}
	user, pwd := credentials(r)
	tenant, allowed, ok, err := check(r.Context(), db, user, pwd)
	ctx = meta.WithTenant(ctx, tenant)
	switch {
	case err != nil:
		writeError(rw, http.StatusServiceUnavailable, "auth", "checking credentials: "+err.Error())
		return ctx, false
	case !ok:
		rw.Header().Set("WWW-Authenticate", `Basic realm="chronogo"`)
		writeError(rw, http.StatusUnauthorized, "unauthorized", "authorization failed")
		return ctx, false
	case !allowed:
		verb := "write to"
		if !write {
			verb = "read"
		}
		writeError(rw, http.StatusForbidden, "forbidden", fmt.Sprintf("user %q is not allowed to %s database %q", user, verb, db))
		return ctx, false
	}
	return ctx, true
}

// takeSlot waits for one of the concurrent write slots (503 after WriteQueueTimeout).
func (h *writeHandler) takeSlot(rw http.ResponseWriter, r *http.Request) (func(), bool) {
	wait := time.NewTimer(h.opts.WriteQueueTimeout)
	select {
	case h.slots <- struct{}{}:
		wait.Stop()
		return func() { <-h.slots }, true
	case <-wait.C:
		writeError(rw, http.StatusServiceUnavailable, "busy", "too many concurrent writes; retry later")
		return nil, false
	case <-r.Context().Done():
		wait.Stop()
		return nil, false
	}
}

// ServeHTTP answers /write as InfluxDB 1.x does: 204 when everything is stored, 400 for a bad
// body, name or point (nothing stored), 413 past the body limit, 503 when too many writes wait,
// 507 when the disk is full, and "partial write" with counts when a failure stopped a body half
// way (400 if the rest was bad input, else 500).
func (h *writeHandler) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	db := q.Get("db")
	if db == "" {
		writeError(rw, http.StatusBadRequest, "no_db", "database is required (?db=...)")
		return
	}
	if err := meta.ValidDataDatabase(db); err != nil {
		writeError(rw, http.StatusBadRequest, "bad_db", err.Error())
		return
	}
	ctx, ok := h.authorize(rw, r, db, true)
	if !ok {
		return
	}
	if r.ContentLength > h.opts.MaxBodySize {
		writeError(rw, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("request body of %d bytes is larger than %d", r.ContentLength, h.opts.MaxBodySize))
		return
	}
	release, ok := h.takeSlot(rw, r)
	if !ok {
		return
	}
	defer release()
	buf := getBodyBuffer()
	defer putBodyBuffer(buf)
	_, err := buf.ReadFrom(http.MaxBytesReader(rw, r.Body, h.opts.MaxBodySize))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(rw, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("request body larger than %d bytes", h.opts.MaxBodySize))
			return
		}
		writeError(rw, http.StatusBadRequest, "read", "reading body: "+err.Error())
		return
	}
	// the batches keep no reference to the body: its buffer goes back to the pool at return
	batches, err := lineproto.Parse(buf.Bytes(), q.Get("precision"), time.Now().UnixNano())
	if err != nil {
		writeError(rw, http.StatusBadRequest, "parse", "unable to parse: "+err.Error())
		return
	}
	if err := h.w.WriteLines(ctx, db, batches); err != nil {
		h.writeFailed(rw, db, "line protocol write", err)
		return
	}
	writeLines.Add(float64(batches.Lines))
	writeValues.Add(float64(batches.Values))
	rw.WriteHeader(http.StatusNoContent)
}

// writeFailed answers a failed write (what: its kind, for the log) with writeStatus's status,
// Retry-After on 503, and a warning for server-side failures.
func (h *writeHandler) writeFailed(rw http.ResponseWriter, db, what string, err error) {
	status, reason := writeStatus(err)
	if status == http.StatusServiceUnavailable {
		rw.Header().Set("Retry-After", "1")
	}
	if status >= 500 {
		h.opts.Log.WithError(err).WithField("db", db).Warn(what + " failed")
	}
	writeError(rw, status, reason, err.Error())
}

// credentials reads InfluxDB 1.x credentials: u/p parameters, Basic auth, or "Token user:password".
func credentials(r *http.Request) (user, password string) {
	if u, p, ok := r.BasicAuth(); ok {
		return u, p
	}
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Token "); ok {
		user, password, _ = strings.Cut(tok, ":")
		return user, password
	}
	q := r.URL.Query()
	return q.Get("u"), q.Get("p")
}

// writeStatus maps a WriteLines error to an HTTP status and a metrics reason.
func writeStatus(err error) (int, string) {
	var partial *PartialWriteError
	isPartial := errors.As(err, &partial)
	switch {
	case errors.Is(err, meta.ErrInvalidName), errors.Is(err, storage.ErrInvalidBatch), errors.Is(err, ErrBadRequest):
		if isPartial {
			return http.StatusBadRequest, "partial"
		}
		return http.StatusBadRequest, "invalid"
	case storage.IsDiskFull(err):
		return http.StatusInsufficientStorage, "disk_full"
	case errors.Is(err, meta.ErrQuotaExceeded):
		// a rate quota passes again in a moment (429); a size quota needs the operator (403)
		var rl interface{ RetryLater() bool }
		if errors.As(err, &rl) && rl.RetryLater() {
			return http.StatusTooManyRequests, "quota"
		}
		return http.StatusForbidden, "quota"
	}
	// the node cannot absorb more now (its vnodes still wait for flushes at the deadline, or too
	// many writes are in flight): 503 with Retry-After, as InfluxDB answers when it is overloaded
	var ov interface{ Overloaded() bool }
	if errors.As(err, &ov) && ov.Overloaded() {
		return http.StatusServiceUnavailable, "overloaded"
	}
	if isPartial {
		return http.StatusInternalServerError, "partial"
	}
	return http.StatusInternalServerError, "write"
}

// ErrBadRequest is matched by a LineWriter's errors that the client caused (e.g. a measurement
// that names a collection of another shape): 400, not 500.
var ErrBadRequest = errors.New("bad request")
