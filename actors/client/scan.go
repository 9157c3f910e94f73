package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/chronogo/chronogo/messages"
	"github.com/chronogo/chronogo/storage"
)

// Query selects what Scan reads: the points in [From, To] of the series whose tags equal every
// one of Tags, of Fields (none: every field).
type Query struct {
	Collection string
	From, To   time.Time
	Tags       map[string]string
	Fields     []string
	// ChunkBytes bounds one answer of the cursor (0: the node's 1 MiB).
	ChunkBytes int
}

// Column is the points of one field of one series, in time order, with their values in the
// slice of their type (Floats for doubles, Ints for integers and dates (ms), Bools, Strings).
type Column struct {
	Tags    map[string]string
	Field   string
	Type    storage.FieldType
	Times   []time.Time
	Floats  []float64
	Ints    []int64
	Bools   []bool
	Strings []string
}

// Scan streams the columns a query selects to fn, chunk by chunk through a cursor on one node
// (which reads one replica of every replica set). A series spread over several buckets comes in
// one column per bucket. fn's error stops the scan and is returned.
func (c *Client) Scan(ctx context.Context, db string, q Query, fn func(Column) error) error {
	if q.Collection == "" {
		return errors.New("scan: no collection")
	}
	if q.To.IsZero() {
		q.To = time.Unix(0, storage.MaxTime)
	}
	if q.From.IsZero() {
		q.From = time.Unix(0, storage.MinTime)
	}
	addr := c.pick(0)
	s, err := c.session(ctx, addr)
	if err != nil {
		return fmt.Errorf("scan: %w", err)
	}
	m := &messages.ClientScan{Session: s, Db: db, Collection: q.Collection, MinTime: q.From.UnixNano(), MaxTime: q.To.UnixNano(),
		Fields: q.Fields, Tags: q.Tags, MaxChunkBytes: uint32(max(q.ChunkBytes, 0))}
	for {
		res, err := c.ask(ctx, addr, m)
		if err != nil {
			return fmt.Errorf("scan on node %s: %w", addr, err)
		}
		r, ok := res.(*messages.ClientScanReply)
		if !ok {
			return fmt.Errorf("scan on node %s: unexpected answer %T", addr, res)
		}
		if r.GetCode() != messages.ErrorCode_ERROR_CODE_OK {
			if r.GetCode() == messages.ErrorCode_ERROR_CODE_NOT_OWNER {
				c.forget(addr)
			}
			return fmt.Errorf("scan: %w", &Error{Code: r.GetCode(), Msg: r.GetMessage()})
		}
		for _, col := range r.GetColumns() {
			if err := fn(columnOf(col)); err != nil {
				if !r.GetDone() {
					_, _ = c.ask(ctx, addr, &messages.ClientScan{Session: s, CursorId: r.GetCursorId(), Close: true})
				}
				return err
			}
		}
		if r.GetDone() {
			return nil
		}
		m = &messages.ClientScan{Session: s, CursorId: r.GetCursorId(), MaxChunkBytes: m.GetMaxChunkBytes()}
	}
}

// columnOf converts a message column.
func columnOf(m *messages.ClientColumn) Column {
	col := Column{Tags: m.GetTags(), Field: m.GetField(), Type: storage.FieldType(m.GetFieldType()), Times: make([]time.Time, len(m.GetTimes())),
		Floats: m.GetFloats(), Ints: m.GetInts(), Bools: m.GetBools()}
	for i, t := range m.GetTimes() {
		col.Times[i] = time.Unix(0, t).UTC()
	}
	for _, b := range m.GetBytes() {
		col.Strings = append(col.Strings, string(b))
	}
	return col
}
