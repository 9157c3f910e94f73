// Command chronogo is the ChronoGo server and its tools: a distributed time-series database that
// MongoDB drivers and mongosh use as if it were MongoDB.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

func main() {
	if err := rootCommand().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "chronogo:", err)
		os.Exit(1)
	}
}

func rootCommand() *cobra.Command {
	cfg := defaultConfig()
	var configFile string
	root := &cobra.Command{
		Use:   "chronogo",
		Short: "ChronoGo: a time-series database that speaks the MongoDB wire protocol",
		Long: "ChronoGo: a time-series database that speaks the MongoDB wire protocol.\n\n" +
			"Run without a subcommand, chronogo starts the server (standalone by default: MongoDB wire on\n" +
			"127.0.0.1:27017, HTTP on 127.0.0.1:8080, data in ./data). The subcommands are tools.",
		Example: "  chronogo --data-dir ./data\n  chronogo --auth --mongo-addr :27017 --http-addr :8080\n" +
			"  chronogo --cluster-role mnode --node-id m1 --mnode-list h1:8080,h2:8080,h3:8080\n  chronogo inspect verify ./data",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if configFile != "" {
				if err := cfg.loadFile(configFile, cmd.Flags()); err != nil {
					return err
				}
			}
			if err := cfg.validate(); err != nil {
				return err
			}
			cfg.settings = settingsDoc(cmd.Flags())
			return runServer(cmd.Context(), cfg)
		},
	}
	f := root.Flags()
	f.StringVar(&configFile, "config", "", "optional config file (YAML) with the same keys as the flags")
	f.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "data directory")
	f.StringVar(&cfg.MongoAddr, "mongo-addr", cfg.MongoAddr, "MongoDB wire protocol listen address")
	f.StringVar(&cfg.HTTPAddr, "http-addr", cfg.HTTPAddr, "HTTP listen address (line protocol /write, /metrics, /health); empty disables")
	f.StringVar(&cfg.TLSMode, "tls-mode", cfg.TLSMode, "TLS of the MongoDB and HTTP listeners: disabled, allowTLS, preferTLS or requireTLS (default: requireTLS with --tls-cert-file, else disabled)")
	f.StringVar(&cfg.TLSCertFile, "tls-cert-file", cfg.TLSCertFile, "PEM certificate (chain) of this node")
	f.StringVar(&cfg.TLSKeyFile, "tls-key-file", cfg.TLSKeyFile, "PEM private key of --tls-cert-file")
	f.StringVar(&cfg.TLSCAFile, "tls-ca-file", cfg.TLSCAFile, "PEM CA certificate that signs the nodes' (and optional client) certificates")
	f.BoolVar(&cfg.ClusterTLS, "cluster-tls", cfg.ClusterTLS, "mutual TLS between nodes (Raft, actors, meta service) with the --tls-* files; a node without a certificate from --tls-ca-file cannot join")
	f.BoolVar(&cfg.Auth, "auth", cfg.Auth, "access control on the MongoDB wire: SCRAM users and roles (a loopback client creates the first user)")
	f.BoolVar(&cfg.Pprof, "pprof", cfg.Pprof, "serve /debug/pprof on the HTTP address (exposes internals: keep it on loopback)")
	f.StringVar(&cfg.ClusterRole, "cluster-role", cfg.ClusterRole, "standalone | mnode | dnode")
	f.StringVar(&cfg.NodeID, "node-id", cfg.NodeID, "node id: a positive integer or a name (e.g. mnode1); unique in the cluster")
	f.StringVar(&cfg.Zone, "zone", cfg.Zone, "the node's failure domain (a rack, a data center): new buckets spread each replica set over zones")
	f.StringVar(&cfg.ClusterID, "cluster-id", cfg.ClusterID, "cluster id")
	f.StringVar(&cfg.MnodeList, "mnode-list", cfg.MnodeList, "comma-separated HTTP addresses (host:port) of the meta nodes: "+
		"a dnode joins through them; an mnode bootstraps with every one listed (itself included)")
	f.StringVar(&cfg.RaftAddr, "raft-addr", cfg.RaftAddr, "meta Raft address (host:port others dial; must not change)")
	f.StringVar(&cfg.ActorAddr, "actor-addr", cfg.ActorAddr, "actor remote address of a dnode (host:port others dial); empty in standalone")
	f.IntVar(&cfg.ReplicationFactor, "replication-factor", cfg.ReplicationFactor, "replicas of new databases (default 1)")
	f.IntVar(&cfg.ShardCount, "shard-count", cfg.ShardCount, "replica sets per bucket of new databases (default 1)")
	f.StringVar(&cfg.CacheSize, "cache-size", cfg.CacheSize, "memcache size of each vnode before it is flushed to disk (e.g. 16MiB, 1GiB), or auto: a sixteenth of --memory-limit, 4MiB to 64MiB")
	f.StringVar(&cfg.MaxBodySize, "max-body-size", cfg.MaxBodySize, "largest /write body accepted (413 past it)")
	f.StringVar(&cfg.CursorMemory, "cursor-memory", cfg.CursorMemory, "memory all open MongoDB cursors may hold; a query past it fails with code 146")
	f.StringVar(&cfg.SortMemory, "sort-memory", cfg.SortMemory, "memory one sort holds before it spills to <data-dir>/tmp (its limit with allowDiskUse: false)")
	f.StringVar(&cfg.MessageMemory, "message-memory", cfg.MessageMemory, "memory the MongoDB messages being received or run may hold together; past it reads wait")
	f.IntVar(&cfg.MaxConnections, "max-connections", cfg.MaxConnections, "most MongoDB client connections open at once")
	f.DurationVar(&cfg.ConnIdleTimeout, "conn-idle-timeout", cfg.ConnIdleTimeout, "close a MongoDB connection idle this long")
	f.DurationVar(&cfg.FrameTimeout, "frame-timeout", cfg.FrameTimeout, "longest time to receive one MongoDB message after its first byte, or to send a reply")
	f.StringVar(&cfg.MemoryLimit, "memory-limit", cfg.MemoryLimit, "the Go runtime's soft memory limit: a size (4GiB), a share of the machine's (or cgroup's) memory (50%), or 0 for none")
	f.DurationVar(&cfg.NodeDownAfter, "node-down-after", cfg.NodeDownAfter, "how long a data node may be down before the cluster warns (log and chronogo_node_down_too_long)")
	f.DurationVar(&cfg.RepairInterval, "repair-interval", cfg.RepairInterval, "how often one node repairs the replicas of replicated databases (anti-entropy over data older than the hint window; 0: only with ctl repair)")
	f.StringVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "log level: debug, info, warn, error")
	f.DurationVar(&cfg.TTLInterval, "ttl-interval", cfg.TTLInterval, "how often expired measurements are removed")
	_ = f.MarkHidden("ttl-interval") // for tests; MongoDB's TTL monitor also runs every 60 s
	f.DurationVar(&cfg.OutStagingMaxAge, "out-staging-max-age", cfg.OutStagingMaxAge, "how old a $out's staging collection left by a crash is when the TTL pass drops it")
	_ = f.MarkHidden("out-staging-max-age")
	f.DurationVar(&cfg.SweepInterval, "sweep-interval", cfg.SweepInterval, "how often the data of dropped buckets is removed")
	_ = f.MarkHidden("sweep-interval")
	f.DurationVar(&cfg.SettleAfter, "settle-after", cfg.SettleAfter, "how long a vnode is quiet before it is flushed and compacted")
	_ = f.MarkHidden("settle-after")
	root.AddCommand(inspectCommand(), ctlCommand(), exportCommand(), importCommand(), backupCommand(), restoreCommand())
	root.AddCommand(&cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run:   func(cmd *cobra.Command, _ []string) { fmt.Fprintln(cmd.OutOrStdout(), "chronogo", version) },
	})
	return root
}
