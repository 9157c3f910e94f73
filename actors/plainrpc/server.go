package plainrpc

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"

	"github.com/chronogo/chronogo/actors"
	"github.com/chronogo/chronogo/messages"
	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/meta/plain"
)

// Shards is what the server needs of the meta client (meta.Client has it).
type Shards interface {
	CachedPlainShardByID(id uint64) (meta.PlainShard, bool)
	PlainHere(p meta.PlainShard) (bool, error)
	PlainRuns(p meta.PlainShard) (bool, error)
	PlainAddReplica(ctx context.Context, id, rid uint64, addr string) error
	PlainRemoveReplica(ctx context.Context, id, rid uint64) error
	PlainWrite(ctx context.Context, id uint64, cmd plain.Command) (plain.Result, uint64, error)
	PlainRead(ctx context.Context, id uint64, q any) (any, error)
	PlainApplied(id uint64) (uint64, bool)
}

// Config configures the server actor.
type Config struct {
	Shards Shards
	Logger logrus.FieldLogger
	// CallTimeout bounds one call (default 10 s); MaxInFlight bounds the calls served at once
	// (default 64): more are answered ERROR_CODE_OVERLOADED.
	CallTimeout time.Duration
	MaxInFlight int
}

// Props returns the props of the server actor; spawn it as actors.PlainName.
func Props(cfg Config) *actor.Props {
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = 10 * time.Second
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = 64
	}
	return actor.PropsFromProducer(func() actor.Actor {
		return &server{cfg: cfg, slots: make(chan struct{}, cfg.MaxInFlight)}
	})
}

type server struct {
	cfg   Config
	slots chan struct{}
}

// Receive serves PlainCalls, each in a goroutine of its own, so a slow proposal does not hold
// the mailbox.
func (s *server) Receive(ctx actor.Context) {
	var call *messages.PlainCall
	switch m := ctx.Message().(type) {
	case *messages.Envelope:
		inner, err := m.Open()
		if err != nil {
			actors.SendReply(ctx, ctx.Sender(), messages.ErrorFor(err), s.cfg.Logger)
			return
		}
		c, ok := inner.(*messages.PlainCall)
		if !ok {
			actors.SendReply(ctx, ctx.Sender(), &messages.ErrorReply{Code: messages.ErrorCode_ERROR_CODE_UNSUPPORTED,
				Message: fmt.Sprintf("the plain actor serves PlainCall, not %T", inner)}, s.cfg.Logger)
			return
		}
		call = c
	case *messages.PlainCall:
		call = m
	default:
		return
	}
	sender, sys := ctx.Sender(), ctx.ActorSystem()
	select {
	case s.slots <- struct{}{}:
	default:
		actors.SendReply(ctx, sender, &messages.PlainCallReply{Code: messages.ErrorCode_ERROR_CODE_OVERLOADED,
			Message: "too many plain calls in flight"}, s.cfg.Logger)
		return
	}
	go func() {
		defer func() { <-s.slots }()
		cctx, cancel := context.WithTimeout(context.Background(), s.cfg.CallTimeout)
		defer cancel()
		actors.ReplyFrom(sys, sender, Serve(cctx, s.cfg.Shards, call), s.cfg.Logger)
	}()
}

// Serve answers one call on this node's replica: NOT_OWNER when the shard is not placed here,
// BAD_REQUEST for a malformed command or query, UNAVAILABLE when the replica could not answer.
func Serve(ctx context.Context, sh Shards, call *messages.PlainCall) *messages.PlainCallReply {
	fail := func(code messages.ErrorCode, format string, args ...any) *messages.PlainCallReply {
		return &messages.PlainCallReply{Code: code, Message: fmt.Sprintf(format, args...)}
	}
	id := call.GetShardId()
	p, ok := sh.CachedPlainShardByID(id)
	if !ok {
		return fail(messages.ErrorCode_ERROR_CODE_NOT_OWNER, "plain shard %d is not in this node's placement", id)
	}
	if call.GetApplied() {
		// a joining replica answers too: the mover waits for it to catch up
		runs, err := sh.PlainRuns(p)
		switch {
		case !runs:
			return fail(messages.ErrorCode_ERROR_CODE_NOT_OWNER, "plain shard %d has no replica on this node", id)
		case err != nil:
			return fail(messages.ErrorCode_ERROR_CODE_UNAVAILABLE, "%v", err)
		}
	}
	if here, err := sh.PlainHere(p); !call.GetApplied() {
		switch {
		case !here:
			return fail(messages.ErrorCode_ERROR_CODE_NOT_OWNER, "plain shard %d has no voting replica on this node", id)
		case err != nil:
			return fail(messages.ErrorCode_ERROR_CODE_UNAVAILABLE, "%v", err)
		}
	}
	switch {
	case call.GetAddReplica() != 0:
		if call.GetAddAddr() == "" {
			return fail(messages.ErrorCode_ERROR_CODE_BAD_REQUEST, "adding replica %d to plain shard %d: no raft address", call.GetAddReplica(), id)
		}
		if err := sh.PlainAddReplica(ctx, id, call.GetAddReplica(), call.GetAddAddr()); err != nil {
			return unavailable(err)
		}
		return &messages.PlainCallReply{}
	case call.GetRemoveReplica() != 0:
		if err := sh.PlainRemoveReplica(ctx, id, call.GetRemoveReplica()); err != nil {
			return unavailable(err)
		}
		return &messages.PlainCallReply{}
	case call.GetApplied():
		applied, ok := sh.PlainApplied(id)
		if !ok {
			return fail(messages.ErrorCode_ERROR_CODE_UNAVAILABLE, "plain shard %d is starting on this node", id)
		}
		return &messages.PlainCallReply{Applied: applied}
	case len(call.GetCommand()) > 0:
		cmd, err := plain.DecodeCommand(call.GetCommand())
		if err != nil {
			return fail(messages.ErrorCode_ERROR_CODE_BAD_REQUEST, "%v", err)
		}
		if cmd.NS.Tenant != p.Tenant || cmd.NS.DB != p.DB {
			return fail(messages.ErrorCode_ERROR_CODE_BAD_REQUEST, "a command on %s.%s sent to the plain shard of %s.%s", cmd.NS.Tenant, cmd.NS.DB, p.Tenant, p.DB)
		}
		res, applied, err := sh.PlainWrite(ctx, id, cmd)
		if err != nil && res.Code == plain.CodeOK {
			return unavailable(err)
		}
		return &messages.PlainCallReply{Result: plain.EncodeResult(res), Applied: applied}
	case len(call.GetQuery()) > 0:
		q, err := plain.DecodeQuery(call.GetQuery())
		if err != nil {
			return fail(messages.ErrorCode_ERROR_CODE_BAD_REQUEST, "%v", err)
		}
		if t, d, ok := queryDB(q); ok && (t != p.Tenant || d != p.DB) {
			return fail(messages.ErrorCode_ERROR_CODE_BAD_REQUEST, "a query on %s.%s sent to the plain shard of %s.%s", t, d, p.Tenant, p.DB)
		}
		v, err := sh.PlainRead(ctx, id, q)
		if err != nil {
			return unavailable(err)
		}
		b, err := plain.EncodeAnswer(v)
		if err != nil {
			return fail(messages.ErrorCode_ERROR_CODE_INTERNAL, "%v", err)
		}
		applied, _ := sh.PlainApplied(id)
		return &messages.PlainCallReply{Result: b, Applied: applied}
	}
	return fail(messages.ErrorCode_ERROR_CODE_BAD_REQUEST, "a plain call with neither command, query nor applied")
}

// queryDB is the database a query reads (none for AppliedQuery).
func queryDB(q any) (tenant, db string, ok bool) {
	switch q := q.(type) {
	case plain.GetQuery:
		return q.NS.Tenant, q.NS.DB, true
	case plain.ScanQuery:
		return q.NS.Tenant, q.NS.DB, true
	case plain.IndexesQuery:
		return q.NS.Tenant, q.NS.DB, true
	case plain.StatsQuery:
		return q.NS.Tenant, q.NS.DB, true
	case plain.DBStatsQuery:
		return q.Tenant, q.DB, true
	}
	return "", "", false
}

// unavailable is the reply of a call the replica could not serve (no leader, timed out, closing,
// stopped): the caller may try another replica; a proposal may or may not have applied.
func unavailable(err error) *messages.PlainCallReply {
	code := messages.ErrorCode_ERROR_CODE_UNAVAILABLE
	if errors.Is(err, meta.ErrPlainNotHere) {
		code = messages.ErrorCode_ERROR_CODE_NOT_OWNER
	}
	return &messages.PlainCallReply{Code: code, Message: err.Error()}
}
