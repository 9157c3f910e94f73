package integration

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/integration/setup"
)

// TestAdminEndpointsHostileInput: the backup, restore and repair endpoints refuse paths that leave a
// backup, ids that are not ids, bodies that are not what they claim (a batch of noise, a BSON
// length of 2 GB, a catalog of another version) with 4xx, change nothing, and the node serves on.
func TestAdminEndpointsHostileInput(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	srv := setup.Start(t, "")
	base := "http://" + srv.HTTPAddr
	do := func(method, path string, body []byte) (int, string) {
		req, err := http.NewRequest(method, base+path, bytes.NewReader(body))
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, p := range []string{"../../../etc/passwd", "/etc/passwd", "..", ".", "", "data/../../x"} {
		code, body := do(http.MethodGet, "/api/v1/backup/20260101-000000-aaaa/file?path="+url.QueryEscape(p), nil)
		require.Equal(t, http.StatusBadRequest, code, "path %q: %s", p, body)
	}
	code, _ := do(http.MethodGet, "/api/v1/backup/..%2f..%2fx/file?path=catalog.json", nil)
	require.GreaterOrEqual(t, code, 400)
	code, _ = do(http.MethodDelete, "/api/v1/backup/bad.id", nil)
	require.Equal(t, http.StatusBadRequest, code)
	code, body := do(http.MethodGet, "/api/v1/backup/20260101-000000-aaaa/file?path=catalog.json", nil)
	require.Equal(t, http.StatusNotFound, code, body)

	coll := createTS(t, srv.Client().Database("app"), "m")
	_, err := srv.Client().Database("app").Collection("reg").InsertOne(ctx, bson.D{{Key: "_id", Value: 1}})
	require.NoError(t, err)
	code, body = do(http.MethodPost, "/api/v1/restore/batch?db=app&coll=m&tenant=default", bytes.Repeat([]byte{0xff}, 4096))
	require.Equal(t, http.StatusBadRequest, code, body)
	code, body = do(http.MethodPost, "/api/v1/restore/plain?db=app&coll=reg&tenant=default", []byte{0xff, 0xff, 0xff, 0x7f, 1, 2, 3})
	require.Equal(t, http.StatusBadRequest, code, body)
	code, body = do(http.MethodPost, "/api/v1/restore/plain?db=app&coll=m&tenant=default", nil)
	require.Equal(t, http.StatusBadRequest, code, "a time series is not a plain collection: %s", body)
	code, body = do(http.MethodPost, "/api/v1/restore/catalog", []byte(`{"version": 9, "databases": []}`))
	require.Equal(t, http.StatusBadRequest, code, body)
	code, body = do(http.MethodPost, "/api/v1/restore/catalog", []byte(`{"version": 1, "databases": [{"Name": "a"}, {"Name": "b"}]}`))
	require.Equal(t, http.StatusOK, code, body)
	for _, cat := range []string{`{"version": 1, "databases": [{"Tenant": "nope", "Name": "a"}]}`, `{"version": 1, "databases": [{"Name": "a$b"}]}`, `{"version": 1, "databases": [{"Name": "../x"}]}`} {
		code, body = do(http.MethodPost, "/api/v1/restore/catalog", []byte(cat))
		require.Equal(t, http.StatusBadRequest, code, "%s: %s", cat, body)
	}
	code, body = do(http.MethodPost, "/api/v1/restore/catalog?as=x", []byte(`{"version": 1, "databases": [{"Name": "a"}, {"Name": "b"}]}`))
	require.Equal(t, http.StatusBadRequest, code, "one database only under another name: %s", body)

	// repair: a window out of range, no database, a bad dryRun; a database of one replica per
	// replica set has nothing to compare
	for _, q := range []string{"db=app&window=1ns", "db=app&window=10000h", "db=app&window=x", "window=1h", "db=app&dryRun=maybe"} {
		code, body = do(http.MethodPost, "/api/v1/repair?"+q, nil)
		require.Equal(t, http.StatusBadRequest, code, "%s: %s", q, body)
	}
	for _, q := range []string{"vnodes=abc", "vnodes=1,,2", "vnodes=-1"} {
		code, body = do(http.MethodPost, "/api/v1/backup?"+q, nil)
		require.Equal(t, http.StatusBadRequest, code, "backup %s: %s", q, body)
	}
	code, body = do(http.MethodPost, "/api/v1/repair?db=app", nil)
	require.Equal(t, http.StatusOK, code, body)
	require.Contains(t, body, `"replica_sets":0`)

	n, err := coll.CountDocuments(ctx, bson.D{})
	require.NoError(t, err)
	require.Zero(t, n, "nothing was written")
	n, err = srv.Client().Database("app").Collection("reg").CountDocuments(ctx, bson.D{})
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
}
