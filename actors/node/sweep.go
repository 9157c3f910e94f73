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
// a dropped database, and buckets dropped whole by expiry. It compares the bucket directories
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
			live, err := lister.AllBuckets(ctx, t.Name(), d.Name())
			if err != nil {
				return removed, fmt.Errorf("sweep %s: %w", dbDir, err)
			}
			placed := map[uint64]bool{}
			for _, b := range live {
				placed[b.ID] = true
			}
			for _, e := range entries {
				id, err := strconv.ParseUint(e.Name(), 10, 64)
				if err != nil || !e.IsDir() || placed[id] {
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

func (n *Node) removeBucket(ctx context.Context, tenant, db string, id uint64) error {
	res, err := n.sys.Root.RequestFuture(n.manager, &vnode.RemoveBucket{Tenant: tenant, DB: db, BucketID: id}, time.Minute).Result()
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
