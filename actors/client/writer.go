package client

import (
	"context"
	"errors"
	"sync"
	"time"
)

// WriterOptions bound a Writer's batches and the bytes it has in flight.
type WriterOptions struct {
	// Consistency of every batch (Default: the database's).
	Consistency Consistency
	// BatchValues sends a batch once it holds that many field values (default 50 000).
	BatchValues int
	// Linger sends a batch that has waited that long, however small (default 100 ms).
	Linger time.Duration
	// MaxInflightBytes bounds the encoded batches sent and not yet acknowledged (default 64 MiB):
	// past it, Add waits (backpressure).
	MaxInflightBytes int64
}

// Writer batches the points of one collection and writes them in the background. Add, Flush and
// Close may be called from several goroutines. The first error of a background write is returned
// by the next Add, Flush or Close; the points of a failed batch are not retried again.
type Writer struct {
	c    *Client
	db   string
	coll string
	opt  WriterOptions

	mu       sync.Mutex
	cond     *sync.Cond // signalled when inflight bytes fall or a batch finishes
	cur      *Batch
	started  time.Time
	inflight int64 // bytes
	pending  int   // batches sent, not answered
	err      error
	closed   bool
	stop     chan struct{}
	lingered chan struct{}
	// write sends a batch: Client.Write (a test replaces it)
	write func(ctx context.Context, db string, b *Batch, level Consistency) error
}

// NewWriter returns a Writer of one collection of db.
func (c *Client) NewWriter(db, collection string, opt WriterOptions) *Writer {
	if opt.BatchValues <= 0 {
		opt.BatchValues = 50_000
	}
	if opt.Linger <= 0 {
		opt.Linger = 100 * time.Millisecond
	}
	if opt.MaxInflightBytes <= 0 {
		opt.MaxInflightBytes = 64 << 20
	}
	w := &Writer{c: c, db: db, coll: collection, opt: opt, cur: NewBatch(collection), stop: make(chan struct{}), lingered: make(chan struct{})}
	w.cond = sync.NewCond(&w.mu)
	w.write = c.Write
	go w.linger()
	return w
}

// Add adds one point (Batch.Add); it sends the batch when full, waiting while the bytes in
// flight are at their bound.
func (w *Writer) Add(t time.Time, tags map[string]string, fields map[string]any) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return errors.New("writer closed")
	}
	if w.cur.values == 0 {
		w.started = time.Now()
	}
	if err := w.cur.Add(t, tags, fields); err != nil {
		return err
	}
	if w.cur.values >= w.opt.BatchValues {
		w.sendLocked()
	}
	return w.err
}

// sendLocked sends the current batch in the background; w.mu is held.
func (w *Writer) sendLocked() {
	if w.cur.values == 0 {
		return
	}
	b := w.cur
	w.cur = NewBatch(w.coll)
	size := int64(b.values) * 16 // an estimate: the encoding is about that per value
	for w.inflight > 0 && w.inflight+size > w.opt.MaxInflightBytes && w.err == nil {
		w.cond.Wait()
	}
	w.inflight += size
	w.pending++
	go func() {
		err := w.write(context.Background(), w.db, b, w.opt.Consistency)
		w.mu.Lock()
		w.inflight -= size
		w.pending--
		if err != nil && w.err == nil {
			w.err = err
		}
		w.cond.Broadcast()
		w.mu.Unlock()
	}()
}

// linger sends a batch that has waited Linger.
func (w *Writer) linger() {
	defer close(w.lingered)
	t := time.NewTicker(w.opt.Linger / 2)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
		}
		w.mu.Lock()
		if w.cur.values > 0 && time.Since(w.started) >= w.opt.Linger {
			w.sendLocked()
		}
		w.mu.Unlock()
	}
}

// Flush sends what is batched and waits until every batch sent is answered; it returns the
// first error of any of them.
func (w *Writer) Flush(ctx context.Context) error {
	w.mu.Lock()
	w.sendLocked()
	stopWaiting := context.AfterFunc(ctx, func() {
		w.mu.Lock()
		w.cond.Broadcast()
		w.mu.Unlock()
	})
	defer stopWaiting()
	for w.pending > 0 && ctx.Err() == nil {
		w.cond.Wait()
	}
	err := w.err
	w.mu.Unlock()
	if err == nil {
		err = ctx.Err()
	}
	return err
}

// Close flushes and stops the writer.
func (w *Writer) Close(ctx context.Context) error {
	err := w.Flush(ctx)
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.stop)
	}
	w.mu.Unlock()
	<-w.lingered
	return err
}
