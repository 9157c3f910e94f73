package metasvc

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	"google.golang.org/protobuf/proto"

	"github.com/chronogo/chronogo/messages"
)

// retryEvery is the pause between rounds of requests to meta nodes that did not answer yet.
const retryEvery = 500 * time.Millisecond

var httpClient = &http.Client{Timeout: 40 * time.Second}

// tlsClients are the HTTPS clients by TLS configuration (one per process in practice).
var tlsClients sync.Map // *tls.Config -> *http.Client

func clientFor(tlsCfg *tls.Config) *http.Client {
	if tlsCfg == nil {
		return httpClient
	}
	if c, ok := tlsClients.Load(tlsCfg); ok {
		return c.(*http.Client)
	}
	c, _ := tlsClients.LoadOrStore(tlsCfg, &http.Client{Timeout: httpClient.Timeout,
		Transport: &http.Transport{TLSClientConfig: tlsCfg, ForceAttemptHTTP2: true}})
	return c.(*http.Client)
}

// call posts req to addr+path (HTTPS with tlsCfg's client certificate when not nil) and decodes
// the answer into reply.
func call(ctx context.Context, addr, path string, tlsCfg *tls.Config, req, reply proto.Message) error {
	body, err := proto.Marshal(req)
	if err != nil {
		return err
	}
	url := addr
	if !strings.Contains(url, "://") {
		if tlsCfg != nil {
			url = "https://" + url
		} else {
			url = "http://" + url
		}
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, url+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	hr.Header.Set("Content-Type", ContentType)
	resp, err := clientFor(tlsCfg).Do(hr)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return err
	}
	if resp.Header.Get("Content-Type") != ContentType {
		return fmt.Errorf("%s%s: HTTP %d, not a chronogo meta node", addr, path, resp.StatusCode)
	}
	if err := proto.Unmarshal(data, reply); err != nil {
		return fmt.Errorf("%s%s: bad answer: %w", addr, path, err)
	}
	return nil
}

// Discover asks every meta node in addrs who it is, retrying those that do not answer yet until
// every one has, and returns the founding members: node id → raft address. A meta node of another
// cluster, or two with the same id, is an error at once. tlsCfg (nil: plaintext) is the node's
// client side of mutual TLS between nodes.
func Discover(ctx context.Context, addrs []string, clusterID string, tlsCfg *tls.Config, log logrus.FieldLogger) (map[uint64]string, error) {
	members := map[uint64]string{}
	answered := map[string]bool{}
	for {
		var waiting []string
		for _, a := range addrs {
			if answered[a] {
				continue
			}
			var r messages.MetaHelloReply
			err := call(ctx, a, HelloPath, tlsCfg, &messages.MetaHello{ClusterId: clusterID}, &r)
			if untrusted(err) {
				return nil, fmt.Errorf("meta node %s: its certificate is not signed by --tls-ca-file's CA: %w", a, err)
			}
			if err != nil {
				log.WithError(err).WithField("meta_node", a).Debug("meta node did not answer hello")
				waiting = append(waiting, a)
				continue
			}
			if r.GetCode() != messages.ErrorCode_ERROR_CODE_OK {
				return nil, fmt.Errorf("meta node %s: %s", a, r.GetMessage())
			}
			if old, dup := members[r.GetNodeId()]; dup && old != r.GetRaftAddr() {
				return nil, fmt.Errorf("meta nodes at %s and %s both have node id %d", old, r.GetRaftAddr(), r.GetNodeId())
			}
			members[r.GetNodeId()] = r.GetRaftAddr()
			answered[a] = true
		}
		if len(waiting) == 0 {
			return members, nil
		}
		log.WithField("waiting_for", waiting).Info("waiting for the other meta nodes")
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("meta nodes %v did not answer: %w", waiting, ctx.Err())
		case <-time.After(retryEvery):
		}
	}
}

// Join asks the meta nodes in addrs, in turn until one succeeds, to add nodeID at raftAddr as a
// non-voting replica of every meta shard. tlsCfg as in Discover.
func Join(ctx context.Context, addrs []string, clusterID string, nodeID uint64, raftAddr string, tlsCfg *tls.Config, log logrus.FieldLogger) error {
	req := &messages.MetaJoin{NodeId: nodeID, RaftAddr: raftAddr, ClusterId: clusterID}
	for {
		var errs []error
		for _, a := range addrs {
			var r messages.ErrorReply
			err := call(ctx, a, JoinPath, tlsCfg, req, &r)
			if err == nil && r.GetCode() == messages.ErrorCode_ERROR_CODE_OK {
				return nil
			}
			if untrusted(err) {
				return fmt.Errorf("meta node %s refused the join: its certificate is not signed by --tls-ca-file's CA: %w", a, err)
			}
			if err == nil {
				if r.GetCode() == messages.ErrorCode_ERROR_CODE_BAD_REQUEST {
					return fmt.Errorf("meta node %s refused the join: %s", a, r.GetMessage())
				}
				err = errors.New(r.GetMessage())
			}
			errs = append(errs, fmt.Errorf("%s: %w", a, err))
		}
		log.WithError(errors.Join(errs...)).Info("waiting to join the meta cluster")
		select {
		case <-ctx.Done():
			return fmt.Errorf("no meta node accepted the join: %w", errors.Join(append(errs, ctx.Err())...))
		case <-time.After(retryEvery):
		}
	}
}

// untrusted reports a TLS failure that retrying cannot fix: the peer's certificate does not
// verify against our CA, or the peer refused ours.
func untrusted(err error) bool {
	if err == nil {
		return false
	}
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var alert tls.AlertError
	return errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &alert)
}
