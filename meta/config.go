package meta

import (
	"context"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
)

// Shard IDs of the meta state machines. They are fixed forever: they name Raft groups on disk.
const (
	ShardCatalog   uint64 = 1
	ShardPlacement uint64 = 2
	ShardLocks     uint64 = 3
	// 4 held every plain collection before each database got a plain shard of its own
	// (model.PlainShardBase and up); it is never started again.
)

// Defaults for the zero fields of Config.
const (
	DefaultRTTMillisecond     = 10
	DefaultElectionRTT        = 20
	DefaultHeartbeatRTT       = 2
	DefaultSnapshotEntries    = 1000
	DefaultCompactionOverhead = 500
	DefaultProposalTimeout    = 5 * time.Second
	DefaultCachePollInterval  = 200 * time.Millisecond
)

// Config configures a Host.
type Config struct {
	// NodeID is this node's id; it is the replica id in every meta shard.
	NodeID uint64
	// ClusterID names the cluster; DeploymentID(ClusterID) keeps clusters from talking to each other.
	ClusterID string
	// DataDir is dragonboat's NodeHostDir (LogDB, snapshots). It must not change, nor the hostname.
	DataDir string
	// RaftAddr is the host:port other meta nodes dial. It must stay the same across restarts.
	RaftAddr string
	// InitialMembers maps node id → raft address of the founding voters. Empty (and Join false)
	// means standalone: this node alone. Ignored on restart (the members are in the LogDB).
	InitialMembers map[uint64]string
	// Join starts this node as a replica an existing member has already added.
	Join bool
	// NonVoting makes a joining replica non-voting (it must have been added as non-voting).
	NonVoting bool
	// ResolveMembers, when set, is called on the first start of a bootstrapping node (not on a
	// restart, not when joining) to find the founding voters: node id → raft address, this node
	// included. It replaces InitialMembers (cluster bootstrap by discovery).
	ResolveMembers func(ctx context.Context) (map[uint64]string, error)
	// RequestJoin, when set, is called on the first start of a joining node, before its replicas
	// start: it must have an existing member add this node (as non-voting when NonVoting is set).
	RequestJoin func(ctx context.Context) error
	// StartTimeout bounds ResolveMembers and RequestJoin (default 2 minutes).
	StartTimeout time.Duration
	// DatabaseDefaults gives the replication factor, shard count and consistency of databases
	// created without them (explicitly or by a first collection); zero fields keep the catalog's
	// defaults.
	DatabaseDefaults Database
	// TLSCAFile, TLSCertFile and TLSKeyFile, when set, turn on mutual TLS for Raft traffic
	// (dragonboat's MutualTLS): a node without a certificate signed by the CA cannot talk to the
	// others.
	TLSCAFile, TLSCertFile, TLSKeyFile string
	// Logger receives the host's logs and dragonboat's (for the first host of the process).
	Logger logrus.FieldLogger

	// RTTMillisecond is dragonboat's logical tick; election and heartbeat are multiples of it.
	RTTMillisecond uint64
	// ElectionRTT and HeartbeatRTT are in ticks; ElectionRTT should stay >= 10 × HeartbeatRTT.
	ElectionRTT, HeartbeatRTT uint64
	// SnapshotEntries takes a snapshot every N applied entries; CompactionOverhead entries stay
	// in the log after it for lagging followers.
	SnapshotEntries, CompactionOverhead uint64
	// ProposalTimeout bounds one proposal or read attempt when the caller's context has no deadline.
	ProposalTimeout time.Duration
	// CachePollInterval is how often the client compares the cached shard versions with the local
	// replica's.
	CachePollInterval time.Duration
	// InProcessTransport replaces TCP with dragonboat's channel transport (tests: several hosts in
	// one process, RaftAddr any unique string).
	InProcessTransport bool
}

// DeploymentID derives dragonboat's deployment id from the cluster id: the FNV-1a 64-bit hash of
// "chronogo:" + clusterID, with 0 (dragonboat's default, shared by every unconfigured cluster)
// mapped to 1.
func DeploymentID(clusterID string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte("chronogo:" + clusterID))
	if id := h.Sum64(); id != 0 {
		return id
	}
	return 1
}

// withDefaults validates c and fills its zero fields.
func (c Config) withDefaults() (Config, error) {
	switch {
	case c.NodeID == 0:
		return c, fmt.Errorf("node id is zero")
	case c.ClusterID == "":
		return c, fmt.Errorf("cluster id is empty")
	case c.DataDir == "":
		return c, fmt.Errorf("data dir is empty")
	case c.RaftAddr == "":
		return c, fmt.Errorf("raft address is empty")
	case c.NonVoting && !c.Join:
		return c, fmt.Errorf("a non-voting replica must join")
	}
	// dragonboat lower-cases the address it registers for itself but not the initial members';
	// a mixed-case address would then panic as an "inconsistent target"
	c.RaftAddr = strings.ToLower(c.RaftAddr)
	members := make(map[uint64]string, len(c.InitialMembers))
	for id, addr := range c.InitialMembers {
		members[id] = strings.ToLower(addr)
	}
	c.InitialMembers = members
	if c.Logger == nil {
		c.Logger = logrus.StandardLogger()
	}
	def := func(v *uint64, d uint64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.RTTMillisecond, DefaultRTTMillisecond)
	def(&c.ElectionRTT, DefaultElectionRTT)
	def(&c.HeartbeatRTT, DefaultHeartbeatRTT)
	def(&c.SnapshotEntries, DefaultSnapshotEntries)
	def(&c.CompactionOverhead, DefaultCompactionOverhead)
	if c.ProposalTimeout == 0 {
		c.ProposalTimeout = DefaultProposalTimeout
	}
	if c.StartTimeout == 0 {
		c.StartTimeout = 2 * time.Minute
	}
	if c.CachePollInterval == 0 {
		c.CachePollInterval = DefaultCachePollInterval
	}
	if c.ElectionRTT <= 2*c.HeartbeatRTT {
		return c, fmt.Errorf("election rtt %d; want > 2 × heartbeat rtt %d", c.ElectionRTT, c.HeartbeatRTT)
	}
	return c, nil
}
