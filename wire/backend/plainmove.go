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

// MovePlainReplica moves the replica of a database's plain shard on node from to node to, online
// (meta/docs/plain.md, "Moves"): to joins in the placement and starts a replica, a replica adds
// it to the Raft group, the move waits until it has applied everything committed when it was
// added, a replica removes from, and the placement ends the move (from then removes its copy).
// Every step can be run again, so a move cut short is finished by asking for it again. Writes go
// on throughout; they pause while to receives its snapshot when from is down (the group counts
// it until it is removed).
func (b *Backend) MovePlainReplica(ctx context.Context, tenant, db string, from, to uint64) (meta.PlainShard, error) {
	p, ok, err := b.meta.PlainShardOf(ctx, tenant, db, false)
	switch {
	case err != nil:
		return p, err
	case !ok:
		return p, fmt.Errorf("%w: database %s.%s has no plain shard", meta.ErrNotFound, tenant, db)
	case p.Has(to) && !p.Has(from):
		return p, nil // done
	case !p.Has(from):
		return p, fmt.Errorf("%w: node %d holds no replica of the plain shard of %s.%s", meta.ErrConflict, from, tenant, db)
	case p.Has(to):
		return p, fmt.Errorf("%w: node %d holds a replica of the plain shard of %s.%s already", meta.ErrConflict, to, tenant, db)
	}
	addr := ""
	for _, n := range b.meta.CachedNodes() {
		if n.ID == to {
			addr = n.RaftAddr
		}
	}
	if addr == "" {
		return p, fmt.Errorf("%w: node %d has no raft address", meta.ErrNotFound, to)
	}
	log := b.log.WithField("plain_shard", p.ID).WithField("from", from).WithField("to", to)
	if p, err = b.meta.JoinPlainReplica(ctx, tenant, db, to); err != nil {
		return p, err
	}
	if _, err := b.plainMembers(ctx, p, from, &messages.PlainCall{ShardId: p.ID, AddReplica: p.ReplicaID(to), AddAddr: addr}); err != nil {
		return p, fmt.Errorf("adding node %d to the plain shard of %s.%s: %w", to, tenant, db, err)
	}
	log.Info("plain replica joined the shard; waiting for it to catch up")
	v, err := b.plainRead(ctx, p, plain.AppliedQuery{})
	if err != nil {
		return p, fmt.Errorf("reading the plain shard's applied index: %w", err)
	}
	target, _ := v.(uint64)
	for {
		got, err := b.plainApplied(ctx, p, to)
		if err == nil && got >= target {
			break
		}
		select {
		case <-ctx.Done():
			return p, fmt.Errorf("node %d did not catch up with the plain shard of %s.%s (entry %d, at %d, %v): %w", to, tenant, db, target, got, err, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	if _, err := b.plainMembers(ctx, p, from, &messages.PlainCall{ShardId: p.ID, RemoveReplica: p.ReplicaID(from)}); err != nil {
		return p, fmt.Errorf("removing node %d from the plain shard of %s.%s: %w", from, tenant, db, err)
	}
	if p, err = b.meta.MovePlainReplica(ctx, tenant, db, from, to); err != nil {
		return p, err
	}
	log.Info("plain replica moved")
	return p, nil
}

// plainMembers sends a membership call to the replicas of p, the one on node avoid last (it may
// be down: it is the one leaving).
func (b *Backend) plainMembers(ctx context.Context, p meta.PlainShard, avoid uint64, call *messages.PlainCall) (*messages.PlainCallReply, error) {
	order := b.replicaOrder(p)
	if i := slices.Index(order, avoid); i >= 0 {
		order = append(slices.Delete(order, i, i+1), avoid)
	}
	var errs []error
	for _, id := range order {
		r, err := b.node.PlainCall(ctx, id, call)
		if err == nil {
			return r, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}

// PlainShards lists the databases' plain shards (a linearizable read of the placement).
func (b *Backend) PlainShards(ctx context.Context) ([]meta.PlainShard, error) {
	return b.meta.PlainShards(ctx)
}
