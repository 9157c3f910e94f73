package main

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sirupsen/logrus"

	"github.com/chronogo/chronogo/meta"
)

// downNodes watches the placement's record of data nodes seen down (data nodes' liveness
// watchers report them): every node, mnodes included, exports it to /metrics and warns once per
// outage when a node stays down longer than --node-down-after.
type downNodes struct {
	mc    *meta.Client
	after time.Duration
	log   logrus.FieldLogger

	mu     sync.Mutex
	warned map[uint64]int64 // node -> the DownSince it was warned about
}

var (
	nodeDownDesc = prometheus.NewDesc("chronogo_node_down_seconds",
		"Seconds since a data node was seen down, as the meta placement records it (0: up).", []string{"node"}, nil)
	nodeDownTooLongDesc = prometheus.NewDesc("chronogo_node_down_too_long",
		"1 if a data node has been down longer than --node-down-after.", []string{"node"}, nil)
)

func newDownNodes(mc *meta.Client, after time.Duration, log logrus.FieldLogger) *downNodes {
	return &downNodes{mc: mc, after: after, log: log, warned: map[uint64]int64{}}
}

// Describe implements prometheus.Collector.
func (d *downNodes) Describe(ch chan<- *prometheus.Desc) {
	ch <- nodeDownDesc
	ch <- nodeDownTooLongDesc
}

// Collect implements prometheus.Collector.
func (d *downNodes) Collect(ch chan<- prometheus.Metric) {
	down := d.mc.CachedDownSince()
	now := time.Now()
	for _, n := range d.mc.CachedNodes() {
		if n.Role == "mnode" {
			continue
		}
		secs, tooLong := 0.0, 0.0
		if since, ok := down[n.ID]; ok {
			secs = now.Sub(time.Unix(0, since)).Seconds()
			if now.Sub(time.Unix(0, since)) >= d.after {
				tooLong = 1
			}
		}
		ch <- prometheus.MustNewConstMetric(nodeDownDesc, prometheus.GaugeValue, secs, nodeLabel(n))
		ch <- prometheus.MustNewConstMetric(nodeDownTooLongDesc, prometheus.GaugeValue, tooLong, nodeLabel(n))
	}
}

// run warns once per outage about nodes down longer than after, checking every few seconds.
func (d *downNodes) run(ctx context.Context) {
	t := time.NewTicker(min(d.after/2, 5*time.Second))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			d.check(time.Now())
		}
	}
}

func (d *downNodes) check(now time.Time) {
	down := d.mc.CachedDownSince()
	d.mu.Lock()
	defer d.mu.Unlock()
	for id := range d.warned {
		if _, ok := down[id]; !ok {
			delete(d.warned, id) // up again: a new outage warns again
		}
	}
	for _, n := range d.mc.CachedNodes() {
		since, ok := down[n.ID]
		if !ok || d.warned[n.ID] == since || now.Sub(time.Unix(0, since)) < d.after {
			continue
		}
		d.warned[n.ID] = since
		d.log.WithFields(logrus.Fields{"node": nodeLabel(n), "down_since": time.Unix(0, since).UTC().Format(time.RFC3339),
			"node_down_after": d.after}).Warn("a data node has been down too long: its replicas get hints until it returns " +
			"(hints older than the hint window are dropped); bring it back or replace it")
	}
}

// nodeLabel is a node's --node-id, or its numeric id.
func nodeLabel(n meta.Node) string {
	if n.Name != "" {
		return n.Name
	}
	return strconv.FormatUint(n.ID, 10)
}
