package meta

import (
	"context"
	"errors"
	"fmt"

	"github.com/lni/dragonboat/v4"

	"github.com/chronogo/chronogo/meta/plain"
)

// PlainWrite proposes a write or drop to the plain-collections shard and returns its result; a
// command the shard finds malformed is an error.
func (c *Client) PlainWrite(ctx context.Context, cmd plain.Command) (plain.Result, error) {
	if cmd.OpID == nil {
		id := plain.NewOpID()
		cmd.OpID = id[:]
	}
	b, err := plain.EncodeCommand(cmd)
	if err != nil {
		return plain.Result{}, err
	}
	var res plain.Result
	err = c.retry(ctx, func(actx context.Context) error {
		r, err := c.nh.SyncPropose(actx, c.sessions[ShardPlain], b)
		if err != nil {
			return err
		}
		res, err = plain.DecodeResult(r.Data)
		return err
	})
	if err != nil {
		return plain.Result{}, fmt.Errorf("plain %s of %s.%s: %w", cmd.Op, cmd.NS.DB, cmd.NS.Coll, plainErr(err))
	}
	if res.Code != plain.CodeOK {
		return res, fmt.Errorf("plain %s of %s.%s: %s", cmd.Op, cmd.NS.DB, cmd.NS.Coll, res.Message)
	}
	return res, nil
}

// PlainRead runs a linearizable query (plain.GetQuery, ScanQuery, StatsQuery, DBStatsQuery) on
// the local replica of the plain-collections shard.
func (c *Client) PlainRead(ctx context.Context, q any) (any, error) {
	v, err := c.read(ctx, ShardPlain, q)
	if err != nil {
		return nil, fmt.Errorf("plain read %T: %w", q, plainErr(err))
	}
	return v, nil
}

// plainErr names the missing shard of an old cluster.
func plainErr(err error) error {
	if errors.Is(err, dragonboat.ErrShardNotFound) {
		return ErrPlainUnavailable
	}
	return err
}

// PlainVoters is how many voting replicas the plain-collections shard has (a linearizable read
// of its membership).
func (c *Client) PlainVoters(ctx context.Context) (int, error) {
	var n int
	err := c.retry(ctx, func(actx context.Context) error {
		m, err := c.nh.SyncGetShardMembership(actx, ShardPlain)
		if err != nil {
			return err
		}
		n = len(m.Nodes)
		return nil
	})
	return n, err
}

// PlainApplied is the index of the last plain-shard entry this node's replica applied (a local
// read, no round trip; false before the replica runs). A write through this node is applied here
// when it returns, so a replica reporting at least this index has every write made here so far.
func (c *Client) PlainApplied() (uint64, bool) {
	return c.localVersion(ShardPlain, plain.AppliedQuery{})
}
