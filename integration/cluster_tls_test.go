package integration

import (
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/integration/setup"
	"github.com/chronogo/chronogo/wire/tlsmode"
	"github.com/chronogo/chronogo/wire/tlsmode/tlstest"
)

// clusterTLSFlags makes a CA in dir and returns the flags of a node with a certificate from it
// and --cluster-tls.
func clusterTLSFlags(t *testing.T, dir string) []string {
	flags, _ := clusterTLS(t, dir)
	return flags
}

// clusterTLS is clusterTLSFlags that also returns the node's client-side TLS configuration.
func clusterTLS(t *testing.T, dir string) ([]string, *tls.Config) {
	ca := tlstest.NewCA(t, dir, "cluster")
	cert, key := ca.Issue(t, "node")
	_, client, err := tlsmode.Files{CertFile: cert, KeyFile: key, CAFile: ca.CertFile}.MutualConfigs()
	require.NoError(t, err)
	return []string{"--cluster-tls", "--tls-cert-file", cert, "--tls-key-file", key, "--tls-ca-file", ca.CertFile}, client
}

// requireMutualTLS checks that addr speaks TLS, accepts the cluster's certificate and refuses a
// client without one.
func requireMutualTLS(t *testing.T, addr string, client *tls.Config) {
	t.Helper()
	d := &net.Dialer{Timeout: 3 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, client)
	require.NoError(t, err, "%s: a node's certificate is accepted", addr)
	_ = c.Close()
	anon := client.Clone()
	anon.Certificates = nil
	c, err = tls.DialWithDialer(d, "tcp", addr, anon)
	if err == nil { // TLS 1.3: the server's refusal arrives with the first read
		_ = c.SetDeadline(time.Now().Add(3 * time.Second))
		_, err = c.Read(make([]byte, 1))
		_ = c.Close()
	}
	require.Error(t, err, "%s: a client without a certificate is refused", addr)
}

// TestClusterTLSRefusesStrangers: in a cluster with mutual TLS, a data node whose certificate
// comes from another CA, and one without TLS at all, cannot join: each exits with an error that
// says so, and the meta node logs the refusal. The cluster's own data node works.
func TestClusterTLSRefusesStrangers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts several processes")
	}
	t.Parallel()
	dir := t.TempDir()
	flags, client := clusterTLS(t, dir)
	// allowTLS on the mnode's HTTP listener, so a plaintext node reaches the meta service and is
	// told why it is refused (under requireTLS its connection is closed and it retries until its
	// start timeout)
	c := setup.StartClusterFlags(t, 1, 1, append(flags, "--tls-mode", "allowTLS"), append(flags, "--tls-mode", "allowTLS"))
	coll := createTS(t, c.Data[0].Client().Database("tls"), "m")
	loadOneSeries(t, coll, 10)
	// Raft and actor traffic are mutual TLS
	requireMutualTLS(t, c.Meta[0].RaftAddr, client)
	requireMutualTLS(t, c.Data[0].RaftAddr, client)
	requireMutualTLS(t, c.Data[0].ActorAddr, client)

	other := tlstest.NewCA(t, dir, "other")
	cert, key := other.Issue(t, "intruder")
	strangers := map[string][]string{
		"another CA": {"--cluster-tls", "--tls-cert-file", cert, "--tls-key-file", key, "--tls-ca-file", other.CertFile},
		"no TLS":     nil,
	}
	for name, extra := range strangers {
		s := c.LaunchData(t, "intruder-"+strings.ReplaceAll(name, " ", "-"), extra...)
		require.True(t, s.WaitExit(60*time.Second), "%s: the node did not give up joining\n%s", name, s.Log())
		require.NotEqual(t, 0, s.ExitCode(), name)
		require.Contains(t, s.Log(), "refused the join", name)
	}
	require.Contains(t, c.Meta[0].Log(), "meta request refused: no client certificate from the cluster's CA")
}
