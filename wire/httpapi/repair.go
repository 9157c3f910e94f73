package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/chronogo/chronogo/actors/coordinator"
)

// Repairs is anti-entropy repair of a database's replicas (POST /api/v1/repair).
type Repairs interface {
	// Repair compares the replicas of every replica set of the database window by window and,
	// unless opt.DryRun, fills each replica's gaps from the others.
	Repair(ctx context.Context, tenant, db string, opt coordinator.RepairOptions) (coordinator.RepairReport, error)
}

// maxRepairWindow keeps a digest window to at most a week (and the bound arithmetic far from
// overflow); minRepairWindow keeps the number of windows of a database sensible.
const (
	minRepairWindow = time.Minute
	maxRepairWindow = 7 * 24 * time.Hour
)

// repairRoutes adds POST /api/v1/repair?db=&tenant=&window=&dryRun=: it answers the report
// when the repair is done.
func repairRoutes(mux *http.ServeMux, rp Repairs, auth AdminAuth, stopping context.Context) {
	mux.HandleFunc("POST /api/v1/repair", func(rw http.ResponseWriter, r *http.Request) {
		if !adminAllowed(rw, r, auth) {
			return
		}
		q := r.URL.Query()
		if q.Get("db") == "" {
			adminError(rw, http.StatusBadRequest, "db is required")
			return
		}
		opt := coordinator.RepairOptions{Window: time.Hour}
		if w := q.Get("window"); w != "" {
			d, err := time.ParseDuration(w)
			if err != nil || d < minRepairWindow || d > maxRepairWindow {
				adminError(rw, http.StatusBadRequest, "window: a duration from 1m to 168h")
				return
			}
			opt.Window = d
		}
		if v := q.Get("dryRun"); v != "" {
			dry, err := strconv.ParseBool(v)
			if err != nil {
				adminError(rw, http.StatusBadRequest, "dryRun: true or false")
				return
			}
			opt.DryRun = dry
		}
		tenant := q.Get("tenant")
		if tenant == "" {
			tenant = "default"
		}
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		if stopping != nil {
			defer context.AfterFunc(stopping, cancel)()
		}
		rep, err := rp.Repair(ctx, tenant, q.Get("db"), opt)
		if err != nil {
			adminError(rw, http.StatusInternalServerError, err.Error())
			return
		}
		writeJSON(rw, map[string]any{"report": rep, "dryRun": opt.DryRun, "window": opt.Window.String()})
	})
}
