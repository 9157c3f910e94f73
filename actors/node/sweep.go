package node

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/chronogo/chronogo/actors/vnode"
	"github.com/chronogo/chronogo/messages"
	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/storage/layout"
)

// BucketLister is a Placement that can list every bucket of a database as the placement shard
// holds it now (a linearizable read, not a cache): what the sweep checks directories against.
type BucketLister interface {
	AllBuckets(ctx context.Context, tenant, db string) ([]meta.Bucket, error)
}

// SweepOrphans removes this node's data of buckets the placement no longer has: every bucket of
// a dropped database, and buckets dropped whole by expiry; and of vnodes of live buckets that
// the placement no longer places on this node (moved away). It compares the bucket directories
// under <DataDir>/data with a linearizable read of the placement (a directory exists only after
// its bucket was placed, so a live bucket is always listed) and has the vnode manager stop and
// remove each orphan. It runs at start and every SweepInterval, so a node that was down when a
// database was dropped reclaims the space once it is back. It returns how many buckets it removed.
func (n *Node) SweepOrphans(ctx context.Context) (int, error) {
	lister, ok := n.cfg.Placement.(BucketLister)
	if !ok {
		return 0, nil
	}
	root := filepath.Join(n.cfg.DataDir, layout.DataDir)
	tenants, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("sweep %s: %w", root, err)
	}
	removed := 0
	for _, t := range tenants {
		dbs, err := os.ReadDir(filepath.Join(root, t.Name()))
		if err != nil || !t.IsDir() {
			continue
		}
		for _, d := range dbs {
			if !d.IsDir() {
				continue
			}
			dbDir := filepath.Join(root, t.Name(), d.Name())
			entries, err := os.ReadDir(dbDir)
			if err != nil {
				continue
			}
			// the vnode directories are listed before the placement is read: a directory exists
			// only once its vnode is placed, so one listed is in the placement read unless it
			// moved away (a vnode placed after the read may create a directory not listed)
			vnodeDirs := map[string][][2]uint64{}
			for _, e := range entries {
				if e.IsDir() {
					vnodeDirs[e.Name()] = listVnodeDirs(filepath.Join(dbDir, e.Name()))
				}
			}
			live, err := lister.AllBuckets(ctx, t.Name(), d.Name())
			if err != nil {
				return removed, fmt.Errorf("sweep %s: %w", dbDir, err)
			}
			placed := map[uint64]meta.Bucket{}
			for _, b := range live {
				placed[b.ID] = b
			}
			for _, e := range entries {
				id, err := strconv.ParseUint(e.Name(), 10, 64)
				if err != nil || !e.IsDir() {
					continue
				}
				if b, ok := placed[id]; ok {
					removed += n.sweepVnodes(ctx, vnodeDirs[e.Name()], b)
					continue
				}
				if err := n.removeBucket(ctx, t.Name(), d.Name(), id); err != nil {
					n.log.WithError(err).WithField("bucket_dir", filepath.Join(dbDir, e.Name())).Warn("sweep: removing a dropped bucket failed")
					continue
				}
				removed++
			}
			_ = os.Remove(dbDir) // only when empty
		}
		_ = os.Remove(filepath.Join(root, t.Name()))
	}
	return removed, nil
}

// listVnodeDirs lists the (replica set, vnode) directories of a bucket directory.
func listVnodeDirs(bucketDir string) [][2]uint64 {
	var out [][2]uint64
	sets, _ := os.ReadDir(bucketDir)
	for _, set := range sets {
		rsID, err := strconv.ParseUint(set.Name(), 10, 64)
		if err != nil || !set.IsDir() {
			continue
		}
		vnodes, _ := os.ReadDir(filepath.Join(bucketDir, set.Name()))
		for _, v := range vnodes {
			if id, err := strconv.ParseUint(v.Name(), 10, 64); err == nil && v.IsDir() {
				out = append(out, [2]uint64{rsID, id})
			}
		}
	}
	return out
}

// sweepVnodes removes the listed vnode directories of a live bucket that the placement does not
// place on this node (they moved away) and returns how many.
func (n *Node) sweepVnodes(ctx context.Context, dirs [][2]uint64, b meta.Bucket) int {
	mine := map[[2]uint64]bool{}
	for _, rs := range b.ReplicaSets {
		for _, v := range rs.Vnodes {
			if v.NodeID == n.cfg.NodeID {
				mine[[2]uint64{rs.ID, v.ID}] = true
			}
		}
	}
	removed := 0
	for _, d := range dirs {
		if mine[d] {
			continue
		}
		r := &vnode.RemoveBucket{Tenant: b.Tenant, DB: b.DB, BucketID: b.ID, ReplicaSetID: d[0], VnodeID: d[1]}
		if err := n.remove(ctx, r); err != nil {
			n.log.WithError(err).WithFields(logrus.Fields{"bucket_id": b.ID, "vnode_id": d[1]}).Warn("sweep: removing a vnode placed elsewhere failed")
			continue
		}
		removed++
	}
	return removed
}

func (n *Node) removeBucket(ctx context.Context, tenant, db string, id uint64) error {
	return n.remove(ctx, &vnode.RemoveBucket{Tenant: tenant, DB: db, BucketID: id})
}

// remove has the vnode manager remove a bucket's or a vnode's data and waits for it.
func (n *Node) remove(ctx context.Context, r *vnode.RemoveBucket) error {
	res, err := n.sys.Root.RequestFuture(n.manager, r, time.Minute).Result()
	if err != nil {
		return err
	}
	if r, ok := res.(*messages.ErrorReply); ok && r.GetCode() != messages.ErrorCode_ERROR_CODE_OK {
		return fmt.Errorf("%s: %s", r.GetCode(), r.GetMessage())
	}
	return ctx.Err()
}

// TriggerSweep asks the sweeper to run now (after a drop); it does not wait.
func (n *Node) TriggerSweep() {
	if n.sweepNow == nil {
		return
	}
	select {
	case n.sweepNow <- struct{}{}:
	default: // one is pending already
	}
}

// runSweeper sweeps at start, every interval and when triggered, until the node stops.
func (n *Node) runSweeper(interval time.Duration) {
	defer close(n.sweepDone)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), interval)
		if k, err := n.SweepOrphans(ctx); err != nil {
			n.log.WithError(err).Debug("sweep of dropped buckets failed")
		} else if k > 0 {
			n.log.WithFields(logrus.Fields{"buckets": k}).Info("reclaimed the space of dropped buckets")
		}
		cancel()
		select {
		case <-n.sweepStop:
			return
		case <-t.C:
		case <-n.sweepNow:
		}
	}
}
