package main

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/chronogo/chronogo/wire/mongo"

	"github.com/dustin/go-humanize"
	"github.com/spf13/pflag"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.yaml.in/yaml/v3"
)

// config holds the server settings; the YAML keys equal the flag names.
type config struct {
	DataDir     string `yaml:"data-dir"`
	MongoAddr   string `yaml:"mongo-addr"`
	HTTPAddr    string `yaml:"http-addr"`
	ClusterRole string `yaml:"cluster-role"`
	NodeID      string `yaml:"node-id"`
	Zone        string `yaml:"zone"`
	ClusterID   string `yaml:"cluster-id"`
	MnodeList   string `yaml:"mnode-list"`
	RaftAddr    string `yaml:"raft-addr"`
	ActorAddr   string `yaml:"actor-addr"`
	LogLevel    string `yaml:"log-level"`
	// Pprof serves /debug/pprof on the HTTP address (off by default: it exposes internals).
	Pprof bool `yaml:"pprof"`
	// Auth turns on access control on the MongoDB wire (SCRAM users, roles).
	Auth bool `yaml:"auth"`
	// TLS of the client listeners (mongod's --tlsMode; empty: requireTLS with a certificate,
	// disabled without) and, with ClusterTLS, mutual TLS between nodes with the same files.
	TLSMode     string `yaml:"tls-mode"`
	TLSCertFile string `yaml:"tls-cert-file"`
	TLSKeyFile  string `yaml:"tls-key-file"`
	TLSCAFile   string `yaml:"tls-ca-file"`
	ClusterTLS  bool   `yaml:"cluster-tls"`
	// ReplicationFactor and ShardCount are the defaults of new databases (0: the catalog's, 1).
	ReplicationFactor int `yaml:"replication-factor"`
	ShardCount        int `yaml:"shard-count"`
	// CacheSize is the memcache size of each vnode (e.g. 64MiB) at which it is flushed to a TSM file,
	// or "auto": a share of MemoryLimit (cacheBytes).
	CacheSize string `yaml:"cache-size"`
	// MaxBodySize bounds a /write body (e.g. 25MB).
	MaxBodySize string `yaml:"max-body-size"`
	// MaxConnections, ConnIdleTimeout and FrameTimeout bound MongoDB clients (wire/mongo.Config).
	MaxConnections  int           `yaml:"max-connections"`
	CursorMemory    string        `yaml:"cursor-memory"`
	SortMemory      string        `yaml:"sort-memory"`
	MessageMemory   string        `yaml:"message-memory"`
	ConnIdleTimeout time.Duration `yaml:"conn-idle-timeout"`
	FrameTimeout    time.Duration `yaml:"frame-timeout"`
	// MemoryLimit is the Go runtime's soft memory limit: a size, a share of memory ("50%"), or 0.
	MemoryLimit string `yaml:"memory-limit"`
	memLimit    int64  // MemoryLimit in bytes once applied (0: none)
	// NodeDownAfter is how long a data node may be seen down before every node warns about it.
	NodeDownAfter time.Duration `yaml:"node-down-after"`
	// RepairInterval is how often one node of the cluster repairs the replicated databases'
	// settled data (anti-entropy; 0: only when asked).
	RepairInterval time.Duration `yaml:"repair-interval"`
	// TTLInterval is how often expired measurements are removed (hidden flag, for tests).
	TTLInterval time.Duration `yaml:"-"`
	// OutStagingMaxAge is how old a $out's staging collection is when the TTL pass drops it
	// (one a crash left behind; hidden flag, for tests).
	OutStagingMaxAge time.Duration `yaml:"-"`
	// SweepInterval is how often dropped buckets' data is removed (hidden flag, for tests).
	SweepInterval time.Duration `yaml:"-"`
	// SettleAfter is how long a vnode is quiet before it is settled (hidden flag, for tests).
	SettleAfter time.Duration `yaml:"-"`

	// tls is loaded from the TLS settings when a node starts.
	tls *tlsSetup
	// settings are the effective settings by flag name, for getCmdLineOpts.
	settings bson.Raw
}

// settingsDoc is every flag's effective value (flags and config file), by name.
func settingsDoc(fs *pflag.FlagSet) bson.Raw {
	var d bson.D
	fs.VisitAll(func(f *pflag.Flag) {
		d = append(d, bson.E{Key: f.Name, Value: f.Value.String()})
	})
	raw, err := bson.Marshal(d)
	if err != nil {
		return nil
	}
	return raw
}

func defaultConfig() config {
	// Loopback by default, as mongod >= 3.6: listening wider is a choice (--mongo-addr=:27017).
	return config{DataDir: "./data", MongoAddr: "127.0.0.1:27017", HTTPAddr: "127.0.0.1:8080", ClusterRole: "standalone",
		NodeID: "1", ClusterID: "chronogo", RaftAddr: "127.0.0.1:8091", LogLevel: "info", CacheSize: "auto", MaxBodySize: "25MB",
		MaxConnections: 4096, CursorMemory: "1GiB", SortMemory: "32MiB", MessageMemory: "1GiB", ConnIdleTimeout: 30 * time.Minute, FrameTimeout: 2 * time.Minute,
		TTLInterval: 60 * time.Second, OutStagingMaxAge: mongo.OutStagingMaxAge, SweepInterval: 5 * time.Minute, SettleAfter: time.Minute, NodeDownAfter: 5 * time.Minute, MemoryLimit: "50%",
		RepairInterval: 6 * time.Hour}
}

// loadFile reads a YAML config file; flags given on the command line win over it.
func (c *config) loadFile(path string, flags *pflag.FlagSet) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	var fromFile config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&fromFile); err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	set := func(name string, dst *string, v string) {
		if v != "" && !flags.Changed(name) {
			*dst = v
		}
	}
	set("data-dir", &c.DataDir, fromFile.DataDir)
	set("mongo-addr", &c.MongoAddr, fromFile.MongoAddr)
	set("http-addr", &c.HTTPAddr, fromFile.HTTPAddr)
	set("cluster-role", &c.ClusterRole, fromFile.ClusterRole)
	set("node-id", &c.NodeID, fromFile.NodeID)
	set("zone", &c.Zone, fromFile.Zone)
	set("cluster-id", &c.ClusterID, fromFile.ClusterID)
	set("mnode-list", &c.MnodeList, fromFile.MnodeList)
	set("raft-addr", &c.RaftAddr, fromFile.RaftAddr)
	set("actor-addr", &c.ActorAddr, fromFile.ActorAddr)
	set("log-level", &c.LogLevel, fromFile.LogLevel)
	if fromFile.Pprof && !flags.Changed("pprof") {
		c.Pprof = true
	}
	if fromFile.Auth && !flags.Changed("auth") {
		c.Auth = true
	}
	if fromFile.ClusterTLS && !flags.Changed("cluster-tls") {
		c.ClusterTLS = true
	}
	set("tls-mode", &c.TLSMode, fromFile.TLSMode)
	set("tls-cert-file", &c.TLSCertFile, fromFile.TLSCertFile)
	set("tls-key-file", &c.TLSKeyFile, fromFile.TLSKeyFile)
	set("tls-ca-file", &c.TLSCAFile, fromFile.TLSCAFile)
	set("cache-size", &c.CacheSize, fromFile.CacheSize)
	set("max-body-size", &c.MaxBodySize, fromFile.MaxBodySize)
	set("cursor-memory", &c.CursorMemory, fromFile.CursorMemory)
	set("sort-memory", &c.SortMemory, fromFile.SortMemory)
	set("message-memory", &c.MessageMemory, fromFile.MessageMemory)
	if fromFile.ReplicationFactor != 0 && !flags.Changed("replication-factor") {
		c.ReplicationFactor = fromFile.ReplicationFactor
	}
	if fromFile.MaxConnections != 0 && !flags.Changed("max-connections") {
		c.MaxConnections = fromFile.MaxConnections
	}
	if fromFile.ConnIdleTimeout != 0 && !flags.Changed("conn-idle-timeout") {
		c.ConnIdleTimeout = fromFile.ConnIdleTimeout
	}
	if fromFile.FrameTimeout != 0 && !flags.Changed("frame-timeout") {
		c.FrameTimeout = fromFile.FrameTimeout
	}
	if fromFile.MemoryLimit != "" && !flags.Changed("memory-limit") {
		c.MemoryLimit = fromFile.MemoryLimit
	}
	if fromFile.RepairInterval != 0 && !flags.Changed("repair-interval") {
		c.RepairInterval = fromFile.RepairInterval
	}
	if fromFile.NodeDownAfter != 0 && !flags.Changed("node-down-after") {
		c.NodeDownAfter = fromFile.NodeDownAfter
	}
	if fromFile.ShardCount != 0 && !flags.Changed("shard-count") {
		c.ShardCount = fromFile.ShardCount
	}
	return nil
}

func (c *config) validate() error {
	if _, err := memoryLimit(c.MemoryLimit); err != nil {
		return err
	}
	switch c.ClusterRole {
	case "standalone", "mnode":
	case "dnode":
		if len(c.mnodes()) == 0 {
			return fmt.Errorf("--cluster-role=dnode needs --mnode-list (the meta nodes' HTTP addresses)")
		}
		if c.ActorAddr == "" {
			return fmt.Errorf("--cluster-role=dnode needs --actor-addr (host:port other nodes reach this one at)")
		}
	default:
		return fmt.Errorf("--cluster-role=%q: want standalone, mnode or dnode", c.ClusterRole)
	}
	if c.NodeID == "" || c.NodeID == "0" {
		return fmt.Errorf("--node-id=%q: want a positive integer or a name", c.NodeID)
	}
	if c.DataDir == "" {
		return fmt.Errorf("--data-dir must not be empty")
	}
	if c.RepairInterval < 0 || (c.RepairInterval > 0 && c.RepairInterval < time.Second) {
		return fmt.Errorf("--repair-interval must be 0 (off) or at least 1s")
	}
	if c.TTLInterval <= 0 {
		return fmt.Errorf("--ttl-interval must be positive")
	}
	if c.ClusterRole != "mnode" && c.MongoAddr == "" {
		return fmt.Errorf("--mongo-addr must not be empty")
	}
	if c.ClusterRole == "mnode" && c.HTTPAddr == "" {
		return fmt.Errorf("--cluster-role=mnode needs --http-addr (the meta service data nodes join through)")
	}
	if c.ClusterRole != "standalone" && c.RaftAddr == "" {
		return fmt.Errorf("--cluster-role=%s needs --raft-addr", c.ClusterRole)
	}
	if _, err := c.cacheBytes(0); err != nil {
		return err
	}
	if _, err := c.maxBodyBytes(); err != nil {
		return err
	}
	if n, err := humanize.ParseBytes(c.CursorMemory); err != nil || n < 1<<20 {
		return fmt.Errorf("--cursor-memory=%q: want a size of at least 1MiB, e.g. 1GiB", c.CursorMemory)
	}
	if n, err := humanize.ParseBytes(c.MessageMemory); err != nil || n < 64<<20 {
		return fmt.Errorf("--message-memory=%q: want a size of at least 64MiB (a message may be 48MB), e.g. 1GiB", c.MessageMemory)
	}
	if n, err := humanize.ParseBytes(c.SortMemory); err != nil || n < 64<<10 {
		return fmt.Errorf("--sort-memory=%q: want a size of at least 64KiB, e.g. 32MiB", c.SortMemory)
	}
	if _, err := c.tlsMode(); err != nil {
		return err
	}
	if c.ClusterTLS && (c.TLSCertFile == "" || c.TLSKeyFile == "" || c.TLSCAFile == "") {
		return fmt.Errorf("--cluster-tls needs --tls-cert-file, --tls-key-file and --tls-ca-file")
	}
	if c.MaxConnections < 1 || c.ConnIdleTimeout <= 0 || c.FrameTimeout <= 0 {
		return fmt.Errorf("--max-connections, --conn-idle-timeout and --frame-timeout must be positive")
	}
	if c.ReplicationFactor < 0 || c.ShardCount < 0 {
		return fmt.Errorf("--replication-factor and --shard-count must not be negative")
	}
	return nil
}

// Memcaches from the memory budget: with --cache-size auto (the default), each vnode's memcache
// is a sixteenth of --memory-limit, between 4 MiB and 64 MiB (64 MiB without a limit). A vnode
// holds its mutable memcache and up to 4 waiting for a flush before writes meet backpressure, so
// one busy vnode's memcaches stay within about a third of the budget.
const (
	cacheShare = 16
	cacheMin   = 4 << 20
	cacheMax   = 32 << 20
)

// cacheBytes is --cache-size in bytes (64KiB to 16GiB), or for "auto" the share of limit (the
// memory limit in bytes, 0 for none).
func (c *config) cacheBytes(limit int64) (int64, error) {
	if c.CacheSize == "auto" {
		if limit <= 0 {
			return cacheMax, nil
		}
		return min(max(limit/cacheShare, cacheMin), cacheMax), nil
	}
	n, err := humanize.ParseBytes(c.CacheSize)
	if err != nil || n < 64<<10 || n > 16<<30 {
		return 0, fmt.Errorf("--cache-size=%q: want auto or a size from 64KiB to 16GiB, e.g. 64MiB", c.CacheSize)
	}
	return int64(n), nil
}

// maxBodyBytes is --max-body-size in bytes: 1KB to 1GB.
func (c *config) maxBodyBytes() (int64, error) {
	n, err := humanize.ParseBytes(c.MaxBodySize)
	if err != nil || n < 1000 || n > 1<<30 {
		return 0, fmt.Errorf("--max-body-size=%q: want a size from 1KB to 1GiB, e.g. 25MB", c.MaxBodySize)
	}
	return int64(n), nil
}

// nodeID is the numeric node id: --node-id itself when it is a number, else the FNV-1a 64-bit hash
// of the name with the top bit cleared (never 0), so ids like "mnode1" work as in the seed.
func (c *config) nodeID() uint64 {
	if id, err := strconv.ParseUint(c.NodeID, 10, 64); err == nil {
		return id
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(c.NodeID))
	if id := h.Sum64() >> 1; id != 0 {
		return id
	}
	return 1
}

// mnodes lists the meta nodes' HTTP addresses from --mnode-list.
func (c *config) mnodes() []string {
	var out []string
	for _, a := range strings.Split(c.MnodeList, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}
