package coordinator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"

	"github.com/chronogo/chronogo/actors"
	"github.com/chronogo/chronogo/actors/reader"
	"github.com/chronogo/chronogo/messages"
	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/engine"
)

// Remote reads: a cursor on another node's reader actor (actors/reader), read chunk by chunk with
// one request per chunk from the caller's goroutine.

// chunk is what ScanChunk and AggChunk have in common.
type chunk interface {
	GetDone() bool
	GetCode() messages.ErrorCode
	GetMessage() string
	GetCursorId() uint64
}

// chunkConsumer hands one chunk's content to the caller; end is called after the last chunk.
type chunkConsumer interface {
	chunk(ch chunk) error
	end() error
}

// remoteStream is an open cursor on one remote replica.
type remoteStream struct {
	c         *Client
	pid       *actor.PID // the reader of the replica's node
	req       *messages.ScanRequest
	vnodeID   uint64
	nodeID    uint64
	cursor    uint64
	done      bool
	first     chunk // answered to the opening request, not yet consumed
	aggregate bool
}

// newStream resolves the reader of a remote candidate's node.
func (c *Client) newStream(ctx context.Context, cand candidate, req *messages.ScanRequest) (*remoteStream, error) {
	node, err := c.cfg.Placement.Node(ctx, cand.v.NodeID)
	if err != nil {
		return nil, err
	}
	if node.ActorAddr == "" {
		return nil, fmt.Errorf("node %d has no actor address", cand.v.NodeID)
	}
	return &remoteStream{c: c, pid: actor.NewPID(node.ActorAddr, actors.ReaderName), req: req, vnodeID: cand.v.ID,
		nodeID: cand.v.NodeID, aggregate: req.GetAggregate()}, nil
}

// request sends one request to the reader with the per-replica deadline.
func (s *remoteStream) request(deadline time.Time, m *messages.ScanRequest) *actor.Future {
	timeout := timeoutUntil(deadline, s.c.cfg.ReplicaTimeout)
	env, err := messages.Wrap(m)
	if err != nil {
		// every message of the registry wraps; this is a bug
		panic(fmt.Sprintf("BUG: wrapping ScanRequest: %v", err))
	}
	return s.c.root.RequestFuture(s.pid, env, timeout)
}

// accept decodes an answer and records the cursor's state; error chunks are errors.
func (s *remoteStream) accept(res any) (chunk, error) {
	res, err := messages.Unwrap(res)
	if err != nil {
		return nil, err
	}
	var ch chunk
	switch r := res.(type) {
	case *messages.ScanChunk:
		if s.aggregate {
			return nil, fmt.Errorf("got a ScanChunk; want an AggChunk")
		}
		ch = r
	case *messages.AggChunk:
		if !s.aggregate {
			return nil, fmt.Errorf("got an AggChunk; want a ScanChunk")
		}
		ch = r
	case *messages.ErrorReply:
		if r.GetCode() == messages.ErrorCode_ERROR_CODE_OK {
			return nil, fmt.Errorf("got an empty ErrorReply; want a chunk")
		}
		return nil, replyError(r.GetCode(), r.GetMessage())
	default:
		return nil, fmt.Errorf("unexpected reply %T", res)
	}
	if err := replyError(ch.GetCode(), ch.GetMessage()); err != nil {
		s.done = true // the reader closed the cursor
		return nil, err
	}
	s.cursor, s.done = ch.GetCursorId(), ch.GetDone()
	if !s.done && s.cursor == 0 {
		return nil, fmt.Errorf("chunk without cursor id before the last")
	}
	return ch, nil
}

// consume hands every chunk of the cursor to cc, requesting the next ones as it goes; the cursor
// is closed on the serving node when consume stops early.
func (s *remoteStream) consume(ctx context.Context, cc chunkConsumer) (err error) {
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	for {
		ch := s.first
		s.first = nil
		if ch == nil {
			if err := ctx.Err(); err != nil {
				return err
			}
			deadline, _ := ctx.Deadline()
			res, err := s.request(deadline, &messages.ScanRequest{CursorId: s.cursor, Aggregate: s.aggregate}).Result()
			if err != nil {
				return err
			}
			if ch, err = s.accept(res); err != nil {
				return err
			}
		}
		if err := cc.chunk(ch); err != nil {
			return err
		}
		if ch.GetDone() {
			return cc.end()
		}
	}
}

// close releases the cursor on the serving node unless it is finished; no answer is expected.
func (s *remoteStream) close() {
	if s.done || s.cursor == 0 {
		return
	}
	s.done = true
	env, err := messages.Wrap(&messages.CloseCursor{CursorId: s.cursor})
	if err != nil {
		return
	}
	s.c.root.Send(s.pid, env)
	s.c.cfg.Logger.WithFields(logrus.Fields{"cursor_id": s.cursor, "target_node": s.nodeID, "vnode_id": s.vnodeID}).Debug("remote cursor closed")
}

// remoteSource gives the series of one remote replica set read ids of their own (1, 2, ... in
// order of appearance) and resolves them.
type remoteSource struct {
	ids    map[string]storage.SeriesID
	keys   []storage.SeriesKey
	last   []byte
	lastID storage.SeriesID
}

func newRemoteSource() *remoteSource { return &remoteSource{ids: map[string]storage.SeriesID{}} }

// SeriesKey implements Source.
func (s *remoteSource) SeriesKey(id storage.SeriesID) (storage.SeriesKey, bool) {
	if id == 0 || uint64(id) > uint64(len(s.keys)) {
		return storage.SeriesKey{}, false
	}
	return s.keys[id-1], true
}

// id returns the id of an encoded series key, decoding keys seen for the first time.
func (s *remoteSource) id(key []byte) (storage.SeriesID, error) {
	if s.last != nil && bytes.Equal(key, s.last) {
		return s.lastID, nil
	}
	id, ok := s.ids[string(key)]
	if !ok {
		owned := bytes.Clone(key)
		k, err := storage.UnmarshalSeriesKey(owned)
		if err != nil {
			return 0, fmt.Errorf("remote series key: %w", err)
		}
		s.keys = append(s.keys, k)
		id = storage.SeriesID(len(s.keys))
		s.ids[string(owned)] = id
		key = owned
	}
	s.last, s.lastID = key, id
	return id, nil
}

// scanConsumer turns ScanColumns into calls of a ScanFunc. A column the reader cut over several
// ScanColumns (same series, field and type in a row, possibly across chunks) is joined again,
// so fn sees each column once, as in a local read.
type scanConsumer struct {
	fn        ScanFunc
	delivered *bool
	src       *remoteSource
	pend      engine.ScanColumn
	pendPts   storage.Points
	pendKey   []byte
	has       bool
	stats     *engine.ScanStats // nil: not counted
}

func newScanConsumer(fn ScanFunc, delivered *bool, stats *engine.ScanStats) *scanConsumer {
	return &scanConsumer{fn: fn, delivered: delivered, src: newRemoteSource(), stats: stats}
}

func (sc *scanConsumer) chunk(ch chunk) error {
	sch, ok := ch.(*messages.ScanChunk)
	if !ok {
		return errors.New("got an AggChunk; want a ScanChunk")
	}
	if st := sch.GetStats(); st != nil && sc.stats != nil {
		sc.stats.Add(engine.ScanStats{Series: st.GetSeries(), BlocksRead: st.GetBlocksRead(), BlocksSkipped: st.GetBlocksSkipped(), CacheColumns: st.GetCacheColumns()})
	}
	for _, col := range sch.GetColumns() {
		pts, err := reader.ColumnPoints(col)
		if err != nil {
			return err
		}
		if sc.has && col.GetField() == sc.pend.Field && pts.Values.Type == sc.pendPts.Values.Type && bytes.Equal(col.GetSeriesKey(), sc.pendKey) {
			sc.pendPts.AppendAll(&pts)
			continue
		}
		if err := sc.flush(); err != nil {
			return err
		}
		id, err := sc.src.id(col.GetSeriesKey())
		if err != nil {
			return err
		}
		// clipped: appending a continuation must not write into the message's arrays
		pts.Times = slices.Clip(pts.Times)
		pts.Values.Floats, pts.Values.Ints = slices.Clip(pts.Values.Floats), slices.Clip(pts.Values.Ints)
		pts.Values.Bools, pts.Values.Bytes = slices.Clip(pts.Values.Bools), slices.Clip(pts.Values.Bytes)
		sc.pendPts, sc.pendKey, sc.has = pts, col.GetSeriesKey(), true
		sc.pend = engine.ScanColumn{Series: id, Field: col.GetField(), Points: &sc.pendPts}
	}
	return nil
}

// flush hands the pending column to fn.
func (sc *scanConsumer) flush() error {
	if !sc.has {
		return nil
	}
	sc.has = false
	*sc.delivered = true
	return callerErr(sc.fn(sc.src, &sc.pend))
}

func (sc *scanConsumer) end() error { return sc.flush() }

// aggConsumer turns AggRows into calls of an AggFunc.
type aggConsumer struct {
	fn        AggFunc
	delivered *bool
	src       *remoteSource
}

func newAggConsumer(fn AggFunc, delivered *bool) *aggConsumer {
	return &aggConsumer{fn: fn, delivered: delivered, src: newRemoteSource()}
}

func (ac *aggConsumer) chunk(ch chunk) error {
	ach, ok := ch.(*messages.AggChunk)
	if !ok {
		return errors.New("got a ScanChunk; want an AggChunk")
	}
	for _, row := range ach.GetRows() {
		id, err := ac.src.id(row.GetSeriesKey())
		if err != nil {
			return err
		}
		r := reader.AggResultOf(row, id)
		*ac.delivered = true
		if err := ac.fn(ac.src, &r); err != nil {
			return callerErr(err)
		}
	}
	return nil
}

func (ac *aggConsumer) end() error { return nil }
