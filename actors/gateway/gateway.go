package gateway

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"
	"google.golang.org/protobuf/proto"

	"github.com/chronogo/chronogo/actors"
	"github.com/chronogo/chronogo/actors/coordinator"
	"github.com/chronogo/chronogo/messages"
	"github.com/chronogo/chronogo/storage"
)

// Writer writes an SDK client's batch: the node's backend, which checks the names, creates the
// collection on first write, applies the tenant's quotas and writes through the coordinator with
// the client's version and level (0: the database's).
type Writer interface {
	ClientWrite(ctx context.Context, tenant, db, collection string, b *storage.Batch, version uint64, level coordinator.Level) error
}

// Session is what a session may do: write and read in its tenant, the databases MayWrite and
// MayRead allow (nil: all of them).
type Session struct {
	Tenant   string
	MayWrite func(db string) bool
	MayRead  func(db string) bool
}

// Authenticator checks a user's password and returns its session (nil: the node runs without
// --auth, and a session is the tenant the client names, with every database).
type Authenticator func(ctx context.Context, user, password string) (Session, error)

// ErrorCoder maps a write error to the code a client acts on (retry or not).
type ErrorCoder func(err error) messages.ErrorCode

// Config configures the gateway.
type Config struct {
	NodeID uint64
	Write  Writer
	Scan   Scanner // nil: scans are refused
	Auth   Authenticator
	Code   ErrorCoder
	// Timeout bounds one write (default 30 s); MaxInflight bounds the writes in progress
	// (default 64): past it a write is answered OVERLOADED at once.
	Timeout     time.Duration
	MaxInflight int
	// MaxSessions bounds the open sessions (default 10 000); the oldest is forgotten past it.
	MaxSessions int
	// ReadaheadBytes bounds what scans read ahead of their clients, over all cursors (default
	// 256 MiB; see scan.go).
	ReadaheadBytes int64
	// PlacementVersion is the node's cached placement version, sent with every write's answer
	// (nil: 0) so that a client with an older placement fetches it again.
	PlacementVersion func() uint64
	Logger           logrus.FieldLogger
}

// gateway is the actor; its sessions are read by the write goroutines, hence the lock.
type gateway struct {
	cfg      Config
	mu       sync.Mutex
	sessions map[string]Session // token -> session
	order    []string           // tokens, oldest first
	inflight atomic.Int64
	// cursors are the open scans (scan.go), under mu
	cursors    map[uint64]*cursor
	lastCursor uint64
	readahead  atomic.Int64 // bytes the cursors' scans read ahead of their clients
}

// Spawn starts the gateway actor under its well-known name.
func Spawn(sys *actor.ActorSystem, cfg Config) (*actor.PID, error) {
	pid, _, err := spawn(sys, cfg)
	return pid, err
}

func spawn(sys *actor.ActorSystem, cfg Config) (*actor.PID, *gateway, error) {
	if cfg.Write == nil {
		return nil, nil, errors.New("gateway: Write is required")
	}
	if cfg.ReadaheadBytes <= 0 {
		cfg.ReadaheadBytes = 256 << 20
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.MaxInflight <= 0 {
		cfg.MaxInflight = 64
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = 10_000
	}
	if cfg.Logger == nil {
		cfg.Logger = logrus.StandardLogger()
	}
	if cfg.Code == nil {
		cfg.Code = func(error) messages.ErrorCode { return messages.ErrorCode_ERROR_CODE_INTERNAL }
	}
	g := &gateway{cfg: cfg, sessions: map[string]Session{}, cursors: map[uint64]*cursor{}}
	pid, err := sys.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return g }), actors.GatewayName)
	if err != nil {
		return nil, nil, fmt.Errorf("spawning the client gateway: %w", err)
	}
	return pid, g, nil
}

// Receive handles ClientHello and ClientWrite (in envelopes from remote clients). The slow parts
// (password checks, writes) run on their own goroutines: the actor never waits.
func (g *gateway) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *messages.Envelope:
		inner, err := m.Open()
		if err != nil {
			actors.SendReply(ctx, ctx.Sender(), messages.ErrorFor(err), g.cfg.Logger)
			return
		}
		g.handle(ctx, inner)
	default:
		g.handle(ctx, m)
	}
}

func (g *gateway) handle(ctx actor.Context, msg any) {
	sys, sender := ctx.ActorSystem(), ctx.Sender()
	switch m := msg.(type) {
	case *messages.ClientHello:
		go func() { g.reply(sys, sender, g.hello(m)) }()
	case *messages.ClientScan:
		g.scan(sys, sender, m)
	case *messages.ClientWrite:
		if g.inflight.Add(1) > int64(g.cfg.MaxInflight) {
			g.inflight.Add(-1)
			g.reply(sys, sender, &messages.ClientWriteReply{Code: messages.ErrorCode_ERROR_CODE_OVERLOADED, Message: "the gateway has too many writes in progress: retry later",
				PlacementVersion: g.placementVersion()})
			return
		}
		go func() {
			r := g.write(m)
			r.PlacementVersion = g.placementVersion()
			g.inflight.Add(-1) // before the answer: a client that waits for it may send the next at once
			g.reply(sys, sender, r)
		}()
	}
}

func (g *gateway) placementVersion() uint64 {
	if g.cfg.PlacementVersion == nil {
		return 0
	}
	return g.cfg.PlacementVersion()
}

// reply sends m to the requester from any goroutine (actors.ReplyFrom).
func (g *gateway) reply(sys *actor.ActorSystem, to *actor.PID, m proto.Message) {
	actors.ReplyFrom(sys, to, m, g.cfg.Logger)
}

// hello checks the credentials and opens a session.
func (g *gateway) hello(m *messages.ClientHello) *messages.ClientHelloReply {
	sess := Session{Tenant: m.GetTenant()}
	if sess.Tenant == "" {
		sess.Tenant = "default"
	}
	if g.cfg.Auth != nil {
		ctx, cancel := context.WithTimeout(context.Background(), g.cfg.Timeout)
		defer cancel()
		var err error
		if sess, err = g.cfg.Auth(ctx, m.GetUser(), m.GetPassword()); err != nil {
			return &messages.ClientHelloReply{Code: messages.ErrorCode_ERROR_CODE_BAD_REQUEST, Message: "authentication failed: " + err.Error()}
		}
	}
	token := make([]byte, 16)
	_, _ = rand.Read(token)
	g.mu.Lock()
	g.sessions[string(token)] = sess
	g.order = append(g.order, string(token))
	if len(g.order) > g.cfg.MaxSessions {
		delete(g.sessions, g.order[0])
		g.order = g.order[1:]
	}
	g.mu.Unlock()
	return &messages.ClientHelloReply{Session: token, NodeId: g.cfg.NodeID}
}

// write checks the session, decodes the batch and writes it.
func (g *gateway) write(m *messages.ClientWrite) *messages.ClientWriteReply {
	sess, ok := g.session(m.GetSession())
	if !ok {
		return &messages.ClientWriteReply{Code: messages.ErrorCode_ERROR_CODE_NOT_OWNER, Message: "unknown session: say hello again"}
	}
	if sess.MayWrite != nil && !sess.MayWrite(m.GetDb()) {
		return &messages.ClientWriteReply{Code: messages.ErrorCode_ERROR_CODE_BAD_REQUEST, Message: fmt.Sprintf("not authorized to write to %q", m.GetDb())}
	}
	b, err := storage.DecodeBatch(m.GetBatch())
	if err != nil {
		return &messages.ClientWriteReply{Code: messages.ErrorCode_ERROR_CODE_BAD_REQUEST, Message: fmt.Sprintf("batch: %v", err)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), g.cfg.Timeout)
	defer cancel()
	if err := g.cfg.Write.ClientWrite(ctx, sess.Tenant, m.GetDb(), m.GetCollection(), b, m.GetVersion(), coordinator.LevelOf(m.GetConsistency())); err != nil {
		return &messages.ClientWriteReply{Code: g.cfg.Code(err), Message: err.Error()}
	}
	return &messages.ClientWriteReply{Points: uint32(b.NumValues())}
}

// session returns the session of a token.
func (g *gateway) session(token []byte) (Session, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	s, ok := g.sessions[string(token)]
	return s, ok
}
