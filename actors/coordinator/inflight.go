package coordinator

import (
	"context"
	"sync"
)

// inflight counts the writes and fan-outs (deletes, renames, drops) in progress by epoch, so a
// placement change can wait for the ones that routed by the placement before it: a vnode move
// fills its new vnode only once no write is left that could miss it.
type inflight struct {
	mu      sync.Mutex
	epoch   uint64
	counts  map[uint64]int
	changed chan struct{} // closed and replaced whenever an epoch empties
}

// begin records one operation in the current epoch; the function it returns ends it.
func (f *inflight) begin() func() {
	f.mu.Lock()
	if f.counts == nil {
		f.counts, f.changed = map[uint64]int{}, make(chan struct{})
	}
	e := f.epoch
	f.counts[e]++
	f.mu.Unlock()
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.counts[e]--; f.counts[e] == 0 {
			delete(f.counts, e)
			close(f.changed)
			f.changed = make(chan struct{})
		}
	}
}

// drain starts a new epoch and waits until every operation begun before it has ended.
func (f *inflight) drain(ctx context.Context) error {
	f.mu.Lock()
	f.epoch++
	until := f.epoch
	f.mu.Unlock()
	for {
		f.mu.Lock()
		pending := false
		for e := range f.counts {
			pending = pending || e < until
		}
		ch := f.changed
		f.mu.Unlock()
		if !pending {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

// WaitWrites returns once every write and fan-out that started before the call has finished
// (answered or failed): after the placement cache moved to a new version, every write still
// running routes by it.
func (c *Client) WaitWrites(ctx context.Context) error {
	return c.ops.drain(ctx)
}
