package handoff

// Re-routing hints whose vnode moved. A hint names the vnode it was meant for; when its node
// answers that the vnode is not placed there any more (actors.NotPlaced: ctl move-vnode promoted
// a replacement while the hint waited, for example because this node was down during the whole
// move), the hint is not dropped: it becomes one hint per vnode the replica set has now (members
// and joining ones, with the same version: last-write-wins makes the copies harmless), each
// durable in the queue of its node before the old one is acknowledged. A replica set or bucket
// that no longer exists (dropped) takes nothing: the hint is dropped.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/chronogo/chronogo/actors"
	"github.com/chronogo/chronogo/messages"
	"github.com/chronogo/chronogo/meta"
)

// rerouted ends the re-routing of entry i of round r.
type rerouted struct {
	r          *round
	i          int
	err        error
	handedOver bool // a hand-over's (handover.go)
}

// notPlaced reports whether an answer to a replayed hint says its vnode is placed elsewhere.
func notPlaced(res any, err error) bool {
	if err == nil {
		err = writeError(res)
	}
	var re *replyError
	return errors.As(err, &re) && re.code == messages.ErrorCode_ERROR_CODE_NOT_OWNER && strings.Contains(re.msg, actors.NotPlaced)
}

// hintVnode is the vnode a hinted message is for.
func hintVnode(m proto.Message) (tenant, db string, bucket, rs, vnode uint64, ok bool) {
	switch r := m.(type) {
	case *messages.WriteBatch:
		return r.GetTenant(), r.GetDb(), r.GetBucketId(), r.GetReplicaSetId(), r.GetVnodeId(), true
	case *messages.DeleteRequest:
		v := r.GetVnode()
		return v.GetTenant(), v.GetDb(), v.GetBucketId(), v.GetReplicaSetId(), v.GetVnodeId(), v != nil
	case *messages.RenameRequest:
		v := r.GetVnode()
		return v.GetTenant(), v.GetDb(), v.GetBucketId(), v.GetReplicaSetId(), v.GetVnodeId(), v != nil
	}
	return "", "", 0, 0, 0, false
}

// readdressed is a copy of m for vnode id.
func readdressed(m proto.Message, id uint64) proto.Message {
	c := proto.Clone(m)
	switch r := c.(type) {
	case *messages.WriteBatch:
		r.VnodeId = id
	case *messages.DeleteRequest:
		r.Vnode.VnodeId = id
	case *messages.RenameRequest:
		r.Vnode.VnodeId = id
	}
	return c
}

func isBatch(m proto.Message) bool {
	_, ok := m.(*messages.WriteBatch)
	return ok
}

// reroute hints m again for the vnodes its replica set has now, through the handoff manager
// (which answers once each hint is fsynced), and reports how many it made.
func reroute(ctx context.Context, cfg Config, root *actor.RootContext, manager *actor.PID, m proto.Message, node uint64) (int, error) {
	rs, vnodeID, ok, err := currentReplicaSet(ctx, cfg, m)
	if err != nil || !ok {
		return 0, err // !ok: dropped, nothing to write to
	}
	if rs.HasVnode(vnodeID, node) {
		// this node's placement still has it there: the replay is tried again later
		return 0, fmt.Errorf("node %d refused vnode %d, which the placement still has there", node, vnodeID)
	}
	return rehint(ctx, cfg, root, manager, m, rs.Vnodes)
}

// currentReplicaSet is the replica set of hint m as the placement has it now (read after a
// linearizable refresh: the refusing node may have seen a newer one), with the vnode m names;
// false when the set is gone.
func currentReplicaSet(ctx context.Context, cfg Config, m proto.Message) (meta.ReplicaSet, uint64, bool, error) {
	tenant, db, bucketID, rsID, vnodeID, ok := hintVnode(m)
	if !ok {
		return meta.ReplicaSet{}, 0, false, fmt.Errorf("a hinted %T names no vnode", m)
	}
	if f, ok := cfg.Placement.(actors.VnodeFence); ok {
		if err := f.SyncPlacement(ctx); err != nil {
			return meta.ReplicaSet{}, 0, false, fmt.Errorf("re-routing a hint: %w", err)
		}
	}
	buckets, err := cfg.Placement.BucketsIn(ctx, tenant, db, math.MinInt64, math.MaxInt64)
	if err != nil {
		return meta.ReplicaSet{}, 0, false, fmt.Errorf("re-routing a hint: %w", err)
	}
	rs, ok := meta.FindReplicaSet(buckets, bucketID, rsID)
	return rs, vnodeID, ok, nil
}

// rehint hints m again for each of vnodes, through the handoff manager (which answers once
// each hint is fsynced), and reports how many it made.
func rehint(ctx context.Context, cfg Config, root *actor.RootContext, manager *actor.PID, m proto.Message, vnodes []meta.Vnode) (int, error) {
	n := 0
	for _, v := range vnodes {
		h := &Hint{Target: v.NodeID}
		if c := readdressed(m, v.ID); isBatch(c) {
			h.Batch = c.(*messages.WriteBatch)
		} else {
			h.Request = c
		}
		res, err := root.RequestFuture(manager, h, cfg.ReplayTimeout).Result()
		if err != nil {
			return n, fmt.Errorf("re-routing a hint to node %d: %w", v.NodeID, err)
		}
		if r, ok := res.(*HintResult); !ok || r.Err != nil {
			return n, fmt.Errorf("re-routing a hint to node %d: %v", v.NodeID, res)
		}
		n++
	}
	return n, nil
}
