package meta

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/lni/dragonboat/v4"
	"github.com/lni/dragonboat/v4/client"
	sm "github.com/lni/dragonboat/v4/statemachine"
	"github.com/sirupsen/logrus"

	"github.com/chronogo/chronogo/meta/catalog"
	"github.com/chronogo/chronogo/meta/internal/smcodec"
	"github.com/chronogo/chronogo/meta/placement"
)

// attemptTimeout bounds one proposal or read attempt, so a request stuck on a dead leader is
// retried after the next election instead of eating the caller's whole deadline.
const attemptTimeout = 2 * time.Second

// Client is the typed API of the meta service on one node. Mutations are SyncPropose with a no-op
// session (at-least-once: every command is idempotent or reports "exists" when retried); DDL reads
// are linearizable SyncReads; Cached* and BucketFor serve the hot path from a local cache that a
// goroutine refreshes when a shard's version changes (and every local write refreshes at once).
// All methods are safe for concurrent use.
type Client struct {
	nh       *dragonboat.NodeHost
	log      logrus.FieldLogger
	timeout  time.Duration
	sessions map[uint64]*client.Session
	now      func() int64
	// dbDefaults are the options of databases created without them (Config.DatabaseDefaults).
	dbDefaults Database
	// plain starts this node's plain shard replicas on demand; nodeID is this node's replica id.
	plain  *plainShards
	nodeID uint64

	mu        sync.RWMutex
	catalog   catalog.View
	placement placement.View
	changed   chan struct{} // closed and replaced whenever the cache changes

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// newClient starts the client of h and its cache poller.
func newClient(h *Host) *Client {
	c := &Client{
		nh:       h.nh,
		log:      h.log.WithField("component", "meta_client"),
		timeout:  h.cfg.ProposalTimeout,
		sessions: map[uint64]*client.Session{},
		now:      func() int64 { return time.Now().UnixNano() },
		dbDefaults: Database{ReplicationFactor: h.cfg.DatabaseDefaults.ReplicationFactor,
			ShardCount: h.cfg.DatabaseDefaults.ShardCount, Consistency: h.cfg.DatabaseDefaults.Consistency},
		changed: make(chan struct{}),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	for _, s := range shards {
		c.sessions[s.id] = h.nh.GetNoOPSession(s.id)
	}
	go c.poll(h.cfg.CachePollInterval)
	return c
}

// Close stops the cache poller. It is idempotent; Host.Close calls it.
func (c *Client) Close() {
	c.closeOnce.Do(func() {
		close(c.stop)
		<-c.done
	})
}

// retry runs f until it succeeds, fails with a non-retryable error or ctx ends. Each attempt gets
// a context bounded by attemptTimeout; a ctx without deadline is bounded by the proposal timeout.
func (c *Client) retry(ctx context.Context, f func(context.Context) error) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	for {
		actx, cancel := context.WithTimeout(ctx, attemptTimeout)
		err := f(actx)
		cancel()
		if err == nil || !errRetryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last attempt: %w)", ctx.Err(), err)
		case <-time.After(retryBackoff):
		}
	}
}

// propose encodes and proposes cmd on a shard and returns dragonboat's result.
func (c *Client) propose(ctx context.Context, shardID uint64, cmd any) (sm.Result, error) {
	b, err := smcodec.EncodeCommand(cmd)
	if err != nil {
		return sm.Result{}, err
	}
	var res sm.Result
	err = c.retry(ctx, func(actx context.Context) error {
		r, err := c.nh.SyncPropose(actx, c.sessions[shardID], b)
		res = r
		return err
	})
	return res, err
}

// proposeFor proposes cmd on a shard and decodes dragonboat's result as the shard's result type R
// (the zero R on error); what names the command in errors.
func proposeFor[R any](ctx context.Context, c *Client, shardID uint64, what string, cmd any) (R, error) {
	var zero R
	res, err := c.propose(ctx, shardID, cmd)
	if err != nil {
		return zero, fmt.Errorf("proposing %s: %w", what, err)
	}
	r, err := smcodec.DecodeResult[R](res.Data)
	if err != nil {
		return zero, fmt.Errorf("%s: %w", what, err)
	}
	return r, nil
}

// read is a linearizable read (ReadIndex, then the local replica's Lookup).
func (c *Client) read(ctx context.Context, shardID uint64, q any) (any, error) {
	var v any
	err := c.retry(ctx, func(actx context.Context) error {
		r, err := c.nh.SyncRead(actx, shardID, q)
		v = r
		return err
	})
	return v, err
}

// placementView returns the cached placement.
func (c *Client) placementView() placement.View {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.placement
}

// cachedNode finds a node of the cached placement.
func (c *Client) cachedNode(id uint64) (Node, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, n := range c.placement.Nodes {
		if n.ID == id {
			return n, true
		}
	}
	return Node{}, false
}

// Changed returns a channel closed at the next change of the cache (catalog or placement): a
// version watch for actors that mirror meta state.
func (c *Client) Changed() <-chan struct{} {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.changed
}

// CachedVersions returns the catalog and placement versions the cache holds.
func (c *Client) CachedVersions() (catalogVersion, placementVersion uint64) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.catalog.Version, c.placement.Version
}
