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
	// Window > 0 asks for aggregates instead of points: per series, field and window of that
	// length (aligned on Origin; zero: the Unix epoch) the count, sum, min and max.
	Window time.Duration
	Origin time.Time
}

// Column is the points of one field of one series, in time order, with their values in the
// slice of their type (Floats for doubles, Ints for integers and dates (ms), Bools, Strings).
// For an aggregate (Query.Window), Times are the windows' starts and Counts, Sums, Mins and
// Maxs their aggregates (Sums, Mins and Maxs for numbers and booleans only; a boolean's sum
// counts the trues); a window cut by a bucket boundary (a day by default) comes in two parts.
type Column struct {
	Tags    map[string]string
	Field   string
	Type    storage.FieldType
	Times   []time.Time
	Floats  []float64
	Ints    []int64
	Bools   []bool
	Strings []string
	Counts  []int64
	Sums    []float64
	Mins    []float64
	Maxs    []float64
}

// Scan streams the columns a query selects (or their aggregates, with Query.Window) to fn, chunk
// by chunk through a cursor on one node (which reads one replica of every replica set). A series spread over several buckets comes in
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
		Fields: q.Fields, Tags: q.Tags, MaxChunkBytes: uint32(max(q.ChunkBytes, 0)), WindowNs: int64(q.Window)}
	if q.Window > 0 && !q.Origin.IsZero() {
		m.Origin = q.Origin.UnixNano()
	}
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
		Floats: m.GetFloats(), Ints: m.GetInts(), Bools: m.GetBools(), Counts: m.GetCounts(), Sums: m.GetSums(), Mins: m.GetMins(), Maxs: m.GetMaxs()}
	for i, t := range m.GetTimes() {
		col.Times[i] = time.Unix(0, t).UTC()
	}
	for _, b := range m.GetBytes() {
		col.Strings = append(col.Strings, string(b))
	}
	return col
}
