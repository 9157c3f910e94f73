package coordinator

// Reads: one replica of every replica set of every bucket overlapping the query, bucket by bucket
// in time order. The replica is the local one when this node holds one (read through a snapshot),
// else a remote one (read through the reader actor of its node in chunks, remote_read.go, hedged
// and with failover, hedge.go). Once a replica delivered data to the caller's callback, its later
// failure is the read's error: the read never mixes two replicas' answers.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/chronogo/chronogo/actors/vnode"
	"github.com/chronogo/chronogo/messages"
	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/engine"
	"github.com/chronogo/chronogo/storage/index"
)

// Source resolves the series ids handed to a ScanFunc or AggFunc. Ids are per source: two calls
// concern the same series when both their sources and their ids are equal. Local reads pass the
// vnode's *engine.Snapshot; remote reads pass a source of their own that resolves every series of
// its replica set read so far.
type Source interface {
	SeriesKey(id storage.SeriesID) (storage.SeriesKey, bool)
}

var _ Source = (*engine.Snapshot)(nil)

// ScanFunc receives one column of a scan; src resolves its series id. The column is only valid
// during the call.
type ScanFunc func(src Source, col *engine.ScanColumn) error

// AggFunc receives one aggregate of a window; src resolves its series id.
type AggFunc func(src Source, r *engine.AggResult) error

// Scan reads a table's columns in the query's time range from one replica of every replica set of
// every bucket overlapping it, bucket by bucket in time order. Series ids are per vnode, so a
// series spread over several buckets arrives once per bucket.
func (c *Client) Scan(ctx context.Context, tenant, db, table string, q engine.ScanQuery, fn ScanFunc) error {
	q.Table = table
	op := &readOp{
		local: func(snap *engine.Snapshot, delivered *bool) error {
			return snap.Scan(q, func(col *engine.ScanColumn) error {
				*delivered = true
				return callerErr(fn(snap, col))
			})
		},
		remote: func(delivered *bool) chunkConsumer { return newScanConsumer(fn, delivered, q.Stats) },
	}
	return c.read(ctx, tenant, db, q, op)
}

// Aggregate is Scan with per-window aggregates. A window that spans a bucket boundary arrives as
// one partial aggregate per bucket; callers merge them by (series key, field, type, start).
func (c *Client) Aggregate(ctx context.Context, tenant, db, table string, q engine.AggQuery, fn AggFunc) error {
	q.Table = table
	op := &readOp{
		aggregate: true, window: q.Window, origin: q.Origin, lastOnly: q.LastOnly, sumsOnly: q.SumsOnly, valueFields: q.ValueFields,
		local: func(snap *engine.Snapshot, delivered *bool) error {
			_, err := snap.Aggregate(q, func(r *engine.AggResult) error {
				*delivered = true
				return callerErr(fn(snap, r))
			})
			return err
		},
		remote: func(delivered *bool) chunkConsumer { return newAggConsumer(fn, delivered) },
	}
	return c.read(ctx, tenant, db, q.ScanQuery, op)
}

// readOp is one Scan or Aggregate: how to read a local snapshot, how to consume remote chunks, and
// the aggregate part of the wire request.
type readOp struct {
	aggregate        bool
	window, origin   int64
	lastOnly         bool
	sumsOnly         bool
	valueFields      []string
	local            func(snap *engine.Snapshot, delivered *bool) error
	remote           func(delivered *bool) chunkConsumer
	filter           []byte // the encoded filter of remote requests
	table            string
	minTime, maxTime int64
	fields           []string
	deadline         time.Time // the caller's; zero when it has none
}

// request is the wire request opening a cursor on vnode v of replica set rs.
func (op *readOp) request(c *Client, b meta.Bucket, rs meta.ReplicaSet, v meta.Vnode) *messages.ScanRequest {
	spec := vnode.Spec{Tenant: b.Tenant, DB: b.DB, BucketID: b.ID, ReplicaSetID: rs.ID, VnodeID: v.ID}
	return &messages.ScanRequest{Vnode: spec.VnodeRef(), Table: op.table, Filter: op.filter, MinTime: op.minTime, MaxTime: op.maxTime,
		Fields: op.fields, MaxChunkBytes: c.cfg.ScanChunkBytes, Aggregate: op.aggregate, Window: op.window, Origin: op.origin, LastOnly: op.lastOnly, SumsOnly: op.sumsOnly,
		ValueFields: op.valueFields}
}

// callerError marks an error returned by the caller's callback: it ends the read as it is, never
// triggers a failover, and is returned unwrapped.
type callerError struct{ err error }

func (e *callerError) Error() string { return e.err.Error() }
func (e *callerError) Unwrap() error { return e.err }

func callerErr(err error) error {
	if err == nil {
		return nil
	}
	return &callerError{err}
}

// read runs op on one replica of every replica set overlapping the query.
func (c *Client) read(ctx context.Context, tenant, db string, q engine.ScanQuery, op *readOp) error {
	filter, err := index.AppendExpr(nil, q.Filter)
	if err != nil {
		return fmt.Errorf("read %s/%s: %w", tenant, db, err)
	}
	op.filter, op.table, op.minTime, op.maxTime, op.fields = filter, q.Table, q.MinTime, q.MaxTime, q.Fields
	// A read has the caller's deadline and no other (MongoDB has no default time limit: a cursor
	// read at the client's pace may take hours); each request to a replica has its own timeout.
	op.deadline, _ = ctx.Deadline()
	buckets, err := c.cfg.Placement.BucketsIn(ctx, tenant, db, q.MinTime, q.MaxTime)
	if err != nil {
		return fmt.Errorf("read %s/%s: %w", tenant, db, err)
	}
	if q.Stats != nil {
		q.Stats.Buckets += int64(len(buckets))
	}
	for _, b := range buckets {
		for _, rs := range b.ReplicaSets {
			err := c.readReplicaSet(ctx, b, rs, op)
			if err == nil && q.Stats != nil {
				q.Stats.Vnodes++
			}
			var ce *callerError
			if errors.As(err, &ce) {
				return ce.err
			}
			if err != nil {
				return fmt.Errorf("read bucket %d replica set %d: %w", b.ID, rs.ID, err)
			}
		}
	}
	return nil
}

// candidate is a replica a read may use.
type candidate struct {
	v     meta.Vnode
	local bool
}

// candidates are rs's replicas in the order reads try them: local ones first, then the others in
// placement order (stable, so that every reader of a replica set prefers the same replica), and
// last the ones on nodes seen down (tried only when no other replica answers). A joining vnode
// (being filled by a move) is never read.
func (c *Client) candidates(rs meta.ReplicaSet) []candidate {
	out := make([]candidate, 0, len(rs.Vnodes))
	for _, v := range rs.Vnodes {
		if v.NodeID == c.cfg.NodeID && !v.Joining {
			out = append(out, candidate{v: v, local: true})
		}
	}
	for _, down := range []bool{false, true} {
		for _, v := range rs.Vnodes {
			if v.NodeID != c.cfg.NodeID && !v.Joining && c.cfg.down(v.NodeID) == down {
				out = append(out, candidate{v: v})
			}
		}
	}
	return out
}

// readReplicaSet reads one replica set: the first replica that answers, failing over to the next
// ones while nothing was delivered.
func (c *Client) readReplicaSet(ctx context.Context, b meta.Bucket, rs meta.ReplicaSet, op *readOp) error {
	cands := c.candidates(rs)
	if len(cands) == 0 {
		return errors.New("no replicas")
	}
	failed := make([]bool, len(cands))
	var (
		errs      []error
		delivered bool
	)
	for {
		var left []int
		for i := range cands {
			if !failed[i] {
				left = append(left, i)
			}
		}
		if len(left) == 0 {
			return fmt.Errorf("every replica failed: %w", errors.Join(errs...))
		}
		if err := ctx.Err(); err != nil {
			return errors.Join(append(errs, err)...)
		}
		if cand := cands[left[0]]; cand.local {
			err := c.readLocal(b, rs, cand.v, op, &delivered)
			if err == nil || delivered {
				return replicaErr(err, cand.v)
			}
			errs = append(errs, replicaErr(err, cand.v))
			failed[left[0]] = true
			c.cfg.Logger.WithError(err).WithField("vnode_id", cand.v.ID).Debug("local replica failed; trying the next")
			continue
		}
		remote := make([]candidate, len(left))
		for k, i := range left {
			remote[k] = cands[i]
		}
		st, won, failures := c.openRemote(ctx, b, rs, remote, op)
		for k, err := range failures {
			if err != nil {
				failed[left[k]] = true
				errs = append(errs, err)
			}
		}
		if st == nil {
			return fmt.Errorf("every replica failed: %w", errors.Join(errs...))
		}
		err := st.consume(ctx, op.remote(&delivered))
		if err == nil || delivered {
			return replicaErr(err, remote[won].v)
		}
		errs = append(errs, replicaErr(err, remote[won].v))
		failed[left[won]] = true
	}
}

// replicaErr names the replica in err; caller errors stay as they are.
func replicaErr(err error, v meta.Vnode) error {
	var ce *callerError
	if err == nil || errors.As(err, &ce) {
		return err
	}
	return fmt.Errorf("vnode %d on node %d: %w", v.ID, v.NodeID, err)
}

// readLocal runs op on a snapshot of a replica on this node.
func (c *Client) readLocal(b meta.Bucket, rs meta.ReplicaSet, v meta.Vnode, op *readOp, delivered *bool) error {
	spec := vnode.Spec{Tenant: b.Tenant, DB: b.DB, BucketID: b.ID, ReplicaSetID: rs.ID, VnodeID: v.ID}
	if snap := c.cfg.Open.Snapshot(spec); snap != nil {
		defer snap.Release()
		return op.local(snap, delivered)
	}
	res, err := c.root.RequestFuture(c.cfg.Manager, &vnode.Forward{Spec: spec, Msg: &vnode.GetSnapshot{}}, timeoutUntil(op.deadline, c.cfg.RequestTimeout)).Result()
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	switch r := res.(type) {
	case *engine.Snapshot:
		defer r.Release()
		return op.local(r, delivered)
	case *messages.ErrorReply:
		return fmt.Errorf("snapshot: %w", replyError(r.GetCode(), r.GetMessage()))
	}
	return fmt.Errorf("snapshot: unexpected reply %T", res)
}

// timeoutUntil is limit, or less when deadline (if not zero) comes first; at least a millisecond.
func timeoutUntil(deadline time.Time, limit time.Duration) time.Duration {
	if !deadline.IsZero() {
		limit = min(limit, time.Until(deadline))
	}
	return max(limit, time.Millisecond)
}
