package meta

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/lni/dragonboat/v4"
	"github.com/lni/dragonboat/v4/config"
	"github.com/sirupsen/logrus"

	"github.com/chronogo/chronogo/meta/model"
	"github.com/chronogo/chronogo/meta/placement"
	"github.com/chronogo/chronogo/meta/plain"
)

// plainShards keeps this node's replicas of the databases' plain shards (meta/docs/plain.md) as
// the placement says: it starts those placed here (on demand and when the placement changes) and
// removes those of dropped databases, also when the drop happened while this node was down.
type plainShards struct {
	h       *Host
	log     logrus.FieldLogger
	mu      sync.Mutex
	started map[uint64]bool
}

// plainDir is the pebble directory of this node's replica of plain shard id.
func (h *Host) plainDir(id uint64) string {
	return filepath.Join(h.cfg.DataDir, fmt.Sprintf("plain-%d-%d", id, h.cfg.NodeID))
}

// ensure starts this node's replica of p unless it runs already: a bootstrap with p's initial
// members when this node is one and the shard is new here, a join when it was added later, a
// restart when the LogDB knows it. It is a no-op on a node that runs no replica of p.
func (ps *plainShards) ensure(p model.PlainShard) error {
	h := ps.h
	if !p.Runs(h.cfg.NodeID) {
		return nil
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.started[p.ID] {
		return nil
	}
	rc := config.Config{ShardID: p.ID, ReplicaID: h.cfg.NodeID, ElectionRTT: h.cfg.ElectionRTT,
		HeartbeatRTT: h.cfg.HeartbeatRTT, CheckQuorum: true, PreVote: true,
		SnapshotEntries: h.cfg.SnapshotEntries, CompactionOverhead: h.cfg.CompactionOverhead}
	var members map[uint64]dragonboat.Target
	join, mode := false, "restart"
	if !h.nh.HasNodeInfo(p.ID, h.cfg.NodeID) {
		mode = "join"
		for _, id := range p.Initial {
			if id == h.cfg.NodeID {
				mode = "bootstrap"
			}
		}
		if mode == "join" {
			join = true
		} else {
			members = map[uint64]dragonboat.Target{}
			for _, id := range p.Initial {
				n, ok := h.client.cachedNode(id)
				if !ok || n.RaftAddr == "" {
					return fmt.Errorf("starting plain shard %d: node %d has no raft address in the placement", p.ID, id)
				}
				members[id] = n.RaftAddr
			}
		}
	}
	dir := filepath.Dir(h.plainDir(p.ID))
	if err := h.nh.StartOnDiskReplica(members, join, plain.NewStateMachineFunc(dir, plain.DefaultLimits), rc); err != nil {
		return fmt.Errorf("starting plain shard %d of %s.%s (%s): %w", p.ID, p.Tenant, p.DB, mode, err)
	}
	ps.started[p.ID] = true
	ps.log.WithFields(logrus.Fields{"shard_id": p.ID, "tenant": p.Tenant, "db": p.DB, "mode": mode}).Info("plain shard replica started")
	return nil
}

// run reconciles at start, at every placement change and every minute, until stop.
func (ps *plainShards) run(stop <-chan struct{}) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-stop
		cancel()
	}()
	for {
		changed := ps.h.client.Changed()
		ps.reconcile(ctx)
		select {
		case <-stop:
			return
		case <-changed:
		case <-t.C:
		}
	}
}

// reconcile starts the replicas the cached placement puts here, then removes the replicas (running
// or only on disk) of shards a linearizable read of the placement does not put here: the cache may
// be behind, the Raft read is not.
func (ps *plainShards) reconcile(ctx context.Context) {
	h := ps.h
	view := h.client.placementView()
	if view.Buckets == nil {
		return // the cache is not loaded yet
	}
	want := map[uint64]bool{}
	for _, p := range view.Plain {
		if !p.Runs(h.cfg.NodeID) {
			continue
		}
		want[p.ID] = true
		if err := ps.ensure(p); err != nil {
			ps.log.WithError(err).Warn("plain shard replica not started; retried at the next placement change")
		}
	}
	stale := map[uint64]bool{}
	ps.mu.Lock()
	for id := range ps.started {
		if !want[id] {
			stale[id] = true
		}
	}
	ps.mu.Unlock()
	for _, ni := range h.nh.GetNodeHostInfo(dragonboat.NodeHostInfoOption{}).LogInfo {
		if ni.ShardID >= model.PlainShardBase && ni.ReplicaID == h.cfg.NodeID && !want[ni.ShardID] {
			stale[ni.ShardID] = true
		}
	}
	if len(stale) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := h.client.read(ctx, ShardPlacement, placement.ViewQuery{})
	if err != nil {
		ps.log.WithError(err).Warn("cannot confirm which plain shard replicas to remove; retried later")
		return
	}
	for _, p := range v.(placement.View).Plain {
		if p.Runs(h.cfg.NodeID) {
			delete(stale, p.ID)
		}
	}
	for id := range stale {
		if err := ps.remove(ctx, id); err != nil {
			ps.log.WithError(err).WithField("shard_id", id).Warn("removing a plain shard replica; retried later")
		}
	}
}

// remove stops this node's replica of shard id and deletes its Raft data and its store.
func (ps *plainShards) remove(ctx context.Context, id uint64) error {
	h := ps.h
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.started[id] {
		if err := h.nh.StopReplica(id, h.cfg.NodeID); err != nil && err != dragonboat.ErrShardNotFound {
			return fmt.Errorf("stopping plain shard %d: %w", id, err)
		}
		delete(ps.started, id)
	}
	if h.nh.HasNodeInfo(id, h.cfg.NodeID) {
		if err := h.nh.SyncRemoveData(ctx, id, h.cfg.NodeID); err != nil {
			return fmt.Errorf("removing the raft data of plain shard %d: %w", id, err)
		}
	}
	if err := os.RemoveAll(h.plainDir(id)); err != nil {
		return fmt.Errorf("removing plain shard %d: %w", id, err)
	}
	ps.log.WithField("shard_id", id).Info("plain shard replica removed (its database was dropped, or it moved)")
	return nil
}
