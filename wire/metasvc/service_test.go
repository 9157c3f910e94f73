package metasvc

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/chronogo/chronogo/messages"
	"github.com/chronogo/chronogo/wire/tlsmode"
	"github.com/chronogo/chronogo/wire/tlsmode/tlstest"
)

func quiet() logrus.FieldLogger {
	l := logrus.New()
	l.SetLevel(logrus.ErrorLevel)
	return l
}

func serve(t *testing.T, s *Service) string {
	mux := http.NewServeMux()
	s.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// TestHelloAndDiscover: Discover collects every listed meta node's id and raft address, waits
// for one that is not up yet, and refuses a node of another cluster.
func TestHelloAndDiscover(t *testing.T) {
	a := serve(t, &Service{NodeID: 1, RaftAddr: "a:1", ClusterID: "c", Log: quiet()})
	b := serve(t, &Service{NodeID: 2, RaftAddr: "b:1", ClusterID: "c", Log: quiet()})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got, err := Discover(ctx, []string{a, b}, "c", nil, quiet())
	require.NoError(t, err)
	require.Equal(t, map[uint64]string{1: "a:1", 2: "b:1"}, got)

	// a meta node that starts late is waited for
	mux := http.NewServeMux()
	late := httptest.NewUnstartedServer(mux)
	(&Service{NodeID: 3, RaftAddr: "c:1", ClusterID: "c", Log: quiet()}).Register(mux)
	lateAddr := late.Listener.Addr().String()
	time.AfterFunc(700*time.Millisecond, late.Start)
	t.Cleanup(late.Close)
	got, err = Discover(ctx, []string{a, lateAddr}, "c", nil, quiet())
	require.NoError(t, err)
	require.Equal(t, map[uint64]string{1: "a:1", 3: "c:1"}, got)

	_, err = Discover(ctx, []string{a}, "other", nil, quiet())
	require.ErrorContains(t, err, `cluster id "other"`)

	dup := serve(t, &Service{NodeID: 1, RaftAddr: "z:1", ClusterID: "c", Log: quiet()})
	_, err = Discover(ctx, []string{a, dup}, "c", nil, quiet())
	require.ErrorContains(t, err, "both have node id 1")

	short, cancel2 := context.WithTimeout(context.Background(), 600*time.Millisecond)
	defer cancel2()
	_, err = Discover(short, []string{a, "127.0.0.1:1"}, "c", nil, quiet())
	require.ErrorContains(t, err, "did not answer")
}

// TestJoinRefusals: join requests that cannot succeed get a clear answer, and bad bodies a 400.
func TestJoinRefusals(t *testing.T) {
	addr := serve(t, &Service{NodeID: 1, RaftAddr: "a:1", ClusterID: "c", Log: quiet()})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.ErrorContains(t, Join(ctx, []string{addr}, "other", 5, "d:1", nil, quiet()), "refused the join")
	require.ErrorContains(t, Join(ctx, []string{addr}, "c", 1, "d:1", nil, quiet()), "this meta node's")
	require.ErrorContains(t, Join(ctx, []string{addr}, "c", 5, "", nil, quiet()), "raft address are required")

	// the host is not running yet: retried until the context ends
	short, cancel2 := context.WithTimeout(context.Background(), 800*time.Millisecond)
	defer cancel2()
	err := Join(short, []string{addr}, "c", 5, "d:1", nil, quiet())
	require.ErrorContains(t, err, "is starting")

	for _, path := range []string{HelloPath, JoinPath} {
		resp, err := http.Post("http://"+addr+path, ContentType, bytes.NewReader([]byte{0xff, 0xff, 0xff}))
		require.NoError(t, err)
		var r messages.ErrorReply
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, path)
		require.NoError(t, proto.Unmarshal(buf.Bytes(), &r))
		require.Equal(t, messages.ErrorCode_ERROR_CODE_BAD_REQUEST, r.GetCode())
	}
}

// TestMutualTLSRefusesStrangers: with RequirePeerCert behind a TLS listener, a node with a
// certificate from the cluster's CA is answered; one without a certificate gets 403, and one with
// a certificate from another CA fails the handshake.
func TestMutualTLSRefusesStrangers(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, dir, "cluster")
	cert, key := ca.Issue(t, "node1")
	files := tlsmode.Files{CertFile: cert, KeyFile: key, CAFile: ca.CertFile}
	scfg, err := files.ServerConfig()
	require.NoError(t, err)
	_, ccfg, err := files.MutualConfigs()
	require.NoError(t, err)

	mux := http.NewServeMux()
	(&Service{NodeID: 1, RaftAddr: "a:1", ClusterID: "c", Log: quiet(), RequirePeerCert: true}).Register(mux)
	srv := httptest.NewUnstartedServer(mux)
	srv.TLS = scfg
	srv.StartTLS()
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "https://")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	got, err := Discover(ctx, []string{addr}, "c", ccfg, quiet())
	require.NoError(t, err)
	require.Equal(t, map[uint64]string{1: "a:1"}, got)

	// TLS without a client certificate: refused by the service
	noCert := ccfg.Clone()
	noCert.Certificates = nil
	short, cancel2 := context.WithTimeout(context.Background(), time.Second)
	defer cancel2()
	err = Join(short, []string{addr}, "c", 5, "d:1", noCert, quiet())
	require.ErrorContains(t, err, "requires mutual TLS")

	// a certificate from another CA: Go's client does not even offer it (the server asks for the
	// cluster's CA), so it is refused like no certificate; others fail the handshake
	other := tlstest.NewCA(t, dir, "other")
	ocert, okey := other.Issue(t, "intruder")
	_, occfg, err := tlsmode.Files{CertFile: ocert, KeyFile: okey, CAFile: ca.CertFile}.MutualConfigs()
	require.NoError(t, err)
	short3, cancel3 := context.WithTimeout(context.Background(), time.Second)
	defer cancel3()
	err = Join(short3, []string{addr}, "c", 5, "d:1", occfg, quiet())
	require.Error(t, err)
	require.Regexp(t, `requires mutual TLS|tls:`, err.Error())
}
