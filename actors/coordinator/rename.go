package coordinator

import (
	"context"
	"fmt"
	"math"

	"github.com/chronogo/chronogo/actors/vnode"
	"github.com/chronogo/chronogo/messages"
	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/index"
)

// RenameResult counts a rename over a whole database: series and rows (documents) the filter
// matched, and those whose key changed.
type RenameResult struct {
	Series, Renamed   int64
	Rows, RenamedRows int64
}

// Rename renames the series of table matching filter by upd on every replica of every bucket
// (MongoDB's update of the meta field). Every replica must succeed. The counts come from one
// replica per replica set (the replicas hold the same data). The rename is versioned by the
// coordinator's clock: writes to a renamed series stamped before it, arriving later, follow the
// rename at each vnode.
func (c *Client) Rename(ctx context.Context, tenant, db, table string, filter index.Expr, upd *storage.TagUpdate) (RenameResult, error) {
	var (
		sum  RenameResult
		seen = map[uint64]bool{} // replica sets counted
	)
	msg := &vnode.Rename{Table: table, Filter: filter, Update: upd, Version: c.cfg.Clock.Now()}
	err := c.fanOutCollect(ctx, tenant, db, math.MinInt64, math.MaxInt64, msg, func(rs meta.ReplicaSet, v meta.Vnode, res any) error {
		res, err := messages.Unwrap(res)
		if err != nil {
			return err
		}
		switch r := res.(type) {
		case *messages.RenameReply:
			if err := replyError(r.GetCode(), r.GetMessage()); err != nil {
				return err
			}
			if !seen[rs.ID] && !v.Joining { // a joining vnode may not hold the set's data yet
				seen[rs.ID] = true
				sum.Series += r.GetSeries()
				sum.Renamed += r.GetRenamed()
				sum.Rows += r.GetRows()
				sum.RenamedRows += r.GetRenamedRows()
			}
			return nil
		case *messages.ErrorReply:
			return replyError(r.GetCode(), r.GetMessage())
		}
		return fmt.Errorf("%w %T", errNoReply, res)
	})
	return sum, err
}
