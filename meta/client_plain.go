package meta

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/lni/dragonboat/v4"

	"github.com/chronogo/chronogo/meta/model"
	"github.com/chronogo/chronogo/meta/placement"
	"github.com/chronogo/chronogo/meta/plain"
)

// PlainShard is the Raft shard of a database's plain collections.
type PlainShard = model.PlainShard

// PlainShardOf returns the plain shard of a database: the cached one, else (with create) the one
// the placement creates for it, with the database's replication factor. Without create, ok is
// false when the database has none yet (it holds no plain document). A shard made for an
// earlier incarnation of the database (dropped, the drop cut short before the placement forgot
// its shard; confirmed by linearizable reads) is never the database's: with create it is
// dropped and a new one made.
func (c *Client) PlainShardOf(ctx context.Context, tenant, db string, create bool) (p PlainShard, ok bool, err error) {
	d, dbOK := c.CachedDatabase(tenant, db)
	p, ok = c.CachedPlainShard(tenant, db)
	if ok && dbOK && sameIncarnation(p, d) {
		return p, true, nil
	}
	// the cache lacks one of them, or they disagree: read both
	if d, dbOK, err = c.GetDatabase(ctx, tenant, db); err != nil {
		return PlainShard{}, false, err
	}
	v, err := c.read(ctx, ShardPlacement, placement.ViewQuery{})
	if err != nil {
		return PlainShard{}, false, fmt.Errorf("reading the plain shard of %s.%s: %w", tenant, db, err)
	}
	p, ok = v.(placement.View).Plain[placement.DBKey{Tenant: tenant, DB: db}]
	if ok && dbOK && sameIncarnation(p, d) {
		return p, true, nil
	}
	if !create {
		return PlainShard{}, false, nil
	}
	if !dbOK {
		return PlainShard{}, false, fmt.Errorf("plain shard of %s.%s: %w", tenant, db, ErrDatabaseNotFound)
	}
	if ok { // an earlier incarnation's
		if _, err := c.DropPlainShard(ctx, tenant, db, p.ID); err != nil {
			return PlainShard{}, false, err
		}
		c.log.WithFields(map[string]any{"tenant": tenant, "db": db, "shard_id": p.ID}).Warn("dropped the plain shard of an earlier database of that name (its drop was cut short)")
	}
	r, err := c.proposePlacement(ctx, placement.Command{Op: placement.OpCreatePlainShard, Tenant: tenant, DB: db,
		ReplicationFactor: max(d.ReplicationFactor, 1), DBCreatedAt: d.CreatedAt})
	if err != nil {
		return PlainShard{}, false, err
	}
	if r.Plain == nil {
		return PlainShard{}, false, fmt.Errorf("plain shard of %s.%s: %s: %s", tenant, db, r.Code, r.Message)
	}
	if !sameIncarnation(*r.Plain, d) {
		return PlainShard{}, false, fmt.Errorf("plain shard of %s.%s: the database was dropped and created again meanwhile; try again", tenant, db)
	}
	return *r.Plain, true, nil
}

// sameIncarnation reports whether p was made for database d as it is now (a shard that did not
// record it is taken as d's).
func sameIncarnation(p PlainShard, d Database) bool {
	return p.DBCreatedAt == 0 || p.DBCreatedAt == d.CreatedAt
}

// CachedPlainShard returns the cached plain shard of a database.
func (c *Client) CachedPlainShard(tenant, db string) (PlainShard, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	p, ok := c.placement.Plain[placement.DBKey{Tenant: tenant, DB: db}]
	return p, ok
}

// CachedPlainShardByID finds a plain shard of the cache by its id.
func (c *Client) CachedPlainShardByID(id uint64) (PlainShard, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, p := range c.placement.Plain {
		if p.ID == id {
			return p, true
		}
	}
	return PlainShard{}, false
}

// PlainHere reports whether this node holds a voting replica of p, starting it when it does not
// run yet.
func (c *Client) PlainHere(p PlainShard) (bool, error) {
	if c.plain == nil || !p.Has(c.nodeID) {
		return false, nil
	}
	return true, c.plain.ensure(p)
}

// PlainRuns reports whether this node runs a replica of p (a voting one, or one a move is
// adding), starting it when it does not run yet.
func (c *Client) PlainRuns(p PlainShard) (bool, error) {
	if c.plain == nil || !p.Runs(c.nodeID) {
		return false, nil
	}
	return true, c.plain.ensure(p)
}

// PlainAddReplica makes replica rid (of the node at raft address addr) a voting member of plain
// shard id, through this node's replica; a replica that is a member already changes nothing.
func (c *Client) PlainAddReplica(ctx context.Context, id, rid uint64, addr string) error {
	err := c.retry(ctx, func(actx context.Context) error {
		m, err := c.nh.SyncGetShardMembership(actx, id)
		if err != nil {
			return err
		}
		if _, ok := m.Nodes[rid]; ok {
			return nil
		}
		return c.nh.SyncRequestAddReplica(actx, id, rid, addr, m.ConfigChangeID)
	})
	if err != nil {
		return fmt.Errorf("adding replica %d to plain shard %d: %w", rid, id, plainErr(err))
	}
	return nil
}

// PlainRemoveReplica removes replica rid from the members of plain shard id, through this node's
// replica; a replica that is not a member changes nothing.
func (c *Client) PlainRemoveReplica(ctx context.Context, id, rid uint64) error {
	err := c.retry(ctx, func(actx context.Context) error {
		m, err := c.nh.SyncGetShardMembership(actx, id)
		if err != nil {
			return err
		}
		if _, ok := m.Nodes[rid]; !ok {
			return nil
		}
		return c.nh.SyncRequestDeleteReplica(actx, id, rid, m.ConfigChangeID)
	})
	if err != nil {
		return fmt.Errorf("removing replica %d from plain shard %d: %w", rid, id, plainErr(err))
	}
	return nil
}

// JoinPlainReplica starts moving a replica of a database's plain shard to node to (placement
// join_plain_replica): to starts a replica that joins the shard.
func (c *Client) JoinPlainReplica(ctx context.Context, tenant, db string, to uint64) (PlainShard, error) {
	return c.plainPlacement(ctx, placement.Command{Op: placement.OpJoinPlainReplica, Tenant: tenant, DB: db, ToNode: to})
}

// MovePlainReplica ends a move: the replica on from is the one on to now (placement
// move_plain_replica); from removes its copy.
func (c *Client) MovePlainReplica(ctx context.Context, tenant, db string, from, to uint64) (PlainShard, error) {
	return c.plainPlacement(ctx, placement.Command{Op: placement.OpMovePlainReplica, Tenant: tenant, DB: db, FromNode: from, ToNode: to})
}

func (c *Client) plainPlacement(ctx context.Context, cmd placement.Command) (PlainShard, error) {
	r, err := c.proposePlacement(ctx, cmd)
	if err != nil {
		return PlainShard{}, err
	}
	switch r.Code {
	case placement.CodeNotFound:
		return PlainShard{}, fmt.Errorf("placement %s: %w: %s", cmd.Op, ErrNotFound, r.Message)
	case placement.CodeConflict:
		return PlainShard{}, fmt.Errorf("placement %s: %w: %s", cmd.Op, ErrConflict, r.Message)
	}
	if r.Plain == nil {
		return PlainShard{}, fmt.Errorf("placement %s: %s: %s", cmd.Op, r.Code, r.Message)
	}
	return *r.Plain, nil
}

// PlainWrite proposes a write, drop or index command to this node's replica of plain shard id
// (PlainHere first) and returns its result and this replica's applied index after it (every
// write made through this node so far is at or below it). A command the shard finds malformed is
// an error.
func (c *Client) PlainWrite(ctx context.Context, id uint64, cmd plain.Command) (plain.Result, uint64, error) {
	if cmd.OpID == nil {
		op := plain.NewOpID()
		cmd.OpID = op[:]
	}
	b, err := plain.EncodeCommand(cmd)
	if err != nil {
		return plain.Result{}, 0, err
	}
	var res plain.Result
	err = c.retry(ctx, func(actx context.Context) error {
		r, err := c.nh.SyncPropose(actx, c.nh.GetNoOPSession(id), b)
		if err != nil {
			return err
		}
		res, err = plain.DecodeResult(r.Data)
		return err
	})
	if err != nil {
		return plain.Result{}, 0, fmt.Errorf("plain %s of %s.%s: %w", cmd.Op, cmd.NS.DB, cmd.NS.Coll, plainErr(err))
	}
	applied, _ := c.PlainApplied(id)
	if res.Code != plain.CodeOK {
		return res, applied, fmt.Errorf("plain %s of %s.%s: %s", cmd.Op, cmd.NS.DB, cmd.NS.Coll, res.Message)
	}
	return res, applied, nil
}

// PlainRead runs a linearizable query (plain.GetQuery, ScanQuery, IndexesQuery, StatsQuery,
// DBStatsQuery) on this node's replica of plain shard id (PlainHere first).
func (c *Client) PlainRead(ctx context.Context, id uint64, q any) (any, error) {
	v, err := c.read(ctx, id, q)
	if err != nil {
		return nil, fmt.Errorf("plain read %T: %w", q, plainErr(err))
	}
	return v, nil
}

// plainErr names a replica this node does not run.
func plainErr(err error) error {
	if errors.Is(err, dragonboat.ErrShardNotFound) {
		return fmt.Errorf("%w: %w", ErrPlainNotHere, err)
	}
	return err
}

// PlainApplied is the index of the last entry of plain shard id this node's replica applied (a
// local read, no round trip; false when it does not run here).
func (c *Client) PlainApplied(id uint64) (uint64, bool) {
	return c.localVersion(id, plain.AppliedQuery{})
}

// PlainShards lists every database's plain shard by id (a linearizable read of the placement).
func (c *Client) PlainShards(ctx context.Context) ([]PlainShard, error) {
	v, err := c.read(ctx, ShardPlacement, placement.ViewQuery{})
	if err != nil {
		return nil, fmt.Errorf("listing plain shards: %w", err)
	}
	out := make([]PlainShard, 0, len(v.(placement.View).Plain))
	for _, p := range v.(placement.View).Plain {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b PlainShard) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// DropPlainShard drops the plain shard id of a database from the placement while it is the
// database's (an orphan of a dropped database); it reports whether it did.
func (c *Client) DropPlainShard(ctx context.Context, tenant, db string, id uint64) (bool, error) {
	r, err := c.proposePlacement(ctx, placement.Command{Op: placement.OpDropPlainShard, Tenant: tenant, DB: db, PlainShardID: id})
	return err == nil && r.Code == placement.CodeOK, err
}
