package meta

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lni/dragonboat/v4"
	"github.com/lni/dragonboat/v4/config"
	"github.com/lni/dragonboat/v4/plugin/tan"
	sm "github.com/lni/dragonboat/v4/statemachine"
	"github.com/lni/vfs"
	"github.com/sirupsen/logrus"

	"github.com/chronogo/chronogo/meta/catalog"
	"github.com/chronogo/chronogo/meta/locks"
	"github.com/chronogo/chronogo/meta/placement"
)

// logDBWriteBuffer is tan's per-worker encode buffer (it keeps one for each of 16 workers, and a
// larger update gets a buffer of its own for that write); meta entries are small, so 64 KiB keeps
// the 16 at 1 MiB of heap (they were 16 MiB at 1 MiB each: a tenth of an idle node).
const logDBWriteBuffer = 64 << 10

// engineConfig keeps dragonboat's worker pools small: three shards do not need the default 128
// goroutines. ExecShards can never change once a NodeHostDir exists.
var engineConfig = config.EngineConfig{ExecShards: 4, CommitShards: 2, ApplyShards: 2, SnapshotShards: 2, CloseShards: 2}

// shard is a meta shard with its state machine constructor: in memory (create) or on disk
// (onDisk, given the data dir).
type shard struct {
	id     uint64
	name   string
	create sm.CreateStateMachineFunc
	onDisk func(dataDir string) sm.CreateOnDiskStateMachineFunc
}

// shards lists the meta shards.
var shards = []shard{
	{id: ShardCatalog, name: "catalog", create: catalog.NewStateMachine},
	{id: ShardPlacement, name: "placement", create: placement.NewStateMachine},
	{id: ShardLocks, name: "locks", create: locks.NewStateMachine},
}

// Host runs this node's replicas of the meta shards in one dragonboat NodeHost.
type Host struct {
	cfg    Config
	log    logrus.FieldLogger
	nh     *dragonboat.NodeHost
	client *Client
	// restart: the node's meta shards existed before this start.
	restart bool
	// plain runs this node's replicas of the databases' plain shards.
	plain     *plainShards
	plainStop chan struct{}
	plainDone chan struct{}
}

// Start opens (or recovers) the NodeHost in cfg.DataDir with the tan LogDB and starts the catalog,
// placement and locks replicas. It does not wait for leaders: use WaitReady, or let the client's
// calls retry until their context ends.
func Start(cfg Config) (*Host, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("meta config: %w", err)
	}
	installDragonboatLogger(cfg.Logger)
	if freed, err := trimLogFiles(cfg.DataDir); err != nil {
		return nil, err
	} else if freed > 0 {
		cfg.Logger.WithFields(logrus.Fields{"dir": cfg.DataDir, "freed_bytes": freed}).Info("freed space preallocated by meta log files")
	}
	exp := config.GetDefaultExpertConfig()
	exp.FS = noPreallocFS{vfs.Default}
	exp.LogDBFactory = tan.Factory // never change: the LogDB type is recorded in the data dir
	exp.LogDB = config.GetTinyMemLogDBConfig()
	exp.LogDB.KVWriteBufferSize = logDBWriteBuffer
	exp.Engine = engineConfig
	if cfg.InProcessTransport {
		exp.TransportFactory = chanTransportFactory{}
	}
	nh, err := dragonboat.NewNodeHost(config.NodeHostConfig{
		DeploymentID:   DeploymentID(cfg.ClusterID),
		NodeHostDir:    cfg.DataDir,
		RTTMillisecond: cfg.RTTMillisecond,
		RaftAddress:    cfg.RaftAddr,
		MutualTLS:      cfg.TLSCAFile != "",
		CAFile:         cfg.TLSCAFile,
		CertFile:       cfg.TLSCertFile,
		KeyFile:        cfg.TLSKeyFile,
		Expert:         exp,
	})
	if err != nil {
		return nil, fmt.Errorf("opening meta node host in %s: %w", cfg.DataDir, err)
	}
	h := &Host{cfg: cfg, log: cfg.Logger.WithField("node_id", cfg.NodeID), nh: nh, restart: nh.HasNodeInfo(ShardCatalog, cfg.NodeID)}
	if err := h.prepareFirstStart(); err != nil {
		nh.Close()
		return nil, err
	}
	for _, s := range shards {
		if err := h.startShard(s); err != nil {
			nh.Close()
			return nil, err
		}
	}
	h.client = newClient(h)
	h.plain = &plainShards{h: h, log: h.log.WithField("component", "plain_shards"), started: map[uint64]uint64{}}
	h.client.plain, h.client.nodeID = h.plain, cfg.NodeID
	h.plainStop, h.plainDone = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(h.plainDone)
		h.plain.run(h.plainStop)
	}()
	return h, nil
}

// prepareFirstStart runs the cluster hooks of a first start: discovery of the founding voters
// (ResolveMembers) or the join request (RequestJoin). A restart (the LogDB knows every shard)
// needs neither.
func (h *Host) prepareFirstStart() error {
	fresh := false
	for _, s := range shards {
		if !h.nh.HasNodeInfo(s.id, h.cfg.NodeID) {
			fresh = true
		}
	}
	if !fresh {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), h.cfg.StartTimeout)
	defer cancel()
	switch {
	case h.cfg.Join && h.cfg.RequestJoin != nil:
		if err := h.cfg.RequestJoin(ctx); err != nil {
			return fmt.Errorf("joining the meta cluster: %w", err)
		}
	case !h.cfg.Join && h.cfg.ResolveMembers != nil:
		members, err := h.cfg.ResolveMembers(ctx)
		if err != nil {
			return fmt.Errorf("finding the meta cluster's founding members: %w", err)
		}
		if addr, ok := members[h.cfg.NodeID]; !ok || !strings.EqualFold(addr, h.cfg.RaftAddr) {
			return fmt.Errorf("founding members %v do not name this node %d at %s", members, h.cfg.NodeID, h.cfg.RaftAddr)
		}
		h.cfg.InitialMembers = make(map[uint64]string, len(members))
		for id, addr := range members {
			h.cfg.InitialMembers[id] = strings.ToLower(addr)
		}
	}
	return nil
}

// startShard starts one replica: a restart when the LogDB knows it, else a join or a bootstrap
// with the initial members (this node alone when none are configured).
func (h *Host) startShard(s shard) error {
	id, name := s.id, s.name
	rc := config.Config{
		ShardID:            id,
		ReplicaID:          h.cfg.NodeID,
		ElectionRTT:        h.cfg.ElectionRTT,
		HeartbeatRTT:       h.cfg.HeartbeatRTT,
		CheckQuorum:        true,
		PreVote:            true,
		SnapshotEntries:    h.cfg.SnapshotEntries,
		CompactionOverhead: h.cfg.CompactionOverhead,
		IsNonVoting:        h.cfg.NonVoting,
	}
	members := map[uint64]dragonboat.Target{}
	join := false
	mode := "bootstrap"
	switch {
	case h.nh.HasNodeInfo(id, h.cfg.NodeID):
		mode = "restart"
	case h.cfg.Join:
		join, mode = true, "join"
	case len(h.cfg.InitialMembers) == 0:
		members[h.cfg.NodeID] = h.cfg.RaftAddr
	default:
		for nid, addr := range h.cfg.InitialMembers {
			members[nid] = addr
		}
	}
	if mode != "bootstrap" {
		members = nil
	}
	var err error
	if s.onDisk != nil {
		err = h.nh.StartOnDiskReplica(members, join, s.onDisk(h.cfg.DataDir), rc)
	} else {
		err = h.nh.StartReplica(members, join, s.create, rc)
	}
	if err != nil {
		return fmt.Errorf("starting meta shard %s (%s): %w", name, mode, err)
	}
	h.log.WithFields(logrus.Fields{"shard": name, "shard_id": id, "mode": mode}).Info("meta replica started")
	return nil
}

// Client returns the host's client. It lives as long as the host.
func (h *Host) Client() *Client { return h.client }

// NodeID returns this node's id.
func (h *Host) NodeID() uint64 { return h.cfg.NodeID }

// RaftAddr returns this node's raft address.
func (h *Host) RaftAddr() string { return h.cfg.RaftAddr }

// LeaderOf returns the leader of a shard as this node knows it.
func (h *Host) LeaderOf(shardID uint64) (uint64, bool) {
	id, _, ok, err := h.nh.GetLeaderID(shardID)
	return id, ok && err == nil
}

// WaitReady blocks until a linearizable read succeeds on every meta shard (each has a leader and
// this replica has caught up to the read index), or ctx ends.
func (h *Host) WaitReady(ctx context.Context) error {
	for _, s := range shards {
		var q any
		switch s.id {
		case ShardCatalog:
			q = catalog.VersionQuery{}
		case ShardPlacement:
			q = placement.VersionQuery{}
		default:
			q = locks.VersionQuery{}
		}
		if _, err := h.client.read(ctx, s.id, q); err != nil {
			return fmt.Errorf("waiting for meta shard %s: %w", s.name, err)
		}
	}
	return nil
}

// AddReplica adds node nodeID at addr to every meta shard, as a voter or as a non-voting replica;
// the new node then starts with Join (and NonVoting for a non-voting replica). Add non-voting
// first and promote with a second voting AddReplica (Raft thesis §4.2.1). Adding a node that is
// already a member at the same address (a retried join) changes nothing.
func (h *Host) AddReplica(ctx context.Context, nodeID uint64, addr string, voting bool) error {
	addr = strings.ToLower(addr)
	for _, s := range shards {
		err := h.client.retry(ctx, func(actx context.Context) error {
			m, err := h.nh.SyncGetShardMembership(actx, s.id)
			if err != nil {
				return err
			}
			if a, ok := m.Nodes[nodeID]; ok && a == addr {
				return nil // already a voter
			}
			if a, ok := m.NonVotings[nodeID]; ok && a == addr && !voting {
				return nil // a retried join
			}
			if voting {
				return h.nh.SyncRequestAddReplica(actx, s.id, nodeID, addr, m.ConfigChangeID)
			}
			return h.nh.SyncRequestAddNonVoting(actx, s.id, nodeID, addr, m.ConfigChangeID)
		})
		if err != nil {
			return fmt.Errorf("adding node %d to meta shard %s: %w", nodeID, s.name, err)
		}
	}
	return nil
}

// RemoveReplica removes node nodeID from every meta shard.
func (h *Host) RemoveReplica(ctx context.Context, nodeID uint64) error {
	for _, s := range shards {
		err := h.client.retry(ctx, func(actx context.Context) error {
			m, err := h.nh.SyncGetShardMembership(actx, s.id)
			if err != nil {
				return err
			}
			return h.nh.SyncRequestDeleteReplica(actx, s.id, nodeID, m.ConfigChangeID)
		})
		if err != nil {
			return fmt.Errorf("removing node %d from meta shard %s: %w", nodeID, s.name, err)
		}
	}
	return nil
}

// Close stops the client's cache poller and the NodeHost (all replicas, LogDB, transport).
// Closing on a full disk makes dragonboat panic (it cannot write its last index file); the
// process is stopping and what the Raft log acknowledged is synced, so the panic is logged.
func (h *Host) Close() {
	close(h.plainStop)
	<-h.plainDone
	h.client.Close()
	defer func() {
		if r := recover(); r != nil {
			h.log.WithField("reason", fmt.Sprint(r)).Error("the meta host did not close cleanly (a full disk?); its synced Raft log recovers at the next start")
		}
	}()
	h.nh.Close()
	h.log.Info("meta host closed")
}

// errRetryable reports dragonboat errors after which the same request may succeed: no leader yet,
// leadership changing, queue full, replica still initialising.
func errRetryable(err error) bool {
	return errors.Is(err, dragonboat.ErrShardNotReady) || errors.Is(err, dragonboat.ErrSystemBusy) ||
		errors.Is(err, dragonboat.ErrTimeout) || errors.Is(err, dragonboat.ErrShardNotInitialized) ||
		errors.Is(err, dragonboat.ErrAborted)
}

// retryBackoff is the pause between attempts of a retryable request.
const retryBackoff = 20 * time.Millisecond
