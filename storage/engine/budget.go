package engine

import "sync/atomic"

// CacheBudget bounds the memcache bytes of all the vnodes that share it (a node's): CacheSize is
// each vnode's flush threshold, the budget is what they may hold together, mutable and waiting
// caches alike. Past the budget, a vnode that takes a write turns its mutable cache immutable
// early (once it holds EarlyFlushMin), so flushes start before memory grows; past twice the
// budget, a vnode whose own flush is still waiting refuses writes with ErrWriteStall (the
// caller's backpressure) until a flush frees memory. A vnode with nothing waiting never stalls,
// so a node cannot wedge on memory that only other vnodes can free.
type CacheBudget struct {
	limit int64
	used  atomic.Int64
}

// EarlyFlushMin is the smallest mutable cache that a budget overrun switches to immutable.
const EarlyFlushMin = 1 << 20

// NewCacheBudget returns a budget of limit bytes (limit <= 0: no budget, nil).
func NewCacheBudget(limit int64) *CacheBudget {
	if limit <= 0 {
		return nil
	}
	return &CacheBudget{limit: limit}
}

// Used is the memcache bytes held by the vnodes sharing the budget.
func (b *CacheBudget) Used() int64 {
	if b == nil {
		return 0
	}
	return b.used.Load()
}

// Limit is the budget in bytes.
func (b *CacheBudget) Limit() int64 {
	if b == nil {
		return 0
	}
	return b.limit
}

func (b *CacheBudget) over() bool   { return b != nil && b.used.Load() > b.limit }
func (b *CacheBudget) stalls() bool { return b != nil && b.used.Load() > 2*b.limit }

// rechargeLocked sets the vnode's share of the budget to the bytes its caches hold now.
func (v *Vnode) rechargeLocked() {
	if v.opts.CacheBudget == nil {
		return
	}
	if v.closed {
		return // closeAll gave the share back
	}
	held := v.mutable.Size()
	for _, c := range v.immutables {
		held += c.Size()
	}
	v.opts.CacheBudget.used.Add(held - v.charged)
	v.charged = held
}
