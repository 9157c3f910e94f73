package client

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"github.com/sirupsen/logrus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/protobuf/proto"

	"github.com/chronogo/chronogo/actors"
	"github.com/chronogo/chronogo/messages"
)

// Consistency is how many replicas of each replica set must take a write before it is
// acknowledged. Default uses the database's level.
type Consistency = messages.Consistency

// The consistency levels.
const (
	Default = messages.Consistency_CONSISTENCY_UNSPECIFIED
	Any     = messages.Consistency_CONSISTENCY_ANY    // one replica, or a hint stored for one
	One     = messages.Consistency_CONSISTENCY_ONE    // one replica
	Quorum  = messages.Consistency_CONSISTENCY_QUORUM // a majority of the replicas
	All     = messages.Consistency_CONSISTENCY_ALL    // every replica
)

// Options configure a Client.
type Options struct {
	// Seeds are HTTP addresses (host:port) of nodes; the first that answers lists the cluster's
	// data nodes.
	Seeds []string
	// User and Password: a user of the admin database, when the cluster runs with --auth (also
	// for the discovery over HTTP).
	User, Password string
	// Tenant is the tenant written to without --auth (with it, the user's own).
	Tenant string
	// ListenAddr is the client's own actor address, where answers come back (default
	// 127.0.0.1:0; use an address the nodes can reach when they are on other hosts).
	ListenAddr string
	// RequestTimeout bounds one attempt of a write (default 5 s); a write is retried on other
	// nodes with its version for about 8 s in all.
	RequestTimeout time.Duration
	// TLS, for a cluster whose nodes run mutual TLS (--cluster-tls): the client's certificate,
	// signed by the cluster's CA, in Certificates, and that CA in RootCAs. The client then speaks
	// TLS to the nodes' HTTP and actor ports (presenting its certificate), and its own actor
	// address, where the nodes send the answers, asks them for theirs: the certificate must be
	// valid for the host of ListenAddr. Nil: plaintext.
	TLS *tls.Config
	// Logger receives the client's warnings (default: discarded).
	Logger logrus.FieldLogger
}

// Client writes to a ChronoGo cluster. It is safe for concurrent use.
type Client struct {
	opt    Options
	sys    *actor.ActorSystem
	remote *remote.Remote
	clock  *actors.HLC
	hc     *http.Client

	mu        sync.Mutex
	nodes     []node            // data nodes with an actor address, by id
	sessions  map[string][]byte // actor address -> session token
	placement map[string]*dbPlacement
	next      int                  // round robin over the nodes when no replica is known
	suspect   map[string]time.Time // actor address -> until when it is avoided (it did not answer)

	newestPlacement atomic.Uint64 // the newest placement version a node reported
}

// suspectFor is how long a node that did not answer is avoided.
const suspectFor = 10 * time.Second

// markSuspect avoids the node at addr for a while.
func (c *Client) markSuspect(addr string) {
	c.mu.Lock()
	c.suspect[addr] = time.Now().Add(suspectFor)
	c.mu.Unlock()
}

// suspectLocked reports whether addr is avoided now; c.mu is held.
func (c *Client) suspectLocked(addr string) bool {
	until, ok := c.suspect[addr]
	return ok && time.Now().Before(until)
}

// node is a data node the client can write to.
type node struct {
	ID        uint64 `json:"id"`
	Name      string `json:"name"`
	Role      string `json:"role"`
	ActorAddr string `json:"actorAddr"`
	HTTPAddr  string `json:"httpAddr"`
	DownSince string `json:"downSince"`
}

// Dial discovers the cluster and starts the client's actor system.
func Dial(ctx context.Context, opt Options) (*Client, error) {
	if len(opt.Seeds) == 0 {
		return nil, errors.New("client: no seed address")
	}
	if opt.ListenAddr == "" {
		opt.ListenAddr = "127.0.0.1:0"
	}
	if opt.RequestTimeout <= 0 {
		opt.RequestTimeout = 5 * time.Second
	}
	if opt.Logger == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		opt.Logger = l
	}
	hc := &http.Client{Timeout: opt.RequestTimeout}
	if opt.TLS != nil {
		if len(opt.TLS.Certificates) == 0 || opt.TLS.RootCAs == nil {
			return nil, errors.New("client: Options.TLS needs the client's certificate (Certificates) and the cluster's CA (RootCAs)")
		}
		hc.Transport = &http.Transport{TLSClientConfig: opt.TLS.Clone()}
	}
	c := &Client{opt: opt, clock: actors.NewHLC(time.Now), hc: hc,
		sessions: map[string][]byte{}, placement: map[string]*dbPlacement{}, suspect: map[string]time.Time{}}
	if err := c.discover(ctx); err != nil {
		return nil, err
	}
	host, portStr, err := net.SplitHostPort(opt.ListenAddr)
	if err != nil {
		return nil, fmt.Errorf("client: listen address %q: %w", opt.ListenAddr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("client: listen address %q: %w", opt.ListenAddr, err)
	}
	// protoactor's own log records (actor system started, endpoints connected) are not the
	// application's business
	c.sys = actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}))
	var ropts []remote.ConfigOption
	if opt.TLS != nil {
		server := &tls.Config{Certificates: opt.TLS.Certificates, ClientCAs: opt.TLS.RootCAs,
			ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12}
		ropts = append(ropts, remote.WithDialOptions(grpc.WithTransportCredentials(credentials.NewTLS(opt.TLS.Clone()))),
			remote.WithServerOptions(grpc.Creds(credentials.NewTLS(server))))
	}
	cfg := remote.Configure(host, port, ropts...)
	cfg.MaxRetryCount = 1
	c.remote = remote.NewRemote(c.sys, cfg)
	if err := startRemote(c.remote); err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	return c, nil
}

// startRemote starts the remote, turning its panic (the address cannot be listened on) into an error.
func startRemote(r *remote.Remote) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("starting the actor remote: %v", p)
		}
	}()
	r.Start()
	return nil
}

// Close stops the client's actor system.
func (c *Client) Close() error {
	c.remote.Shutdown(true)
	c.sys.Shutdown()
	return nil
}

// getJSON calls a node's admin API.
func (c *Client) getJSON(ctx context.Context, addr, path string, out any) error {
	base := addr
	if !strings.Contains(base, "://") {
		if c.opt.TLS != nil {
			base = "https://" + base
		} else {
			base = "http://" + base
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+path, nil)
	if err != nil {
		return err
	}
	if c.opt.User != "" {
		req.SetBasicAuth(c.opt.User, c.opt.Password)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("GET %s%s: HTTP %d: %s", addr, path, resp.StatusCode, strings.TrimSpace(string(b)))
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(out)
}

// discover lists the data nodes from the first seed that answers.
func (c *Client) discover(ctx context.Context) error {
	var errs []error
	for _, seed := range c.opt.Seeds {
		var r struct{ Nodes []node }
		if err := c.getJSON(ctx, seed, "/api/v1/nodes", &r); err != nil {
			errs = append(errs, err)
			continue
		}
		var nodes []node
		for _, n := range r.Nodes {
			if n.ActorAddr != "" && n.Role != "mnode" {
				nodes = append(nodes, n)
			}
		}
		if len(nodes) == 0 {
			errs = append(errs, fmt.Errorf("%s lists no node with an actor address (a standalone server needs --actor-addr)", seed))
			continue
		}
		c.mu.Lock()
		c.nodes = nodes
		c.mu.Unlock()
		return nil
	}
	return fmt.Errorf("client: discovering the cluster: %w", errors.Join(errs...))
}

// ask sends m to the gateway of the node at addr and returns its unwrapped answer.
func (c *Client) ask(ctx context.Context, addr string, m proto.Message) (any, error) {
	env, err := messages.Wrap(m)
	if err != nil {
		return nil, err
	}
	timeout := c.opt.RequestTimeout
	if d, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(d))
	}
	if timeout <= 0 {
		return nil, context.DeadlineExceeded
	}
	res, err := c.sys.Root.RequestFuture(actor.NewPID(addr, actors.GatewayName), env, timeout).Result()
	if err != nil {
		return nil, err
	}
	return messages.Unwrap(res)
}

// session returns the session token for the node at addr, saying hello when there is none.
func (c *Client) session(ctx context.Context, addr string) ([]byte, error) {
	c.mu.Lock()
	s, ok := c.sessions[addr]
	c.mu.Unlock()
	if ok {
		return s, nil
	}
	res, err := c.ask(ctx, addr, &messages.ClientHello{Tenant: c.opt.Tenant, User: c.opt.User, Password: c.opt.Password})
	if err != nil {
		return nil, fmt.Errorf("hello to %s: %w", addr, err)
	}
	r, ok := res.(*messages.ClientHelloReply)
	if !ok {
		return nil, fmt.Errorf("hello to %s: unexpected answer %T", addr, res)
	}
	if r.GetCode() != messages.ErrorCode_ERROR_CODE_OK {
		return nil, &Error{Code: r.GetCode(), Msg: r.GetMessage()}
	}
	c.mu.Lock()
	c.sessions[addr] = r.GetSession()
	c.mu.Unlock()
	return r.GetSession(), nil
}

// forget drops the session with addr (the node restarted and forgot it).
func (c *Client) forget(addr string) {
	c.mu.Lock()
	delete(c.sessions, addr)
	c.mu.Unlock()
}

// Error is a write the cluster refused or could not complete.
type Error struct {
	Code messages.ErrorCode
	Msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Msg) }

// Temporary reports whether the same write may succeed when sent again.
func (e *Error) Temporary() bool { return messages.Retryable(e.Code) }

// query escapes a URL query value.
func query(v string) string { return url.QueryEscape(v) }
