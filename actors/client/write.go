package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/chronogo/chronogo/actors"
	"github.com/chronogo/chronogo/actors/coordinator"
	"github.com/chronogo/chronogo/messages"
	"github.com/chronogo/chronogo/storage"
)

// retryFor is how long after its version a write may still be retried with that version (a
// node refuses versions older than actors.MaxVersionedTime; the margin covers the attempt).
const retryFor = actors.MaxVersionedTime - 2*time.Second

// firstAttempt is how long the first attempt of a write waits for its answer.
const firstAttempt = 2 * time.Second

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// dbPlacement is the cached placement of a database: its buckets, at least as new as version.
type dbPlacement struct {
	fetched time.Time
	version uint64
	buckets []bucket
}

// sawPlacement notes a node's placement version (from a write's answer): a cached placement
// older than it is fetched again before the next batch is routed.
func (c *Client) sawPlacement(v uint64) {
	for {
		cur := c.newestPlacement.Load()
		if v <= cur || c.newestPlacement.CompareAndSwap(cur, v) {
			return
		}
	}
}

type bucket struct {
	start, end int64
	sets       [][]uint64 // replica sets: the nodes of their full members
}

// placementOf returns the database's cached placement, fetched again when refresh is set or a
// node answered with a newer placement version, and the cache is older than a second.
func (c *Client) placementOf(ctx context.Context, db string, refresh bool) *dbPlacement {
	c.mu.Lock()
	p := c.placement[db]
	c.mu.Unlock()
	if p != nil && ((!refresh && p.version >= c.newestPlacement.Load()) || time.Since(p.fetched) < time.Second) {
		return p
	}
	var info struct {
		Version uint64
		Buckets []struct {
			Start, End  string
			ReplicaSets []struct {
				Vnodes []struct {
					Node    uint64
					Joining bool
				}
			}
		}
	}
	c.mu.Lock()
	nodes := append([]node(nil), c.nodes...)
	c.mu.Unlock()
	fresh := &dbPlacement{fetched: time.Now()}
	for _, n := range nodes {
		if n.HTTPAddr == "" || c.getJSON(ctx, n.HTTPAddr, "/api/v1/vnodes?tenant="+query(c.opt.Tenant)+"&db="+query(db), &info) != nil {
			continue
		}
		fresh.version = info.Version
		c.sawPlacement(info.Version)
		for _, b := range info.Buckets {
			s, err1 := time.Parse(time.RFC3339, b.Start)
			e, err2 := time.Parse(time.RFC3339, b.End)
			if err1 != nil || err2 != nil {
				continue
			}
			bk := bucket{start: s.UnixNano(), end: e.UnixNano()}
			for _, rs := range b.ReplicaSets {
				var members []uint64
				for _, v := range rs.Vnodes {
					if !v.Joining {
						members = append(members, v.Node)
					}
				}
				bk.sets = append(bk.sets, members)
			}
			fresh.buckets = append(fresh.buckets, bk)
		}
		break
	}
	c.mu.Lock()
	c.placement[db] = fresh
	c.mu.Unlock()
	return fresh
}

// route groups the series of b by the node to send them to: one that holds a replica of the
// series' replica set in the bucket of its first row ("" when the placement does not know one).
func (c *Client) route(ctx context.Context, db string, b *storage.Batch) map[string]*storage.Batch {
	p := c.placementOf(ctx, db, false)
	c.mu.Lock()
	addrOf := map[uint64]string{}
	for _, n := range c.nodes {
		if n.DownSince == "" && !c.suspectLocked(n.ActorAddr) {
			addrOf[n.ID] = n.ActorAddr
		}
	}
	c.mu.Unlock()
	out := map[string]*storage.Batch{}
	refreshed := false
	for _, s := range b.Series {
		addr := ""
		for attempt := 0; attempt < 2 && addr == ""; attempt++ {
			for _, bk := range p.buckets {
				if s.Times[0] < bk.start || s.Times[0] >= bk.end || len(bk.sets) == 0 {
					continue
				}
				for _, id := range bk.sets[coordinator.ReplicaSetIndex(s.Key, len(bk.sets))] {
					if a, ok := addrOf[id]; ok {
						addr = a
						break
					}
				}
			}
			if addr == "" && !refreshed {
				p, refreshed = c.placementOf(ctx, db, true), true
			} else {
				break
			}
		}
		g := out[addr]
		if g == nil {
			g = &storage.Batch{}
			out[addr] = g
		}
		g.Series = append(g.Series, s)
	}
	return out
}

// Write writes a batch at the given consistency and returns once every part of it is
// acknowledged, or with the first error. The batch gets one version, which every retry keeps.
func (c *Client) Write(ctx context.Context, db string, b *Batch, level Consistency) error {
	if b.values == 0 {
		return nil
	}
	sb := b.build()
	if err := sb.Validate(); err != nil {
		return err
	}
	version := c.clock.Now()
	groups := c.route(ctx, db, sb)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for addr, g := range groups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.send(ctx, db, b.collection, g, version, level, addr); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// send writes one part to the node at first (any node when empty), then to the others in turn
// while the failures are temporary and the version young enough.
func (c *Client) send(ctx context.Context, db, coll string, b *storage.Batch, version uint64, level Consistency, first string) error {
	msg := &messages.ClientWrite{Db: db, Collection: coll, Batch: storage.AppendBatch(nil, b), Version: version, Consistency: level}
	var last error
	for attempt := 0; ; attempt++ {
		if ctx.Err() != nil || time.Since(actors.HLCTime(version)) > retryFor {
			if last == nil {
				last = ctx.Err()
			}
			return fmt.Errorf("write to %s.%s not acknowledged after %d attempts (it may or may not be stored): %w", db, coll, attempt, last)
		}
		if attempt > 0 {
			select {
			case <-ctx.Done():
				continue
			case <-time.After(time.Duration(min(attempt, 10)) * 50 * time.Millisecond):
			}
		}
		addr := first
		if attempt > 0 || addr == "" {
			addr = c.pick(attempt)
		}
		// the first attempt waits up to 2 s, the next ones twice as long (at most RequestTimeout):
		// a node that died without a word costs little, and a retry elsewhere is idempotent
		actx, cancel := context.WithDeadline(ctx, minTime(actors.HLCTime(version).Add(retryFor+time.Second),
			time.Now().Add(min(c.opt.RequestTimeout, firstAttempt<<min(attempt, 4)))))
		err := c.sendTo(actx, addr, msg)
		cancel()
		if err == nil {
			return nil
		}
		last = err
		var e *Error
		if errors.As(err, &e) && !e.Temporary() && e.Code != messages.ErrorCode_ERROR_CODE_NOT_OWNER {
			return fmt.Errorf("write to %s.%s: %w", db, coll, err)
		}
	}
}

// pick is the node of the attempt, round robin over the nodes not avoided (over all of them
// when every one is).
func (c *Client) pick(attempt int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.next++
	for k := range c.nodes {
		if n := c.nodes[(c.next+attempt+k)%len(c.nodes)]; !c.suspectLocked(n.ActorAddr) {
			return n.ActorAddr
		}
	}
	return c.nodes[(c.next+attempt)%len(c.nodes)].ActorAddr
}

// sendTo makes one attempt on one node.
func (c *Client) sendTo(ctx context.Context, addr string, msg *messages.ClientWrite) error {
	s, err := c.session(ctx, addr)
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			c.markSuspect(addr)
		}
		return err
	}
	m := &messages.ClientWrite{Session: s, Db: msg.GetDb(), Collection: msg.GetCollection(), Batch: msg.GetBatch(),
		Version: msg.GetVersion(), Consistency: msg.GetConsistency()}
	res, err := c.ask(ctx, addr, m)
	if err != nil {
		c.markSuspect(addr) // no answer: the node is down or cut off; others are tried first
		return fmt.Errorf("node %s: %w", addr, err)
	}
	r, ok := res.(*messages.ClientWriteReply)
	if !ok {
		if e, isErr := res.(*messages.ErrorReply); isErr {
			return &Error{Code: e.GetCode(), Msg: e.GetMessage()}
		}
		return fmt.Errorf("node %s: unexpected answer %T", addr, res)
	}
	c.sawPlacement(r.GetPlacementVersion())
	switch r.GetCode() {
	case messages.ErrorCode_ERROR_CODE_OK:
		return nil
	case messages.ErrorCode_ERROR_CODE_NOT_OWNER:
		c.forget(addr) // the node forgot the session (it restarted): hello again
	}
	return &Error{Code: r.GetCode(), Msg: r.GetMessage()}
}
