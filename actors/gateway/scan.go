package gateway

import (
	"context"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/chronogo/chronogo/messages"
	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/engine"
)

// Scanner reads a collection for an SDK client (the node's backend): fn gets each column with
// its series' tags; the points are only valid during the call.
type Scanner interface {
	ClientScan(ctx context.Context, tenant, db, coll string, tags map[string]string, minT, maxT int64, fields []string,
		fn func(tags map[string]string, field string, p *storage.Points) error) error
	// ClientAggregate gets each (series, field, window) aggregate, in series, field and window
	// order.
	ClientAggregate(ctx context.Context, tenant, db, coll string, tags map[string]string, minT, maxT int64, fields []string,
		window, origin int64, fn func(tags map[string]string, r *engine.AggResult) error) error
}

// Cursor bounds: a cursor not asked for its next chunk for cursorIdle is released, and a
// gateway holds at most maxCursors.
const (
	cursorIdle      = 2 * time.Minute
	maxCursors      = 1000
	defaultChunk    = 1 << 20
	cursorReadahead = 16 // columns read ahead of the client
)

// cursor is an open scan: a goroutine reads columns into cols while the client asks for chunks.
type cursor struct {
	cols    chan *messages.ClientColumn
	err     error // the scan's result, set before cols is closed
	cancel  context.CancelFunc
	touched time.Time
	busy    bool
}

// scan answers a ClientScan: it opens a cursor, or serves the next chunk of one, or closes one.
func (g *gateway) scan(sys *actor.ActorSystem, to *actor.PID, m *messages.ClientScan) {
	sess, ok := g.session(m.GetSession())
	switch {
	case !ok:
		g.reply(sys, to, &messages.ClientScanReply{Code: messages.ErrorCode_ERROR_CODE_NOT_OWNER, Message: "unknown session: say hello again"})
		return
	case sess.MayRead != nil && !sess.MayRead(m.GetDb()):
		g.reply(sys, to, &messages.ClientScanReply{Code: messages.ErrorCode_ERROR_CODE_BAD_REQUEST, Message: fmt.Sprintf("not authorized to read %q", m.GetDb())})
		return
	case g.cfg.Scan == nil:
		g.reply(sys, to, &messages.ClientScanReply{Code: messages.ErrorCode_ERROR_CODE_UNSUPPORTED, Message: "this node serves no scans"})
		return
	}
	id := m.GetCursorId()
	g.mu.Lock()
	if id == 0 {
		g.expireLocked()
		if len(g.cursors) >= maxCursors {
			g.mu.Unlock()
			g.reply(sys, to, &messages.ClientScanReply{Code: messages.ErrorCode_ERROR_CODE_OVERLOADED, Message: "too many open cursors: retry later"})
			return
		}
		g.lastCursor++
		id = g.lastCursor
		g.cursors[id] = g.open(sess, m)
	}
	c, ok := g.cursors[id]
	if !ok || c.busy {
		g.mu.Unlock()
		g.reply(sys, to, &messages.ClientScanReply{Code: messages.ErrorCode_ERROR_CODE_BAD_REQUEST, Message: fmt.Sprintf("cursor %d is not open (or already being read)", id)})
		return
	}
	if m.GetClose() {
		delete(g.cursors, id)
		g.mu.Unlock()
		c.cancel()
		g.reply(sys, to, &messages.ClientScanReply{CursorId: id, Done: true})
		return
	}
	c.busy, c.touched = true, time.Now()
	g.mu.Unlock()
	limit := int(m.GetMaxChunkBytes())
	if limit <= 0 || limit > 8*defaultChunk {
		limit = defaultChunk
	}
	go func() {
		reply := &messages.ClientScanReply{CursorId: id}
		size := 0
		for size < limit {
			col, more := <-c.cols
			if !more {
				reply.Done = true
				if c.err != nil {
					reply = &messages.ClientScanReply{Code: messages.ErrorCode_ERROR_CODE_BAD_REQUEST, Message: c.err.Error(), CursorId: id, Done: true}
				}
				break
			}
			reply.Columns = append(reply.Columns, col)
			size += 16 + len(col.GetTimes())*8 + len(col.GetFloats())*8 + len(col.GetInts())*8 + len(col.GetBools())
			for _, b := range col.GetBytes() {
				size += len(b) + 2
			}
		}
		g.mu.Lock()
		c.busy = false
		if reply.Done {
			delete(g.cursors, id)
		}
		g.mu.Unlock()
		g.reply(sys, to, reply)
	}()
}

// open starts the scan of a new cursor; g.mu is held.
func (g *gateway) open(sess Session, m *messages.ClientScan) *cursor {
	ctx, cancel := context.WithCancel(context.Background())
	c := &cursor{cols: make(chan *messages.ClientColumn, cursorReadahead), cancel: cancel, touched: time.Now()}
	push := func(col *messages.ClientColumn) error {
		select {
		case c.cols <- col:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	go func() {
		defer cancel()
		if m.GetWindowNs() > 0 {
			c.err = g.aggregate(ctx, sess, m, push)
		} else {
			c.err = g.cfg.Scan.ClientScan(ctx, sess.Tenant, m.GetDb(), m.GetCollection(), m.GetTags(), m.GetMinTime(), m.GetMaxTime(), m.GetFields(),
				func(tags map[string]string, field string, p *storage.Points) error {
					return push(pointsColumn(tags, field, p))
				})
		}
		close(c.cols)
	}()
	return c
}

// expireLocked releases the cursors nobody asked for a while; g.mu is held.
func (g *gateway) expireLocked() {
	for id, c := range g.cursors {
		if !c.busy && time.Since(c.touched) > cursorIdle {
			c.cancel()
			delete(g.cursors, id)
		}
	}
}

// pointsColumn copies a scanned column into a message.
func pointsColumn(tags map[string]string, field string, p *storage.Points) *messages.ClientColumn {
	col := &messages.ClientColumn{Tags: tags, Field: field, FieldType: uint32(p.Values.Type), Times: append([]int64(nil), p.Times...)}
	switch p.Values.Type.Class() {
	case storage.ClassFloat:
		col.Floats = append([]float64(nil), p.Values.Floats...)
	case storage.ClassInt:
		col.Ints = append([]int64(nil), p.Values.Ints...)
	case storage.ClassBool:
		col.Bools = append([]bool(nil), p.Values.Bools...)
	default:
		for _, b := range p.Values.Bytes {
			col.Bytes = append(col.Bytes, append([]byte(nil), b...))
		}
	}
	return col
}

// aggRowsPerColumn bounds the windows one aggregate column carries.
const aggRowsPerColumn = 4096

// aggregate runs an aggregate cursor: consecutive windows of one (series, field, type) go in one
// column (times are the windows' starts).
func (g *gateway) aggregate(ctx context.Context, sess Session, m *messages.ClientScan, push func(*messages.ClientColumn) error) error {
	var (
		cur *messages.ClientColumn
		key string
	)
	err := g.cfg.Scan.ClientAggregate(ctx, sess.Tenant, m.GetDb(), m.GetCollection(), m.GetTags(), m.GetMinTime(), m.GetMaxTime(), m.GetFields(),
		m.GetWindowNs(), m.GetOrigin(), func(tags map[string]string, r *engine.AggResult) error {
			k := fmt.Sprint(r.Series, "\x00", r.Field, "\x00", r.Type)
			if cur != nil && (k != key || len(cur.Times) >= aggRowsPerColumn) {
				if err := push(cur); err != nil {
					return err
				}
				cur = nil
			}
			if cur == nil {
				cur, key = &messages.ClientColumn{Tags: tags, Field: r.Field, FieldType: uint32(r.Type)}, k
			}
			cur.Times = append(cur.Times, r.Start)
			cur.Counts = append(cur.Counts, r.Count)
			switch r.Type.Class() {
			case storage.ClassFloat:
				cur.Sums, cur.Mins, cur.Maxs = append(cur.Sums, r.FSum), append(cur.Mins, r.FMin), append(cur.Maxs, r.FMax)
			case storage.ClassInt, storage.ClassBool:
				cur.Sums, cur.Mins, cur.Maxs = append(cur.Sums, float64(r.Sum)), append(cur.Mins, float64(r.Min)), append(cur.Maxs, float64(r.Max))
			}
			return nil
		})
	if err == nil && cur != nil {
		err = push(cur)
	}
	return err
}
