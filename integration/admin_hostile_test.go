package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

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

	// vnode moves: missing, zero, negative and huge ids are 400; unknown buckets, sets and nodes
	// are 404; moving onto the node the set is on, or removing the node answering, is 409
	for _, path := range []string{"/api/v1/vnodes/join?bucket=1&replicaSet=2&node=1", "/api/v1/vnodes/join?db=app&bucket=0&replicaSet=2&node=1",
		"/api/v1/vnodes/join?db=app&bucket=-1&replicaSet=2&node=1", "/api/v1/vnodes/join?db=app&bucket=1&replicaSet=2&node=99999999999999999999",
		"/api/v1/vnodes/fill?db=app&bucket=1&replicaSet=2&from=x&to=3", "/api/v1/vnodes/promote?db=app&bucket=1&replicaSet=2",
		"/api/v1/vnodes/promote?db=app&bucket=1&replicaSet=2&vnode=3&remove=-4", "/api/v1/vnodes/abort?db=app&bucket=1",
		"/api/v1/placement/barrier?version=abc", "/api/v1/nodes/drain?node=1&undo=maybe", "/api/v1/nodes/remove?node=", "/api/v1/nodes/drain"} {
		code, body = do(http.MethodPost, path, nil)
		require.Equal(t, http.StatusBadRequest, code, "%s: %s", path, body)
	}
	for _, path := range []string{"/api/v1/vnodes/join?db=app&bucket=424242&replicaSet=2&node=1", "/api/v1/vnodes/join?db=nodb&bucket=1&replicaSet=2&node=1",
		"/api/v1/vnodes/fill?db=app&bucket=424242&replicaSet=2&from=3&to=4", "/api/v1/vnodes/abort?db=app&bucket=424242&replicaSet=1&vnode=1",
		"/api/v1/nodes/drain?node=424242"} {
		code, body = do(http.MethodPost, path, nil)
		require.Equal(t, http.StatusNotFound, code, "%s: %s", path, body)
	}
	var vn struct {
		Node    uint64
		Buckets []struct {
			ID          uint64
			ReplicaSets []struct{ ID uint64 }
		}
	}
	require.NoError(t, getJSON(base+"/api/v1/vnodes?db=app", &vn))
	_, err = coll.InsertOne(ctx, bson.D{{Key: "ts", Value: time.Now()}, {Key: "v", Value: 1}})
	require.NoError(t, err)
	require.NoError(t, getJSON(base+"/api/v1/vnodes?db=app", &vn))
	require.NotEmpty(t, vn.Buckets)
	b := vn.Buckets[0]
	code, body = do(http.MethodPost, fmt.Sprintf("/api/v1/vnodes/join?db=app&bucket=%d&replicaSet=%d&node=%d", b.ID, b.ReplicaSets[0].ID, vn.Node), nil)
	require.Equal(t, http.StatusConflict, code, "the set is on that node already: %s", body)
	code, body = do(http.MethodPost, fmt.Sprintf("/api/v1/nodes/remove?node=%d", vn.Node), nil)
	require.Equal(t, http.StatusConflict, code, body)
	_, err = coll.DeleteMany(ctx, bson.D{})
	require.NoError(t, err)

	n, err := coll.CountDocuments(ctx, bson.D{})
	require.NoError(t, err)
	require.Zero(t, n, "nothing was written")
	n, err = srv.Client().Database("app").Collection("reg").CountDocuments(ctx, bson.D{})
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
}

// getJSON decodes the JSON answer of a GET that must succeed.
func getJSON(url string, out any) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: HTTP %d", url, resp.StatusCode)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}
