package gateway

import (
	"context"
	"fmt"
	"sync/atomic"
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

// Cursor bounds: a cursor not asked for its next chunk for cursorIdle is released; a gateway
// holds at most maxCursors, a session at most maxSessionCursors (so that one client cannot take
// them all). What the scans read ahead of their clients is bounded: at most cursorReadahead
// columns of at most maxColumnPoints points per cursor, and Config.ReadaheadBytes over all
// cursors (past it a scan waits until its client took what it read, unless it holds nothing).
const (
	cursorIdle        = 2 * time.Minute
	maxCursors        = 1000
	maxSessionCursors = 64
	defaultChunk      = 1 << 20
	cursorReadahead   = 16
	maxColumnPoints   = 16 << 10
)

// cursor is an open scan: a goroutine reads columns into cols while the client asks for chunks.
type cursor struct {
	owner   string // the session token that opened it: no other session reads or closes it
	cols    chan *messages.ClientColumn
	held    atomic.Int64 // bytes of the columns in cols
	err     error        // the scan's result, set before cols is closed
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
	id, owner := m.GetCursorId(), string(m.GetSession())
	g.mu.Lock()
	if id == 0 {
		g.expireLocked()
		if msg := g.cursorRoomLocked(owner); msg != "" {
			g.mu.Unlock()
			g.reply(sys, to, &messages.ClientScanReply{Code: messages.ErrorCode_ERROR_CODE_OVERLOADED, Message: msg})
			return
		}
		g.lastCursor++
		id = g.lastCursor
		g.cursors[id] = g.open(sess, owner, m)
	}
	c, ok := g.cursors[id]
	if ok && c.owner != owner {
		ok = false // another session's cursor is not even said to exist
	}
	if !ok || c.busy {
		g.mu.Unlock()
		g.reply(sys, to, &messages.ClientScanReply{Code: messages.ErrorCode_ERROR_CODE_BAD_REQUEST, Message: fmt.Sprintf("cursor %d is not open (or already being read)", id)})
		return
	}
	if m.GetClose() {
		delete(g.cursors, id)
		g.mu.Unlock()
		g.release(c)
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
			if more {
				n := columnBytes(col)
				c.held.Add(-n)
				g.readahead.Add(-n)
			}
			if !more {
				reply.Done = true
				if c.err != nil {
					reply = &messages.ClientScanReply{Code: messages.ErrorCode_ERROR_CODE_BAD_REQUEST, Message: c.err.Error(), CursorId: id, Done: true}
				}
				break
			}
			reply.Columns = append(reply.Columns, col)
			size += int(columnBytes(col))
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

// cursorRoomLocked says why owner may not open another cursor ("" when it may); g.mu is held.
func (g *gateway) cursorRoomLocked(owner string) string {
	if len(g.cursors) >= maxCursors {
		return "too many open cursors: retry later"
	}
	mine := 0
	for _, c := range g.cursors {
		if c.owner == owner {
			mine++
		}
	}
	if mine >= maxSessionCursors {
		return fmt.Sprintf("this session has %d open cursors, the most it may have: read them to the end or close them", mine)
	}
	return ""
}

// release stops a cursor's scan and gives back what it read ahead (its goroutine closes cols
// once the scan returned).
func (g *gateway) release(c *cursor) {
	c.cancel()
	go func() {
		for col := range c.cols {
			n := columnBytes(col)
			c.held.Add(-n)
			g.readahead.Add(-n)
		}
	}()
}

// columnBytes is about what a column takes in memory and on the wire.
func columnBytes(col *messages.ClientColumn) int64 {
	n := 16 + len(col.GetTimes())*8 + len(col.GetFloats())*8 + len(col.GetInts())*8 + len(col.GetBools()) +
		len(col.GetCounts())*8 + len(col.GetSums())*8 + len(col.GetMins())*8 + len(col.GetMaxs())*8
	for _, b := range col.GetBytes() {
		n += len(b) + 2
	}
	return int64(n)
}

// readaheadWait is how often a scan past the gateway's read-ahead budget looks again.
const readaheadWait = 5 * time.Millisecond

// open starts the scan of a new cursor; g.mu is held.
func (g *gateway) open(sess Session, owner string, m *messages.ClientScan) *cursor {
	ctx, cancel := context.WithCancel(context.Background())
	c := &cursor{owner: owner, cols: make(chan *messages.ClientColumn, cursorReadahead), cancel: cancel, touched: time.Now()}
	push := func(col *messages.ClientColumn) error {
		n := columnBytes(col)
		// past the budget, wait for clients to take columns; a cursor holding nothing always
		// goes on, so that a stalled client never stops the others' scans
		for c.held.Load() > 0 && g.readahead.Load()+n > g.cfg.ReadaheadBytes {
			select {
			case <-time.After(readaheadWait):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		c.held.Add(n)
		g.readahead.Add(n)
		select {
		case c.cols <- col:
			return nil
		case <-ctx.Done():
			c.held.Add(-n)
			g.readahead.Add(-n)
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
					for lo := 0; lo < p.Len(); lo += maxColumnPoints {
						if err := push(pointsColumn(tags, field, p, lo, min(lo+maxColumnPoints, p.Len()))); err != nil {
							return err
						}
					}
					return nil
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
			delete(g.cursors, id)
			g.release(c)
		}
	}
}

// pointsColumn copies points lo to hi of a scanned column into a message.
func pointsColumn(tags map[string]string, field string, p *storage.Points, lo, hi int) *messages.ClientColumn {
	col := &messages.ClientColumn{Tags: tags, Field: field, FieldType: uint32(p.Values.Type), Times: append([]int64(nil), p.Times[lo:hi]...)}
	switch p.Values.Type.Class() {
	case storage.ClassFloat:
		col.Floats = append([]float64(nil), p.Values.Floats[lo:hi]...)
	case storage.ClassInt:
		col.Ints = append([]int64(nil), p.Values.Ints[lo:hi]...)
	case storage.ClassBool:
		col.Bools = append([]bool(nil), p.Values.Bools[lo:hi]...)
	default:
		for _, b := range p.Values.Bytes[lo:hi] {
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
