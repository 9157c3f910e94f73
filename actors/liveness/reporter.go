package liveness

import (
	"context"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
)

// reporter hands the watcher's changes to Config.Report from one goroutine, in order, keeping
// only the latest state of each peer and retrying failed reports, so the actor never blocks on
// the meta cluster.
type reporter struct {
	mu      sync.Mutex
	pending map[uint64]bool // peer -> down, not yet reported
	order   []uint64        // peers in the order of their first pending change
	wake    chan struct{}
	done    chan struct{}
	exited  chan struct{}
}

func startReporter(report func(context.Context, uint64, bool) error, retry time.Duration, log logrus.FieldLogger) *reporter {
	r := &reporter{pending: map[uint64]bool{}, wake: make(chan struct{}, 1), done: make(chan struct{}), exited: make(chan struct{})}
	go r.run(report, retry, log)
	return r
}

// send queues the latest state of peer id.
func (r *reporter) send(id uint64, down bool) {
	r.mu.Lock()
	if _, ok := r.pending[id]; !ok {
		r.order = append(r.order, id)
	}
	r.pending[id] = down
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *reporter) run(report func(context.Context, uint64, bool) error, retry time.Duration, log logrus.FieldLogger) {
	defer close(r.exited)
	for {
		select {
		case <-r.done:
			return
		case <-r.wake:
		case <-time.After(retry):
		}
		for {
			r.mu.Lock()
			if len(r.order) == 0 {
				r.mu.Unlock()
				break
			}
			id := r.order[0]
			down := r.pending[id]
			r.mu.Unlock()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err := report(ctx, id, down)
			cancel()
			if err != nil {
				log.WithError(err).WithField("peer_id", id).Warn("liveness: cannot report a peer's state to meta; retrying")
				break
			}
			r.mu.Lock()
			if r.pending[id] == down { // no newer change meanwhile
				delete(r.pending, id)
				r.order = r.order[1:]
			}
			r.mu.Unlock()
		}
	}
}

func (r *reporter) stop() {
	close(r.done)
	<-r.exited
}
