package backend

import (
	"context"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Collector exports the node's vnode figures to Prometheus at scrape time.
type Collector struct{ b *Backend }

// NewCollector returns a collector over the backend's node.
func NewCollector(b *Backend) *Collector { return &Collector{b: b} }

var (
	labels        = []string{"tenant", "db", "vnode"}
	vnodeDisk     = prometheus.NewDesc("chronogo_vnode_disk_bytes", "Bytes of TSM files of a vnode.", labels, nil)
	vnodeCache    = prometheus.NewDesc("chronogo_vnode_cache_bytes", "Bytes held in a vnode's memcaches.", labels, nil)
	vnodeFiles    = prometheus.NewDesc("chronogo_vnode_files", "TSM files of a vnode.", labels, nil)
	vnodeSeries   = prometheus.NewDesc("chronogo_vnode_series", "Series in a vnode's index.", labels, nil)
	vnodeImmut    = prometheus.NewDesc("chronogo_vnode_immutable_caches", "Memcaches waiting for a flush.", labels, nil)
	vnodeWrites   = prometheus.NewDesc("chronogo_vnode_writes_total", "Batches written since the vnode actor started.", labels, nil)
	vnodeCommits  = prometheus.NewDesc("chronogo_vnode_commits_total", "WAL group commits since the vnode actor started.", labels, nil)
	vnodeSeq      = prometheus.NewDesc("chronogo_vnode_seq", "Last assigned seq_no of a vnode.", labels, nil)
	vnodeFlushSeq = prometheus.NewDesc("chronogo_vnode_flushed_seq", "Last flushed seq_no of a vnode.", labels, nil)
	scrapeErrors  = prometheus.NewDesc("chronogo_vnode_stats_errors", "1 if the last collection of vnode figures failed.", nil, nil)
	pendingComp   = prometheus.NewDesc("chronogo_compactions_pending", "Vnodes of this node with a compaction due (a level or time window past its trigger).", nil, nil)

	hintLabels    = []string{"target_node"}
	hintsQueued   = prometheus.NewDesc("chronogo_handoff_hints", "Hints queued on disk for a target node.", hintLabels, nil)
	hintBytes     = prometheus.NewDesc("chronogo_handoff_bytes", "Bytes of the hint queue of a target node.", hintLabels, nil)
	hintsReplayed = prometheus.NewDesc("chronogo_handoff_replayed_total", "Hints the target node acknowledged.", hintLabels, nil)
	hintsDropped  = prometheus.NewDesc("chronogo_handoff_dropped_total", "Hints dropped, by reason: expired (older than the hint window), corrupt, skipped (refused by the target), refused (queue full).",
		[]string{"target_node", "reason"}, nil)

	peerUp = prometheus.NewDesc("chronogo_peer_up", "1 if this node sees the peer up (its liveness probes answer and its watch holds), 0 if down.",
		[]string{"peer"}, nil)
	peerRestarts = prometheus.NewDesc("chronogo_peer_restarts_total", "Restarts of the peer this node has seen.", []string{"peer"}, nil)
)

// Describe sends the descriptors.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{vnodeDisk, vnodeCache, vnodeFiles, vnodeSeries, vnodeImmut, vnodeWrites, vnodeCommits, vnodeSeq, vnodeFlushSeq, scrapeErrors, pendingComp,
		hintsQueued, hintBytes, hintsReplayed, hintsDropped, peerUp, peerRestarts, memoryBytes} {
		ch <- d
	}
}

// Collect asks every vnode for its figures.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	stats, err := c.b.node.Stats(ctx)
	failed := 0.0
	if err != nil {
		failed = 1
	}
	ch <- prometheus.MustNewConstMetric(scrapeErrors, prometheus.GaugeValue, failed)
	due := 0
	for _, s := range stats {
		if s.GetCompactionDue() {
			due++
		}
	}
	ch <- prometheus.MustNewConstMetric(pendingComp, prometheus.GaugeValue, float64(due))
	var memcache uint64
	for _, s := range stats {
		memcache += uint64(max(s.GetCacheBytes(), 0))
	}
	collectMemory(ch, memcache)
	for _, s := range stats {
		l := []string{s.GetTenant(), s.GetDb(), strconv.FormatUint(s.GetVnodeId(), 10)}
		ch <- prometheus.MustNewConstMetric(vnodeDisk, prometheus.GaugeValue, float64(s.GetDiskBytes()), l...)
		ch <- prometheus.MustNewConstMetric(vnodeCache, prometheus.GaugeValue, float64(s.GetCacheBytes()), l...)
		ch <- prometheus.MustNewConstMetric(vnodeFiles, prometheus.GaugeValue, float64(s.GetFiles()), l...)
		ch <- prometheus.MustNewConstMetric(vnodeSeries, prometheus.GaugeValue, float64(s.GetSeries()), l...)
		ch <- prometheus.MustNewConstMetric(vnodeImmut, prometheus.GaugeValue, float64(s.GetImmutableCaches()), l...)
		ch <- prometheus.MustNewConstMetric(vnodeWrites, prometheus.CounterValue, float64(s.GetWrites()), l...)
		ch <- prometheus.MustNewConstMetric(vnodeCommits, prometheus.CounterValue, float64(s.GetCommits()), l...)
		ch <- prometheus.MustNewConstMetric(vnodeSeq, prometheus.GaugeValue, float64(s.GetSeq()), l...)
		ch <- prometheus.MustNewConstMetric(vnodeFlushSeq, prometheus.GaugeValue, float64(s.GetFlushedSeq()), l...)
	}
	names := map[uint64]string{}
	for _, nd := range c.b.meta.CachedNodes() {
		if nd.Name != "" {
			names[nd.ID] = nd.Name
		}
	}
	for _, h := range c.b.node.HandoffStats() {
		n, ok := names[h.Node] // the node's --node-id, not its hashed id
		if !ok {
			n = strconv.FormatUint(h.Node, 10)
		}
		ch <- prometheus.MustNewConstMetric(hintsQueued, prometheus.GaugeValue, float64(h.Hints), n)
		ch <- prometheus.MustNewConstMetric(hintBytes, prometheus.GaugeValue, float64(h.Bytes), n)
		ch <- prometheus.MustNewConstMetric(hintsReplayed, prometheus.CounterValue, float64(h.Replayed), n)
		for reason, v := range map[string]uint64{"expired": h.Expired, "corrupt": h.Corrupt, "skipped": h.Skipped, "refused": h.Refused} {
			ch <- prometheus.MustNewConstMetric(hintsDropped, prometheus.CounterValue, float64(v), n, reason)
		}
	}
	for _, p := range c.b.node.Peers() {
		up := 0.0
		if p.Up {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(peerUp, prometheus.GaugeValue, up, p.Name)
		ch <- prometheus.MustNewConstMetric(peerRestarts, prometheus.CounterValue, float64(p.Restarted), p.Name)
	}
}
