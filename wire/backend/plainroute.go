package backend

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/chronogo/chronogo/messages"
	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/meta/plain"
)

// A database's plain collections live in its plain shard (meta/docs/plain.md), a Raft group of
// as many data nodes as the database's replication factor. This node uses its own replica when
// it holds one, else it calls the replicas' plain actors in turn (actors/plainrpc).

// plainCallTimeout bounds one call to another node's replica.
const plainCallTimeout = 10 * time.Second

// plainShard finds the plain shard of a database; with create, a database without one gets one.
// Without create, ok is false when it has none (no plain document was ever written to it).
func (b *Backend) plainShard(ctx context.Context, tenant, db string, create bool) (meta.PlainShard, bool, error) {
	p, ok, err := b.meta.PlainShardOf(ctx, tenant, db, create)
	if errors.Is(err, meta.ErrNotEnoughNodes) {
		return p, false, fmt.Errorf("plain collections of %s: %w", db, err)
	}
	return p, ok, err
}

// replicaOrder lists the nodes of p's replicas to call: those seen up first, by id.
func (b *Backend) replicaOrder(p meta.PlainShard) []uint64 {
	down := b.meta.CachedDownSince()
	out := slices.Clone(p.Replicas)
	slices.SortStableFunc(out, func(x, y uint64) int {
		dx, dy := down[x] != 0, down[y] != 0
		switch {
		case dx == dy:
			return 0
		case dy:
			return -1
		}
		return 1
	})
	return out
}

// plainCall runs call on a replica of p: this node's, else each other replica's until one
// answers (a replica that is down, or cannot reach its shard's leader, passes it on). A proposal
// sent again to another replica keeps its op id, so it applies once (meta/docs/plain.md).
func (b *Backend) plainCall(ctx context.Context, p meta.PlainShard, call *messages.PlainCall) (*messages.PlainCallReply, uint64, error) {
	var errs []error
	for _, id := range b.replicaOrder(p) {
		r, err := b.node.PlainCall(ctx, id, call)
		if err == nil {
			return r, id, nil
		}
		errs = append(errs, err)
		if r != nil && r.GetCode() == messages.ErrorCode_ERROR_CODE_BAD_REQUEST || ctx.Err() != nil {
			break
		}
	}
	return nil, 0, fmt.Errorf("no replica of the plain shard of %s answered: %w", p.DB, errors.Join(errs...))
}

// localPlain reports whether this node's replica of p serves the call: it holds one and it runs
// (a replica that cannot start leaves the call to the others).
func (b *Backend) localPlain(p meta.PlainShard) bool {
	here, err := b.meta.PlainHere(p)
	if here && err != nil {
		b.log.WithError(err).WithField("plain_shard", p.ID).Warn("this node's plain replica does not start; the others serve")
	}
	return here && err == nil
}

// plainPropose proposes cmd on p and returns its result, where it applied (the replica's node, 0
// for this one) and that replica's applied index after it.
func (b *Backend) plainPropose(ctx context.Context, p meta.PlainShard, cmd plain.Command) (plain.Result, uint64, uint64, error) {
	if cmd.OpID == nil {
		op := plain.NewOpID()
		cmd.OpID = op[:]
	}
	if b.localPlain(p) {
		res, applied, err := b.meta.PlainWrite(ctx, p.ID, cmd)
		return res, 0, applied, err
	}
	enc, err := plain.EncodeCommand(cmd)
	if err != nil {
		return plain.Result{}, 0, 0, err
	}
	r, id, err := b.plainCall(ctx, p, &messages.PlainCall{ShardId: p.ID, Command: enc})
	if err != nil {
		return plain.Result{}, 0, 0, fmt.Errorf("plain %s of %s.%s: %w", cmd.Op, cmd.NS.DB, cmd.NS.Coll, err)
	}
	res, err := plain.DecodeResult(r.GetResult())
	if err != nil {
		return res, 0, 0, fmt.Errorf("plain %s of %s.%s: %w", cmd.Op, cmd.NS.DB, cmd.NS.Coll, err)
	}
	if res.Code != plain.CodeOK {
		return res, id, r.GetApplied(), fmt.Errorf("plain %s of %s.%s: %s", cmd.Op, cmd.NS.DB, cmd.NS.Coll, res.Message)
	}
	return res, id, r.GetApplied(), nil
}

// plainRead runs a linearizable query on p (this node's replica, else another's).
func (b *Backend) plainRead(ctx context.Context, p meta.PlainShard, q any) (any, error) {
	if b.localPlain(p) {
		return b.meta.PlainRead(ctx, p.ID, q)
	}
	enc, err := plain.EncodeQuery(q)
	if err != nil {
		return nil, err
	}
	r, _, err := b.plainCall(ctx, p, &messages.PlainCall{ShardId: p.ID, Query: enc})
	if err != nil {
		return nil, err
	}
	return plain.DecodeAnswer(r.GetResult())
}

// plainApplied asks the replica on node id for its applied index.
func (b *Backend) plainApplied(ctx context.Context, p meta.PlainShard, id uint64) (uint64, error) {
	if id == b.node.ID() {
		if applied, ok := b.meta.PlainApplied(p.ID); ok {
			return applied, nil
		}
		return 0, errors.New("this node's replica does not run")
	}
	r, err := b.node.PlainCall(ctx, id, &messages.PlainCall{ShardId: p.ID, Applied: true})
	if err != nil {
		return 0, err
	}
	return r.GetApplied(), nil
}
