package vnode

import (
	"os"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"

	"github.com/chronogo/chronogo/storage/engine"
	"github.com/chronogo/chronogo/storage/layout"
)

// The start-up sweep: vnodes spawn on demand, so a node that stopped (or was killed) before its
// vnodes settled would keep their WAL and level-0 files until a client touched them. SettleAfter
// after start (a returning node first serves its hint replays and clients, and removes the
// buckets dropped while it was away) the manager lists the vnode directories on disk and spawns
// those with work for a settling (engine.Unsettled); each then settles after its quiet spell, as
// if it had just taken a write.

// unsettledAtStart is a vnode the sweep found with work for a settling.
type unsettledAtStart struct{ spec Spec }

// sweepUnsettled lists the data directory in the background and sends the manager an
// unsettledAtStart for each vnode to open (none when settling is off).
func (m *manager) sweepUnsettled(ctx actor.Context) {
	if m.cfg.SettleAfter <= 0 {
		return
	}
	sys, self, root, log := ctx.ActorSystem(), ctx.Self(), m.cfg.Root, m.log
	compactionOpts := m.cfg.Engine.Compaction
	stop := make(chan struct{})
	m.sweepStop = stop
	go func() {
		t := time.NewTimer(m.cfg.SettleAfter)
		defer t.Stop()
		select {
		case <-t.C:
		case <-stop: // the manager stopped first
			return
		}
		paths, err := layout.VnodeDirs(root)
		if err != nil {
			log.WithError(err).Warn("start-up sweep: listing vnode directories")
			return
		}
		for _, p := range paths {
			unsettled, err := engine.Unsettled(p.Dir, compactionOpts)
			if err != nil {
				log.WithError(err).WithField("vnode_dir", p.Dir).Warn("start-up sweep")
				continue
			}
			if unsettled {
				sys.Root.Send(self, &unsettledAtStart{spec: Spec{Tenant: p.Tenant, DB: p.DB, BucketID: p.Bucket, ReplicaSetID: p.ReplicaSet, VnodeID: p.Vnode}})
			}
		}
	}()
}

// stopSweep ends a sweep still waiting (the manager stops).
func (m *manager) stopSweep() {
	if m.sweepStop != nil {
		close(m.sweepStop)
		m.sweepStop = nil
	}
}

// openUnsettled spawns a vnode the sweep found (unless it runs already or cannot run, or its
// directory is gone meanwhile: a bucket removed since the listing is not created again).
func (m *manager) openUnsettled(ctx actor.Context, spec Spec) {
	if _, running := m.vnodes[spec.VnodeID]; running {
		return
	}
	dir := layout.VnodeDir(m.cfg.Root, spec.Tenant, spec.DB, spec.BucketID, spec.ReplicaSetID, spec.VnodeID)
	if _, err := os.Stat(dir); err != nil {
		return
	}
	if _, reply := m.ensure(ctx, spec); reply != nil {
		m.log.WithFields(logrus.Fields{"vnode_id": spec.VnodeID, "error": reply.GetMessage()}).Warn("start-up sweep: vnode not opened")
		return
	}
	m.log.WithField("vnode_id", spec.VnodeID).Info("start-up sweep: opened a vnode that stopped before it settled")
}
