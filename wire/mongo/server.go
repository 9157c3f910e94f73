package mongo

import (
	"context"
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"
	"go.mongodb.org/mongo-driver/v2/bson"
	"golang.org/x/sync/semaphore"

	"github.com/chronogo/chronogo/wire/mongo/mql"
)

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("mongo: server closed")

// Config configures a Server.
type Config struct {
	// Logger receives the server's logs; nil means logrus' standard logger.
	Logger logrus.FieldLogger
	// IdleCursorTimeout is how long an unused cursor lives (default 10 minutes).
	IdleCursorTimeout time.Duration
	// CursorReapInterval is how often idle cursors are looked for (default 1 minute, at most
	// IdleCursorTimeout).
	CursorReapInterval time.Duration
	// Users keeps the users SCRAM logins are checked against (nil: logins are refused).
	Users UserStore
	// Tenants keeps the tenants (nil: the tenant commands are not supported).
	Tenants TenantStore
	// Auth turns access control on (--auth): every command but the handshake needs a logged-in
	// user whose roles allow it. With no user yet, a loopback client may create the first one.
	Auth bool
	// CursorMemoryBudget bounds what open cursors hold (default 1 GiB): a query whose cursor would
	// pass it fails with ExceededMemoryLimit (146).
	CursorMemoryBudget int64
	// MaxConnections bounds open client connections (default 4096); one more is closed at once.
	MaxConnections int
	// IdleTimeout closes a connection that sends nothing for this long (default 30 minutes;
	// drivers reconnect).
	IdleTimeout time.Duration
	// FrameTimeout bounds the time from a message's header to its last byte, and the time to
	// write a reply (default 2 minutes): a client cannot hold a half-sent frame open.
	FrameTimeout time.Duration
	// MessageMemory bounds the bytes of the messages all connections are receiving or running at
	// once (default 1 GiB): past it, reading a message waits for memory, and a connection that
	// waits longer than FrameTimeout is closed.
	MessageMemory int64
	// SortMemory is what one blocking sort (a sorted find, a $sort stage) holds before it spills
	// sorted runs to TempDir (default 32 MiB); with allowDiskUse: false it is the sort's limit.
	SortMemory int64
	// TempDir receives the sorts' spill files (default os.TempDir()). They are unlinked as soon
	// as they are created, so a crash leaves nothing behind.
	TempDir string
	// CmdLine is what getCmdLineOpts answers: the process's arguments and the settings they gave.
	CmdLine CmdLine
	// Status, when set, gives serverStatus its "chronogo" section (the node, its peers, storage).
	Status func(ctx context.Context) bson.Raw
}

// CmdLine is the command line of the server process.
type CmdLine struct {
	Argv   []string
	Parsed bson.Raw // the effective settings by name (flags and config file)
}

func (c Config) withDefaults() Config {
	if c.Logger == nil {
		c.Logger = logrus.StandardLogger()
	}
	if c.IdleCursorTimeout <= 0 {
		c.IdleCursorTimeout = 10 * time.Minute
	}
	if c.CursorReapInterval <= 0 {
		c.CursorReapInterval = time.Minute
	}
	c.CursorReapInterval = min(c.CursorReapInterval, c.IdleCursorTimeout)
	if c.CursorMemoryBudget <= 0 {
		c.CursorMemoryBudget = 1 << 30
	}
	if c.MaxConnections <= 0 {
		c.MaxConnections = 4096
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 30 * time.Minute
	}
	if c.FrameTimeout <= 0 {
		c.FrameTimeout = 2 * time.Minute
	}
	if c.MessageMemory <= 0 {
		c.MessageMemory = 1 << 30
	}
	if c.SortMemory <= 0 {
		c.SortMemory = mql.DefaultSortMemory
	}
	if c.TempDir == "" {
		c.TempDir = os.TempDir()
	}
	return c
}

// Server serves the MongoDB wire protocol for a Backend: one goroutine per connection, cursors
// shared by all connections.
type Server struct {
	cfg     Config
	b       Backend
	log     logrus.FieldLogger
	cursors *cursorRegistry
	// inflight is the budget of message bytes being received or handled (Config.MessageMemory)
	inflight *semaphore.Weighted

	connIDs atomic.Int32
	reqIDs  atomic.Int32
	// hasUsers is set once a user exists: the localhost exception is closed for good
	hasUsers atomic.Bool
	pwCache  passwordCache

	// baseCtx is the parent of every request context; forced shutdown cancels it
	baseCtx context.Context
	cancel  context.CancelFunc

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	closing   atomic.Bool // read by connections under their own lock, so not under mu
	reaping   bool        // the reaper goroutine was started
	stopReap  sync.Once
	reapStop  chan struct{}
	reapDone  chan struct{}
	connWG    sync.WaitGroup

	started    time.Time
	ops        opCounters
	lat        latencies  // opLatencies and latencyStats
	running    opRegistry // commands being handled (currentOp, killOp)
	connsTotal atomic.Int64
}

// NewServer returns a server for b; it does nothing until Serve.
func NewServer(cfg Config, b Backend) *Server {
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{
		cfg:       cfg,
		b:         b,
		log:       cfg.Logger,
		cursors:   newCursorRegistry(cfg.CursorMemoryBudget),
		inflight:  semaphore.NewWeighted(cfg.MessageMemory),
		baseCtx:   ctx,
		cancel:    cancel,
		listeners: make(map[net.Listener]struct{}),
		conns:     make(map[*conn]struct{}),
		reapStop:  make(chan struct{}),
		reapDone:  make(chan struct{}),
		started:   time.Now(),
	}
}

// Serve accepts connections on l until Shutdown (then it returns ErrServerClosed) or an accept
// error that is not temporary. l is closed when Serve returns.
func (s *Server) Serve(l net.Listener) error {
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		_ = l.Close()
		return ErrServerClosed
	}
	s.listeners[l] = struct{}{}
	if !s.reaping {
		s.reaping = true
		go s.reapCursors()
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, l)
		s.mu.Unlock()
		_ = l.Close()
	}()

	s.log.WithField("addr", l.Addr().String()).Info("listening for MongoDB clients")
	var backoff time.Duration
	for {
		nc, err := l.Accept()
		if err != nil {
			if s.isClosing() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.log.WithError(err).WithField("retry_in", backoff).Warn("accept failed")
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		c := s.newConn(nc)
		s.mu.Lock()
		if s.closing.Load() {
			s.mu.Unlock()
			_ = nc.Close()
			return ErrServerClosed
		}
		if len(s.conns) >= s.cfg.MaxConnections {
			s.mu.Unlock()
			_ = nc.Close()
			refusedConns.Inc()
			s.log.WithFields(logrus.Fields{"remote": nc.RemoteAddr().String(), "max_connections": s.cfg.MaxConnections}).
				Warn("connection refused because too many are open")
			continue
		}
		s.conns[c] = struct{}{}
		s.connWG.Add(1)
		s.mu.Unlock()
		acceptedConns.Inc()
		openConns.Inc()
		s.connsTotal.Add(1)
		go c.serve()
	}
}

func (s *Server) isClosing() bool { return s.closing.Load() }

// Shutdown stops accepting connections, closes idle connections, waits for in-flight requests
// to finish (their connections are closed after the reply) and stops the cursor reaper. If ctx
// ends first, every connection is closed and ctx's error returned.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing.Store(true)
	for l := range s.listeners {
		_ = l.Close()
	}
	reaping := s.reaping
	s.mu.Unlock()
	if reaping {
		s.stopReap.Do(func() { close(s.reapStop) })
		<-s.reapDone
	}

	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if s.closeIdleConns() == 0 {
			s.connWG.Wait()
			s.cancel()
			s.cursors.closeAll()
			return nil
		}
		select {
		case <-ctx.Done():
			s.cancel()
			s.cursors.closeAll()
			s.mu.Lock()
			for c := range s.conns {
				c.forceClose()
			}
			s.mu.Unlock()
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// closeIdleConns closes connections not serving a request and returns how many remain.
func (s *Server) closeIdleConns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.closeIfIdle()
	}
	return len(s.conns)
}

func (s *Server) removeConn(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	openConns.Dec()
	s.connWG.Done()
}

// reapCursors drops idle cursors until Shutdown.
func (s *Server) reapCursors() {
	defer close(s.reapDone)
	t := time.NewTicker(s.cfg.CursorReapInterval)
	defer t.Stop()
	for {
		select {
		case <-s.reapStop:
			return
		case now := <-t.C:
			if n := s.cursors.reap(now.Add(-s.cfg.IdleCursorTimeout)); n > 0 {
				s.log.WithField("cursors", n).Debug("reaped idle cursors")
			}
		}
	}
}
