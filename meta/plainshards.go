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
// removes those of dropped databases and those moved away, also when that happened while this
// node was down.
type plainShards struct {
	h       *Host
	log     logrus.FieldLogger
	mu      sync.Mutex
	started map[uint64]uint64 // shard id -> the replica id running here
}

// plainDir is the pebble directory of replica rid of plain shard id.
func (h *Host) plainDir(id, rid uint64) string {
	return filepath.Join(h.cfg.DataDir, fmt.Sprintf("plain-%d-%d", id, rid))
}

// ensure starts this node's replica of p unless it runs already: a bootstrap with p's initial
// members when this node is one and the shard is new here, a join when it was added later, a
// restart when the LogDB knows it. It is a no-op on a node that runs no replica of p.
func (ps *plainShards) ensure(p model.PlainShard) error {
	h := ps.h
	if !p.Runs(h.cfg.NodeID) {
		return nil
	}
	rid := p.ReplicaID(h.cfg.NodeID)
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.started[p.ID] == rid {
		return nil
	}
	if old, ok := ps.started[p.ID]; ok {
		// an older replica of the same shard (this node left it and joins again): the
		// reconciler removes it first
		return fmt.Errorf("starting plain shard %d: replica %d of it still runs here", p.ID, old)
	}
	rc := config.Config{ShardID: p.ID, ReplicaID: rid, ElectionRTT: h.cfg.ElectionRTT,
		HeartbeatRTT: h.cfg.HeartbeatRTT, CheckQuorum: true, PreVote: true,
		SnapshotEntries: h.cfg.SnapshotEntries, CompactionOverhead: h.cfg.CompactionOverhead}
	var members map[uint64]dragonboat.Target
	join, mode := false, "restart"
	if !h.nh.HasNodeInfo(p.ID, rid) {
		mode = "join"
		for _, id := range p.Initial {
			if id == h.cfg.NodeID && rid == id {
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
	if err := h.nh.StartOnDiskReplica(members, join, plain.NewStateMachineFunc(h.cfg.DataDir, plain.DefaultLimits), rc); err != nil {
		return fmt.Errorf("starting plain shard %d of %s.%s (%s): %w", p.ID, p.Tenant, p.DB, mode, err)
	}
	ps.started[p.ID] = rid
	ps.log.WithFields(logrus.Fields{"shard_id": p.ID, "replica_id": rid, "tenant": p.Tenant, "db": p.DB, "mode": mode}).Info("plain shard replica started")
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

// replicaKey names one replica of one shard.
type replicaKey struct{ shard, replica uint64 }

// reconcile removes the replicas (running or only on disk) that a linearizable read of the
// placement does not put on this node (the cached placement may be behind, the Raft read is
// not), then starts those the placement puts here (as that read saw it when there was one, so
// a replica just removed is not started again from a stale cache).
func (ps *plainShards) reconcile(ctx context.Context) {
	h := ps.h
	view := h.client.placementView()
	if view.Buckets == nil {
		return // the cache is not loaded yet
	}
	wanted := func(v placement.View) map[uint64]uint64 {
		out := map[uint64]uint64{}
		for _, p := range v.Plain {
			if p.Runs(h.cfg.NodeID) {
				out[p.ID] = p.ReplicaID(h.cfg.NodeID)
			}
		}
		return out
	}
	want := wanted(view)
	stale := map[replicaKey]bool{}
	ps.mu.Lock()
	for id, rid := range ps.started {
		if want[id] != rid {
			stale[replicaKey{id, rid}] = true
		}
	}
	ps.mu.Unlock()
	for _, ni := range h.nh.GetNodeHostInfo(dragonboat.NodeHostInfoOption{}).LogInfo {
		if ni.ShardID >= model.PlainShardBase && want[ni.ShardID] != ni.ReplicaID {
			stale[replicaKey{ni.ShardID, ni.ReplicaID}] = true
		}
	}
	if len(stale) > 0 {
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		v, err := h.client.read(rctx, ShardPlacement, placement.ViewQuery{})
		if err != nil {
			ps.log.WithError(err).Warn("cannot confirm which plain shard replicas to remove; retried later")
		} else {
			view = v.(placement.View) // fresher than the cache: the starts below follow it
			sure := wanted(view)
			for k := range stale {
				if sure[k.shard] == k.replica {
					continue
				}
				if err := ps.remove(rctx, k); err != nil {
					ps.log.WithError(err).WithField("shard_id", k.shard).Warn("removing a plain shard replica; retried later")
				}
			}
		}
		cancel()
	}
	for _, p := range view.Plain {
		if !p.Runs(h.cfg.NodeID) {
			continue
		}
		if err := ps.ensure(p); err != nil {
			ps.log.WithError(err).Warn("plain shard replica not started; retried at the next placement change")
		}
	}
}

// remove stops replica k on this node and deletes its Raft data and its store.
func (ps *plainShards) remove(ctx context.Context, k replicaKey) error {
	h := ps.h
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if rid, ok := ps.started[k.shard]; ok && rid == k.replica {
		if err := h.nh.StopReplica(k.shard, k.replica); err != nil && err != dragonboat.ErrShardNotFound {
			return fmt.Errorf("stopping plain shard %d: %w", k.shard, err)
		}
		delete(ps.started, k.shard)
	}
	if h.nh.HasNodeInfo(k.shard, k.replica) {
		if err := h.nh.SyncRemoveData(ctx, k.shard, k.replica); err != nil {
			return fmt.Errorf("removing the raft data of plain shard %d: %w", k.shard, err)
		}
	}
	if err := os.RemoveAll(h.plainDir(k.shard, k.replica)); err != nil {
		return fmt.Errorf("removing plain shard %d: %w", k.shard, err)
	}
	ps.log.WithFields(logrus.Fields{"shard_id": k.shard, "replica_id": k.replica}).Info("plain shard replica removed (its database was dropped, or it moved)")
	return nil
}
