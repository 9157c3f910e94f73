package reader

// The cursor actor: one per open remote read, a child of the reader, named cursor-<id>.
//
// Owns:       one *engine.Snapshot and a pull iterator over its Scan or Aggregate; both are released
//             when the cursor stops (last chunk sent, error, CloseCursor, idle timeout, reader stop).
// Messages:   lifecycle (Started: asks the manager for the snapshot; Stopped: releases it;
//             ReceiveTimeout: idle too long, stops); requests *messages.ScanRequest for the next
//             chunk (forwarded by the reader with the requester as sender).
// Supervisor: the reader (Stop).
// Children:   none.
//
// Reading the next chunk blocks this actor's Receive on disk reads; that is why every cursor is its
// own actor: the reader, the vnodes and the other cursors keep running.
// A snapshot that arrives after the cursor was stopped (the reader stopping while the manager
// answers) is not released; that only happens at shutdown.

import (
	"iter"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"
	"google.golang.org/protobuf/proto"

	"github.com/chronogo/chronogo/actors"
	"github.com/chronogo/chronogo/actors/vnode"
	"github.com/chronogo/chronogo/messages"
	"github.com/chronogo/chronogo/storage/engine"
	"github.com/chronogo/chronogo/storage/index"
)

// cursor is described at the top of this file.
type cursor struct {
	cfg       Config
	id        uint64
	req       *messages.ScanRequest
	filter    index.Expr
	requester *actor.PID
	log       logrus.FieldLogger

	snap  *engine.Snapshot
	next  func() (part, bool)
	stop  func()
	stats engine.ScanStats // what the scan read so far, sent with its last chunk
}

func newCursor(cfg Config, id uint64, req *messages.ScanRequest, filter index.Expr, requester *actor.PID) *cursor {
	return &cursor{cfg: cfg, id: id, req: req, filter: filter, requester: requester,
		log: cfg.Logger.WithFields(logrus.Fields{"cursor_id": id, "vnode_id": req.GetVnode().GetVnodeId()})}
}

// Receive implements actor.Actor.
func (c *cursor) Receive(ctx actor.Context) {
	switch ctx.Message().(type) {
	case *actor.Started:
		f := ctx.RequestFuture(c.cfg.Manager, &vnode.Forward{Spec: vnode.SpecOf(c.req.GetVnode()), Msg: &vnode.GetSnapshot{}}, c.cfg.SnapshotTimeout)
		ctx.ReenterAfter(f, func(res any, err error) { c.opened(ctx, res, err) })
	case *actor.Stopped:
		c.release()
	case *actor.ReceiveTimeout:
		c.log.Debug("cursor idle too long; closed")
		ctx.Stop(ctx.Self())
	case *messages.ScanRequest:
		c.serve(ctx, ctx.Sender())
	}
}

// opened starts the read on the snapshot and answers the first chunk.
func (c *cursor) opened(ctx actor.Context, res any, err error) {
	if err != nil {
		c.fail(ctx, messages.ErrorCode_ERROR_CODE_UNAVAILABLE, "snapshot: "+err.Error())
		return
	}
	switch r := res.(type) {
	case *engine.Snapshot:
		c.snap = r
	case *messages.ErrorReply:
		c.fail(ctx, r.GetCode(), r.GetMessage())
		return
	default:
		c.fail(ctx, messages.ErrorCode_ERROR_CODE_INTERNAL, "snapshot: unexpected reply")
		return
	}
	budget := chunkBudget(c.req.GetMaxChunkBytes())
	q := engine.ScanQuery{Table: c.req.GetTable(), Filter: c.filter, MinTime: c.req.GetMinTime(), MaxTime: c.req.GetMaxTime(), Fields: c.req.GetFields()}
	var seq iter.Seq[part]
	if c.req.GetAggregate() {
		seq = aggParts(c.snap, engine.AggQuery{ScanQuery: q, Window: c.req.GetWindow(), Origin: c.req.GetOrigin(), LastOnly: c.req.GetLastOnly(), SumsOnly: c.req.GetSumsOnly(),
			ValueFields: c.req.GetValueFields()}, budget)
	} else {
		q.Stats = &c.stats
		seq = scanParts(c.snap, q, budget)
	}
	c.next, c.stop = iter.Pull(seq)
	ctx.SetReceiveTimeout(c.cfg.IdleTimeout)
	c.serve(ctx, c.requester)
}

// serve reads the next chunk and sends it; after the last one (or an error) the cursor stops.
func (c *cursor) serve(ctx actor.Context, to *actor.PID) {
	if c.next == nil {
		return // not opened yet: the requester cannot know the id
	}
	p, ok := c.next()
	if !ok {
		p = part{last: true}
	}
	var reply proto.Message
	switch {
	case p.err != nil:
		c.log.WithError(p.err).Warn("remote read failed")
		reply = errorChunk(c.req, c.id, messages.ErrorCode_ERROR_CODE_INTERNAL, p.err.Error())
	case c.req.GetAggregate():
		reply = &messages.AggChunk{Rows: p.rows, Done: p.last, CursorId: c.id}
	default:
		ch := &messages.ScanChunk{Columns: p.cols, Done: p.last, CursorId: c.id}
		if p.last {
			st := c.stats
			ch.Stats = &messages.ScanStats{Series: st.Series, BlocksRead: st.BlocksRead, BlocksSkipped: st.BlocksSkipped, CacheColumns: st.CacheColumns}
		}
		reply = ch
	}
	actors.SendReply(ctx, to, reply, c.log)
	if p.last || p.err != nil {
		ctx.Stop(ctx.Self())
	}
}

func (c *cursor) fail(ctx actor.Context, code messages.ErrorCode, msg string) {
	actors.SendReply(ctx, c.requester, errorChunk(c.req, c.id, code, msg), c.log)
	ctx.Stop(ctx.Self())
}

// release ends the engine read and releases the snapshot.
func (c *cursor) release() {
	if c.stop != nil {
		c.stop()
		c.stop, c.next = nil, nil
	}
	if c.snap != nil {
		c.snap.Release()
		c.snap = nil
	}
}
