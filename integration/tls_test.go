package integration

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chronogo/chronogo/integration/setup"
	"github.com/chronogo/chronogo/wire/tlsmode/tlstest"
)

// tlsClient connects the Go driver with tls=true&tlsCAFile, or plaintext when caFile is empty;
// it returns the ping's error.
func tlsClient(t *testing.T, srv *setup.Server, caFile string) (*mongo.Client, error) {
	uri := srv.URI() + "&serverSelectionTimeoutMS=3000"
	if caFile != "" {
		uri += "&tls=true&tlsCAFile=" + url.QueryEscape(caFile)
	}
	c, err := mongo.Connect(options.Client().ApplyURI(uri))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Disconnect(context.Background()) })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c, c.Database("admin").RunCommand(ctx, bson.D{{Key: "ping", Value: 1}}).Err()
}

func httpsGet(t *testing.T, caFile, u string) (*http.Response, error) {
	pem, err := os.ReadFile(caFile)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(pem))
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	return c.Get(u)
}

// TestTLSModes is issue #8's TLS check on the client listeners: under requireTLS the driver with
// tlsCAFile and mongosh --tls connect and work, a plaintext client is refused (and the refusal
// logged), and HTTPS serves /write and /health; under allowTLS both kinds connect.
func TestTLSModes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca := tlstest.NewCA(t, dir, "it")
	cert, key := ca.Issue(t, "server")
	tlsFlags := []string{"--tls-cert-file", cert, "--tls-key-file", key, "--tls-ca-file", ca.CertFile, "--log-level", "info"}

	srv := setup.Start(t, "", append(tlsFlags, "--tls-mode", "requireTLS")...)
	c, err := tlsClient(t, srv, ca.CertFile)
	require.NoError(t, err, "the driver with tlsCAFile connects")
	coll := createTS(t, c.Database("tls"), "m")
	_, err = coll.InsertOne(testCtx(t), bson.D{{Key: "ts", Value: time.Now()}, {Key: "meta", Value: "a"}, {Key: "v", Value: 1.5}})
	require.NoError(t, err)
	n, err := coll.CountDocuments(testCtx(t), bson.D{})
	require.NoError(t, err)
	require.EqualValues(t, 1, n)

	_, err = tlsClient(t, srv, "")
	require.Error(t, err, "a plaintext client is refused under requireTLS")
	require.Eventually(t, func() bool { return strings.Contains(srv.Log(), "plaintext connection refused") }, 5*time.Second, 50*time.Millisecond)

	// HTTPS: /health and /write with the same certificate; plain HTTP is refused
	resp, err := httpsGet(t, ca.CertFile, "https://"+srv.HTTPAddr+"/health")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	_, err = (&http.Client{Timeout: 3 * time.Second}).Get("http://" + srv.HTTPAddr + "/health")
	require.Error(t, err)

	if mongoshInstalled() {
		out := runMongosh(t, srv, "tls", []string{"--tls", "--tlsCAFile", ca.CertFile},
			`print("COUNT " + db.m.countDocuments({}))`)
		require.Contains(t, out, "COUNT 1")
	}

	allow := setup.Start(t, "", append(tlsFlags, "--tls-mode", "allowTLS")...)
	_, err = tlsClient(t, allow, ca.CertFile)
	require.NoError(t, err, "TLS under allowTLS")
	_, err = tlsClient(t, allow, "")
	require.NoError(t, err, "plaintext under allowTLS")

	// a client that trusts another CA fails its handshake
	other := tlstest.NewCA(t, dir, "other")
	_, err = tlsClient(t, srv, other.CertFile)
	require.Error(t, err)
}
