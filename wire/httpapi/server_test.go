package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/wire/lineproto"
)

// failingWriter answers every write with err.
type failingWriter struct{ err error }

func (w failingWriter) WriteLines(context.Context, string, *lineproto.Batches) error { return w.err }

// overloaded is an error saying the node cannot absorb more now.
type overloaded struct{ yes bool }

func (o overloaded) Error() string    { return "overloaded" }
func (o overloaded) Overloaded() bool { return o.yes }

// compacter counts Settle and Flush calls and keeps the last filter.
type compacter struct {
	calls, flushes int
	last           VnodeFilter
}

func (c *compacter) Settle(_ context.Context, f VnodeFilter) (int, error) {
	c.calls++
	c.last = f
	return 3, nil
}

func (c *compacter) Flush(_ context.Context, f VnodeFilter) (int, error) {
	c.flushes++
	c.last = f
	return 2, nil
}

func (c *compacter) Nodes(context.Context) ([]NodeInfo, error) {
	return []NodeInfo{{ID: 1, Name: "dnode1", Role: "dnode", Self: true}, {ID: 2, Name: "dnode2", Role: "dnode", Seen: "down"}}, nil
}

// TestWriteStatus: the backend's errors become InfluxDB's statuses: an overloaded node is 503 with
// Retry-After (the client slows down and retries), a full disk 507, bad input 400, the rest 500.
func TestWriteStatus(t *testing.T) {
	for _, tc := range []struct {
		err        error
		status     int
		retryAfter string
	}{
		{fmt.Errorf("write: %w", overloaded{true}), http.StatusServiceUnavailable, "1"},
		{overloaded{false}, http.StatusInternalServerError, ""},
		{fmt.Errorf("flush: %w", storage.ErrInvalidBatch), http.StatusBadRequest, ""},
		{errors.New("boom"), http.StatusInternalServerError, ""},
	} {
		l := logrus.New()
		l.SetLevel(logrus.PanicLevel)
		h := Handler(failingWriter{tc.err}, func(context.Context) error { return nil }, Options{Log: l})
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/write?db=d", strings.NewReader("cpu v=1 1\n")))
		require.Equal(t, tc.status, rec.Code, "%v", tc.err)
		require.Equal(t, tc.retryAfter, rec.Header().Get("Retry-After"), "%v", tc.err)
	}
}

// TestCompactEndpoint: POST /api/v1/compact settles the node and says how many vnodes; with an
// AdminAuth it needs Basic credentials of an administrator (401 without, 403 for others).
func TestCompactEndpoint(t *testing.T) {
	c := &compacter{}
	auth := func(_ context.Context, user, pwd string) (bool, error) { return user == "root" && pwd == "pw", nil }
	h := Handler(nil, func(context.Context) error { return nil }, Options{Admin: c, AdminAuth: auth})
	for _, tc := range []struct {
		user, pwd string
		status    int
	}{{"", "", http.StatusUnauthorized}, {"app", "pw", http.StatusForbidden}, {"root", "bad", http.StatusForbidden}, {"root", "pw", http.StatusOK}} {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/compact", nil)
		if tc.user != "" {
			req.SetBasicAuth(tc.user, tc.pwd)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		require.Equal(t, tc.status, rec.Code, "%s/%s: %s", tc.user, tc.pwd, rec.Body)
	}
	require.Equal(t, 1, c.calls, "settled only for the administrator")
	for _, tc := range []struct {
		user   string
		status int
	}{{"", http.StatusUnauthorized}, {"app", http.StatusForbidden}, {"root", http.StatusOK}} {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/flush", nil)
		if tc.user != "" {
			req.SetBasicAuth(tc.user, "pw")
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		require.Equal(t, tc.status, rec.Code, "flush as %q: %s", tc.user, rec.Body)
	}
	require.Equal(t, 1, c.flushes, "flushed only for the administrator")
	req := httptest.NewRequest(http.MethodGet, "/api/v1/nodes", nil)
	rec0 := httptest.NewRecorder()
	h.ServeHTTP(rec0, req)
	require.Equal(t, http.StatusUnauthorized, rec0.Code, "the node list needs an administrator too")
	req.SetBasicAuth("root", "pw")
	rec0 = httptest.NewRecorder()
	h.ServeHTTP(rec0, req)
	require.Equal(t, http.StatusOK, rec0.Code)
	require.JSONEq(t, `{"nodes": [{"id": 1, "name": "dnode1", "role": "dnode", "self": true}, {"id": 2, "name": "dnode2", "role": "dnode", "seen": "down"}]}`, rec0.Body.String())
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/compact", nil))
	require.Equal(t, http.StatusMethodNotAllowed, rec.Code)

	// filters: tenant, database, vnode; a bad vnode id is 400
	for path, want := range map[string]VnodeFilter{
		"/api/v1/flush?db=metrics":             {DB: "metrics"},
		"/api/v1/compact?tenant=t1&vnode=7":    {Tenant: "t1", Vnode: 7},
		"/api/v1/compact?db=a&tenant=t&vnode=": {Tenant: "t", DB: "a"},
	} {
		req := httptest.NewRequest(http.MethodPost, path, nil)
		req.SetBasicAuth("root", "pw")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		require.Equal(t, http.StatusOK, rec.Code, "%s: %s", path, rec.Body)
		require.Equal(t, want, c.last, path)
	}
	req = httptest.NewRequest(http.MethodPost, "/api/v1/flush?vnode=x", nil)
	req.SetBasicAuth("root", "pw")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.Equal(t, http.StatusBadRequest, rec.Code)
}
