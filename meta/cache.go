package meta

import (
	"context"
	"fmt"
	"time"

	"github.com/chronogo/chronogo/meta/catalog"
	"github.com/chronogo/chronogo/meta/placement"
)

// poll refreshes the cache every interval until Close.
func (c *Client) poll(interval time.Duration) {
	defer close(c.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		c.refreshCatalog()
		c.refreshPlacement()
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
	}
}

// localVersion reads a shard's version from the local replica without a round trip.
func (c *Client) localVersion(shardID uint64, q any) (uint64, bool) {
	v, err := c.nh.StaleRead(shardID, q)
	if err != nil {
		return 0, false // not initialised yet, or closing: the next tick retries
	}
	return v.(uint64), true
}

// refreshCatalog reloads the cached catalog view when the local replica's version moved.
func (c *Client) refreshCatalog() {
	v, ok := c.localVersion(ShardCatalog, catalog.VersionQuery{})
	c.mu.RLock()
	same := c.catalog.Databases != nil && c.catalog.Version == v
	c.mu.RUnlock()
	if !ok || same {
		return
	}
	view, err := c.nh.StaleRead(ShardCatalog, catalog.ViewQuery{})
	if err != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if nv := view.(catalog.View); c.catalog.Databases == nil || nv.Version > c.catalog.Version {
		c.catalog = nv
		c.notifyLocked()
	}
}

// refreshPlacement reloads the cached placement view when the local replica's version moved.
func (c *Client) refreshPlacement() {
	v, ok := c.localVersion(ShardPlacement, placement.VersionQuery{})
	c.mu.RLock()
	same := c.placement.Buckets != nil && c.placement.Version == v
	c.mu.RUnlock()
	if !ok || same {
		return
	}
	view, err := c.nh.StaleRead(ShardPlacement, placement.ViewQuery{})
	if err != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if nv := view.(placement.View); c.placement.Buckets == nil || nv.Version > c.placement.Version {
		c.placement = nv
		c.notifyLocked()
	}
}

// notifyLocked wakes the Changed watchers; c.mu is held.
func (c *Client) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// SyncPlacement makes the cached placement at least as new as a linearizable read of the
// placement shard's version: after it returns, the cache holds every bucket created anywhere in
// the cluster before the call. Readers on other nodes than the bucket's creator need it; a
// standalone node's own creations refresh the cache at once.
func (c *Client) SyncPlacement(ctx context.Context) error {
	v, err := c.read(ctx, ShardPlacement, placement.VersionQuery{})
	if err != nil {
		return fmt.Errorf("reading the placement version: %w", err)
	}
	want := v.(uint64)
	// the local replica has applied at least up to the read index: one stale read catches up
	for !c.placementAtLeast(want) {
		c.refreshPlacement()
		if c.placementAtLeast(want) {
			break
		}
		select { // the replica is closing or not yet initialised: retry, without spinning
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
	return nil
}

// placementAtLeast reports whether the cached placement has version >= v.
func (c *Client) placementAtLeast(v uint64) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.placement.Buckets != nil && c.placement.Version >= v
}
