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
	got, err := Discover(ctx, []string{a, b}, "c", quiet())
	require.NoError(t, err)
	require.Equal(t, map[uint64]string{1: "a:1", 2: "b:1"}, got)

	// a meta node that starts late is waited for
	mux := http.NewServeMux()
	late := httptest.NewUnstartedServer(mux)
	(&Service{NodeID: 3, RaftAddr: "c:1", ClusterID: "c", Log: quiet()}).Register(mux)
	lateAddr := late.Listener.Addr().String()
	time.AfterFunc(700*time.Millisecond, late.Start)
	t.Cleanup(late.Close)
	got, err = Discover(ctx, []string{a, lateAddr}, "c", quiet())
	require.NoError(t, err)
	require.Equal(t, map[uint64]string{1: "a:1", 3: "c:1"}, got)

	_, err = Discover(ctx, []string{a}, "other", quiet())
	require.ErrorContains(t, err, `cluster id "other"`)

	dup := serve(t, &Service{NodeID: 1, RaftAddr: "z:1", ClusterID: "c", Log: quiet()})
	_, err = Discover(ctx, []string{a, dup}, "c", quiet())
	require.ErrorContains(t, err, "both have node id 1")

	short, cancel2 := context.WithTimeout(context.Background(), 600*time.Millisecond)
	defer cancel2()
	_, err = Discover(short, []string{a, "127.0.0.1:1"}, "c", quiet())
	require.ErrorContains(t, err, "did not answer")
}

// TestJoinRefusals: join requests that cannot succeed get a clear answer, and bad bodies a 400.
func TestJoinRefusals(t *testing.T) {
	addr := serve(t, &Service{NodeID: 1, RaftAddr: "a:1", ClusterID: "c", Log: quiet()})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.ErrorContains(t, Join(ctx, []string{addr}, "other", 5, "d:1", quiet()), "refused the join")
	require.ErrorContains(t, Join(ctx, []string{addr}, "c", 1, "d:1", quiet()), "this meta node's")
	require.ErrorContains(t, Join(ctx, []string{addr}, "c", 5, "", quiet()), "raft address are required")

	// the host is not running yet: retried until the context ends
	short, cancel2 := context.WithTimeout(context.Background(), 800*time.Millisecond)
	defer cancel2()
	err := Join(short, []string{addr}, "c", 5, "d:1", quiet())
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
