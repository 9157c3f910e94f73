package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// Admin is what the admin API (/api/v1/...) asks of the node.
type Admin interface {
	// Settle puts every vnode of the node in its most compact form now and returns how many.
	Settle(ctx context.Context) (int, error)
}

// AdminAuth says whether user (password) may run administrative operations (a cluster
// administrator); nil means no access control.
type AdminAuth func(ctx context.Context, user, password string) (ok bool, err error)

// CompactResult is the answer of POST /api/v1/compact.
type CompactResult struct {
	Vnodes  int     `json:"vnodes"`
	Seconds float64 `json:"seconds"`
}

// compactHandler serves POST /api/v1/compact: settle every vnode of this node (flush, WAL
// reclaimed, full compaction, deleted points rewritten away) and answer when it is done.
func compactHandler(a Admin, auth AdminAuth) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		if auth != nil {
			user, pwd, ok := r.BasicAuth()
			if !ok {
				rw.Header().Set("WWW-Authenticate", `Basic realm="chronogo"`)
				adminError(rw, http.StatusUnauthorized, "authentication required: a cluster administrator's user and password (Basic auth)")
				return
			}
			allowed, err := auth(r.Context(), user, pwd)
			switch {
			case err != nil:
				adminError(rw, http.StatusInternalServerError, err.Error())
				return
			case !allowed:
				adminError(rw, http.StatusForbidden, "not authorized: compaction needs a cluster administrator")
				return
			}
		}
		began := time.Now()
		n, err := a.Settle(r.Context())
		if err != nil {
			adminError(rw, http.StatusInternalServerError, err.Error())
			return
		}
		rw.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(rw).Encode(CompactResult{Vnodes: n, Seconds: time.Since(began).Seconds()})
	}
}

// adminError answers {"error": msg} with status.
func adminError(rw http.ResponseWriter, status int, msg string) {
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(status)
	_ = json.NewEncoder(rw).Encode(map[string]string{"error": msg})
}
