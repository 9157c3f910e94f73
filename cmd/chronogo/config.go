package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// config holds the server settings; the YAML keys equal the flag names.
type config struct {
	DataDir     string `yaml:"data-dir"`
	MongoAddr   string `yaml:"mongo-addr"`
	HTTPAddr    string `yaml:"http-addr"`
	ClusterRole string `yaml:"cluster-role"`
	NodeID      string `yaml:"node-id"`
	ClusterID   string `yaml:"cluster-id"`
	MnodeList   string `yaml:"mnode-list"`
	RaftAddr    string `yaml:"raft-addr"`
	ActorAddr   string `yaml:"actor-addr"`
	LogLevel    string `yaml:"log-level"`
	// TTLInterval is how often expired measurements are removed (hidden flag, for tests).
	TTLInterval time.Duration `yaml:"-"`
}

func defaultConfig() config {
	return config{DataDir: "./data", MongoAddr: ":27017", HTTPAddr: ":8080", ClusterRole: "standalone",
		NodeID: "1", ClusterID: "chronogo", RaftAddr: "127.0.0.1:8091", LogLevel: "info",
		TTLInterval: 60 * time.Second}
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
	set("cluster-id", &c.ClusterID, fromFile.ClusterID)
	set("mnode-list", &c.MnodeList, fromFile.MnodeList)
	set("raft-addr", &c.RaftAddr, fromFile.RaftAddr)
	set("actor-addr", &c.ActorAddr, fromFile.ActorAddr)
	set("log-level", &c.LogLevel, fromFile.LogLevel)
	return nil
}

func (c *config) validate() error {
	switch c.ClusterRole {
	case "standalone":
	case "mnode", "dnode":
		return fmt.Errorf("--cluster-role=%s: cluster mode is not available yet in this build; use standalone", c.ClusterRole)
	default:
		return fmt.Errorf("--cluster-role=%q: want standalone, mnode or dnode", c.ClusterRole)
	}
	if id, err := strconv.ParseUint(c.NodeID, 10, 64); err != nil || id == 0 {
		return fmt.Errorf("--node-id=%q: want a positive integer", c.NodeID)
	}
	if c.DataDir == "" {
		return fmt.Errorf("--data-dir must not be empty")
	}
	if c.TTLInterval <= 0 {
		return fmt.Errorf("--ttl-interval must be positive")
	}
	if c.MongoAddr == "" {
		return fmt.Errorf("--mongo-addr must not be empty")
	}
	return nil
}

func (c *config) nodeID() uint64 {
	id, _ := strconv.ParseUint(c.NodeID, 10, 64)
	return id
}
