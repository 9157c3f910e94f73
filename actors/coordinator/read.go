package coordinator

import (
	"context"
	"fmt"
	"time"

	"github.com/chronogo/chronogo/actors/vnode"
	"github.com/chronogo/chronogo/messages"
	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/storage/engine"
)

// ScanFunc receives one column of a scan; snap resolves its series id (snap.SeriesKey). Both are
// only valid during the call.
type ScanFunc func(snap *engine.Snapshot, col *engine.ScanColumn) error

// AggFunc receives one aggregate of a window; snap resolves its series id.
type AggFunc func(snap *engine.Snapshot, r *engine.AggResult) error

// Scan reads a table's columns in the query's time range from one replica of every replica set of
// every bucket overlapping it, bucket by bucket in time order. Series ids are per vnode, so a
// series spread over several buckets arrives once per bucket.
func (c *Client) Scan(ctx context.Context, tenant, db, table string, q engine.ScanQuery, fn ScanFunc) error {
	q.Table = table
	return c.eachSnapshot(ctx, tenant, db, q.MinTime, q.MaxTime, func(snap *engine.Snapshot) error {
		return snap.Scan(q, func(col *engine.ScanColumn) error { return fn(snap, col) })
	})
}

// Aggregate is Scan with per-window aggregates. A window that spans a bucket boundary arrives as
// one partial aggregate per bucket; callers merge them by (series key, field, type, start).
func (c *Client) Aggregate(ctx context.Context, tenant, db, table string, q engine.AggQuery, fn AggFunc) error {
	q.Table = table
	return c.eachSnapshot(ctx, tenant, db, q.MinTime, q.MaxTime, func(snap *engine.Snapshot) error {
		_, err := snap.Aggregate(q, func(r *engine.AggResult) error { return fn(snap, r) })
		return err
	})
}

// eachSnapshot calls fn with a snapshot of one local replica of every replica set of the buckets
// overlapping [minT, maxT], releasing each after the call.
func (c *Client) eachSnapshot(ctx context.Context, tenant, db string, minT, maxT int64, fn func(*engine.Snapshot) error) error {
	buckets, err := c.cfg.Placement.BucketsIn(ctx, tenant, db, minT, maxT)
	if err != nil {
		return fmt.Errorf("read %s/%s: %w", tenant, db, err)
	}
	for _, b := range buckets {
		for _, rs := range b.ReplicaSets {
			snap, err := c.snapshot(ctx, b, rs)
			if err != nil {
				return fmt.Errorf("read bucket %d replica set %d: %w", b.ID, rs.ID, err)
			}
			err = fn(snap)
			snap.Release()
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// snapshot asks a local replica of rs for a snapshot.
// TODO(remote-reads): send messages.ScanRequest to a remote replica when none is local, and hedge
// with a second replica when the first is late.
func (c *Client) snapshot(ctx context.Context, b meta.Bucket, rs meta.ReplicaSet) (*engine.Snapshot, error) {
	v, ok := c.localReplica(rs)
	if !ok {
		return nil, ErrRemoteVnode
	}
	spec := vnode.Spec{Tenant: b.Tenant, DB: b.DB, BucketID: b.ID, ReplicaSetID: rs.ID, VnodeID: v.ID}
	res, err := c.root.RequestFuture(c.cfg.Manager, &vnode.Forward{Spec: spec, Msg: &vnode.GetSnapshot{}}, time.Until(c.deadline(ctx))).Result()
	if err != nil {
		return nil, err
	}
	switch r := res.(type) {
	case *engine.Snapshot:
		return r, nil
	case *messages.ErrorReply:
		return nil, replyError(r.GetCode(), r.GetMessage())
	}
	return nil, fmt.Errorf("unexpected reply %T", res)
}

func (c *Client) localReplica(rs meta.ReplicaSet) (meta.Vnode, bool) {
	for _, v := range rs.Vnodes {
		if v.NodeID == c.cfg.NodeID {
			return v, true
		}
	}
	return meta.Vnode{}, false
}
