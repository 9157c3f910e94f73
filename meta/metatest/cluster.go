package metatest

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/meta"
)

// Cluster is n meta hosts in one process. Hosts[i] is node i+1 and nil while stopped.
type Cluster struct {
	t       testing.TB
	Hosts   []*meta.Host
	Configs []meta.Config
}

// Logger returns a logrus logger at warning level for tests.
func Logger() *logrus.Logger {
	l := logrus.New()
	l.SetLevel(logrus.WarnLevel)
	return l
}

// Config returns the config of node id in an n-node in-process cluster named after the test.
// RTT 5 ms and ElectionRTT 20 elect in about 100–200 ms on loopback; snapshots every 20 entries.
func Config(t testing.TB, dir string, id uint64, n int) meta.Config {
	members := map[uint64]string{}
	if n > 1 {
		for i := 1; i <= n; i++ {
			members[uint64(i)] = address(t, uint64(i))
		}
	}
	return meta.Config{
		NodeID:             id,
		ClusterID:          "metatest-" + t.Name(),
		DataDir:            filepath.Join(dir, fmt.Sprintf("node%d", id)),
		RaftAddr:           address(t, id),
		InitialMembers:     members,
		Logger:             Logger(),
		RTTMillisecond:     5,
		ElectionRTT:        20,
		HeartbeatRTT:       2,
		SnapshotEntries:    20,
		CompactionOverhead: 10,
		InProcessTransport: true,
	}
}

// address is a channel-transport address unique to the test and node, in lower case because
// dragonboat lower-cases the addresses it registers.
func address(t testing.TB, id uint64) string {
	return strings.ToLower(fmt.Sprintf("node%d.%s:1", id, strings.ReplaceAll(t.Name(), "/", ".")))
}

// StartCluster starts n hosts (n = 1 is standalone), waits until every shard serves linearizable
// reads on every host, and closes the hosts at the end of the test.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	dir := t.TempDir()
	c := &Cluster{t: t, Hosts: make([]*meta.Host, n), Configs: make([]meta.Config, n)}
	t.Cleanup(c.Close)
	for i := range n {
		c.Configs[i] = Config(t, dir, uint64(i+1), n)
		h, err := meta.Start(c.Configs[i])
		require.NoError(t, err)
		c.Hosts[i] = h
	}
	c.WaitReady()
	return c
}

// WaitReady waits until every running host serves linearizable reads on every shard.
func (c *Cluster) WaitReady() {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, h := range c.Hosts {
		if h != nil {
			require.NoError(c.t, h.WaitReady(ctx))
		}
	}
}

// Stop closes host i (0-based).
func (c *Cluster) Stop(i int) {
	c.Hosts[i].Close()
	c.Hosts[i] = nil
}

// Restart starts host i again on its data dir (dragonboat restart: members from the LogDB).
func (c *Cluster) Restart(i int) *meta.Host {
	c.t.Helper()
	h, err := meta.Start(c.Configs[i])
	require.NoError(c.t, err)
	c.Hosts[i] = h
	return h
}

// Leader returns the index of the host that leads shardID as any running host knows it, or -1.
func (c *Cluster) Leader(shardID uint64) int {
	for _, h := range c.Hosts {
		if h == nil {
			continue
		}
		if id, ok := h.LeaderOf(shardID); ok {
			if i := int(id) - 1; i >= 0 && i < len(c.Hosts) && c.Hosts[i] != nil {
				return i
			}
		}
	}
	return -1
}

// Close closes every running host.
func (c *Cluster) Close() {
	for i, h := range c.Hosts {
		if h != nil {
			h.Close()
			c.Hosts[i] = nil
		}
	}
}
