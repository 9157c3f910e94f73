package reader

// The reader actor, named actors.ReaderName under the node.
//
// Owns:       the map cursor id -> cursor child of this node's open remote reads.
// Messages:   lifecycle (Started, Terminated of a cursor); requests *messages.ScanRequest (without
//             cursor_id: opens a cursor; with one: forwarded to that cursor with the original
//             sender), *messages.DigestRequest and *messages.RepairReadRequest (anti-entropy:
//             a repair-<id> child answers each, repair.go), *messages.CloseCursor (stops the cursor; no answer), *Stats (local), and
//             *messages.Envelope holding the first two (remote senders; answers go back in
//             envelopes). Unknown cursors and undecodable filters get an error chunk, unknown
//             envelope types an ErrorReply.
// Supervisor: the node (the root guardian's default strategy).
// Children:   cursor-<id> (cursor.go), one per open read, and repair-<id>, supervised with Stop: a failed cursor is
//             a bug, and its requester's next request gets "unknown cursor".

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"
	"google.golang.org/protobuf/proto"

	"github.com/chronogo/chronogo/actors"
	"github.com/chronogo/chronogo/messages"
	"github.com/chronogo/chronogo/storage/index"
)

// Config configures the reader.
type Config struct {
	Manager *actor.PID // this node's vnode manager, asked for snapshots
	// IdleTimeout releases a cursor whose reader has not asked for its next chunk in time
	// (default 30 s).
	IdleTimeout time.Duration
	// SnapshotTimeout bounds the manager's answer to a snapshot request (default 10 s).
	SnapshotTimeout time.Duration
	// DetailDigests bounds the series digests of one anti-entropy answer (default
	// DefaultDetailDigests); more come in further answers.
	DetailDigests int
	Logger        logrus.FieldLogger
}

func (c Config) withDefaults() Config {
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 30 * time.Second
	}
	if c.SnapshotTimeout <= 0 {
		c.SnapshotTimeout = 10 * time.Second
	}
	if c.DetailDigests <= 0 {
		c.DetailDigests = DefaultDetailDigests
	}
	if c.Logger == nil {
		c.Logger = logrus.StandardLogger()
	}
	return c
}

// Props returns the props of the reader; spawn it named actors.ReaderName.
func Props(cfg Config) *actor.Props {
	cfg = cfg.withDefaults()
	return actor.PropsFromProducer(func() actor.Actor {
		// ids start at the clock so that a restarted node does not reuse the ids of its previous run
		return &reader{cfg: cfg, log: cfg.Logger, nextID: uint64(time.Now().UnixNano()), cursors: map[uint64]*actor.PID{}, byPID: map[string]uint64{}, info: map[uint64]*CursorInfo{}}
	}, actor.WithSupervisor(cursorStrategy), actor.WithMailbox(actors.CountedMailbox(actor.Unbounded())))
}

var cursorStrategy = actor.NewOneForOneStrategy(0, 0, func(any) actor.Directive { return actor.StopDirective })

// Stats asks the reader for its figures (local only); the answer is a StatsReply.
type Stats struct{}

// StatsReply answers Stats.
type StatsReply struct {
	OpenCursors int
	Opened      uint64 // cursors opened since the reader started
	Cursors     []CursorInfo
}

// CursorInfo is one open cursor: a scan of one vnode for a reader on another node (or this one).
type CursorInfo struct {
	ID        uint64
	Actor     string // the cursor actor's id
	Vnode     uint64
	DB, Table string
	Requester string // the actor system address of the requester
	Opened    time.Time
	Requests  int // chunk requests so far, the first one included
}

// reader is described at the top of this file.
type reader struct {
	cfg     Config
	log     logrus.FieldLogger
	nextID  uint64
	opened  uint64
	cursors map[uint64]*actor.PID
	byPID   map[string]uint64
	info    map[uint64]*CursorInfo
}

// Receive implements actor.Actor.
func (r *reader) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
	case *actor.Terminated:
		if id, ok := r.byPID[m.Who.Id]; ok {
			delete(r.byPID, m.Who.Id)
			delete(r.cursors, id)
			delete(r.info, id)
		}
	default:
		r.handle(ctx, m)
	}
}

func (r *reader) handle(ctx actor.Context, msg any) {
	switch m := msg.(type) {
	case *messages.Envelope:
		inner, err := m.Open()
		if err != nil {
			actors.SendReply(ctx, ctx.Sender(), messages.ErrorFor(err), r.log)
			return
		}
		r.handle(ctx, inner)
	case *messages.ScanRequest:
		if m.GetCursorId() != 0 {
			r.next(ctx, m)
			return
		}
		r.open(ctx, m)
	case *messages.DigestRequest:
		r.startRepairJob(ctx, m, m.GetVnode())
	case *messages.RepairReadRequest:
		r.startRepairJob(ctx, m, m.GetVnode())
	case *messages.CloseCursor:
		if pid, ok := r.cursors[m.GetCursorId()]; ok {
			ctx.Stop(pid)
		}
	case *Stats:
		reply := &StatsReply{OpenCursors: len(r.cursors), Opened: r.opened, Cursors: make([]CursorInfo, 0, len(r.info))}
		for _, c := range r.info {
			reply.Cursors = append(reply.Cursors, *c)
		}
		slices.SortFunc(reply.Cursors, func(a, b CursorInfo) int { return cmp.Compare(a.ID, b.ID) })
		ctx.Respond(reply)
	default:
		if ctx.Sender() != nil {
			actors.SendReply(ctx, ctx.Sender(), &messages.ErrorReply{Code: messages.ErrorCode_ERROR_CODE_UNSUPPORTED, Message: fmt.Sprintf("unexpected message %T", msg)}, r.log)
		}
	}
}

// open starts a cursor child, which takes the snapshot and answers the first chunk.
func (r *reader) open(ctx actor.Context, m *messages.ScanRequest) {
	filter, err := index.UnmarshalExpr(m.GetFilter())
	if err != nil {
		actors.SendReply(ctx, ctx.Sender(), errorChunk(m, 0, messages.ErrorCode_ERROR_CODE_BAD_REQUEST, err.Error()), r.log)
		return
	}
	r.nextID++
	id := r.nextID
	requester := ctx.Sender()
	props := actor.PropsFromProducer(func() actor.Actor { return newCursor(r.cfg, id, m, filter, requester) },
		actor.WithMailbox(actors.CountedMailbox(actor.Unbounded())))
	pid, err := ctx.SpawnNamed(props, "cursor-"+strconv.FormatUint(id, 10))
	if err != nil {
		actors.SendReply(ctx, requester, errorChunk(m, 0, messages.ErrorCode_ERROR_CODE_INTERNAL, err.Error()), r.log)
		return
	}
	r.opened++
	r.cursors[id] = pid
	r.byPID[pid.Id] = id
	ci := &CursorInfo{ID: id, Actor: pid.Id, Vnode: m.GetVnode().GetVnodeId(), DB: m.GetVnode().GetDb(), Table: m.GetTable(), Opened: time.Now(), Requests: 1}
	if requester != nil {
		ci.Requester = requester.Address
	}
	r.info[id] = ci
}

// startRepairJob starts a child that answers one anti-entropy request (repair.go).
func (r *reader) startRepairJob(ctx actor.Context, m proto.Message, ref *messages.VnodeRef) {
	r.nextID++
	requester := ctx.Sender()
	props := actor.PropsFromProducer(func() actor.Actor { return newRepairJob(r.cfg, m, ref, requester) },
		actor.WithMailbox(actors.CountedMailbox(actor.Unbounded())))
	if _, err := ctx.SpawnNamed(props, "repair-"+strconv.FormatUint(r.nextID, 10)); err != nil {
		actors.SendReply(ctx, requester, &messages.ErrorReply{Code: messages.ErrorCode_ERROR_CODE_INTERNAL, Message: err.Error()}, r.log)
	}
}

// next forwards a request for the next chunk to its cursor.
func (r *reader) next(ctx actor.Context, m *messages.ScanRequest) {
	pid, ok := r.cursors[m.GetCursorId()]
	if !ok {
		actors.SendReply(ctx, ctx.Sender(), errorChunk(m, 0, messages.ErrorCode_ERROR_CODE_BAD_REQUEST,
			fmt.Sprintf("unknown cursor %d (finished, closed or idle too long)", m.GetCursorId())), r.log)
		return
	}
	if ci := r.info[m.GetCursorId()]; ci != nil {
		ci.Requests++
	}
	ctx.RequestWithCustomSender(pid, m, ctx.Sender())
}

// errorChunk is the answer to a failed request: an AggChunk for aggregate requests, a ScanChunk
// otherwise. It is the last chunk of its cursor.
func errorChunk(m *messages.ScanRequest, id uint64, code messages.ErrorCode, msg string) proto.Message {
	if m.GetAggregate() {
		return &messages.AggChunk{Done: true, Code: code, Message: msg, CursorId: id}
	}
	return &messages.ScanChunk{Done: true, Code: code, Message: msg, CursorId: id}
}
