package coordinator

import (
	"context"
	"fmt"
	"time"

	"github.com/chronogo/chronogo/meta"
)

// Hedged opening of a remote read (architecture §9): the first candidate gets the request; when
// it has not answered its first chunk within Config.HedgeDelay, the next one gets it too, and so
// on; a candidate that fails (dead letter, timeout, error chunk) hands over to the next at once.
// The first good answer wins and the losers' cursors are closed when their answers arrive.

// DefaultHedgeDelay is Config.HedgeDelay's default.
const DefaultHedgeDelay = 100 * time.Millisecond

func (c *Client) hedgeDelay() time.Duration {
	if c.cfg.HedgeDelay > 0 {
		return c.cfg.HedgeDelay
	}
	return DefaultHedgeDelay
}

// opening is the answer of one candidate to the opening request.
type opening struct {
	i   int
	st  *remoteStream
	err error
}

// openRemote opens a cursor on one of cands (remote replicas of rs, in order of preference). It
// returns the stream with its first chunk and the winner's index, and the failures by candidate
// index (nil for candidates that did not fail: not asked, still pending, or the winner). st is nil
// when every candidate failed or ctx ended.
func (c *Client) openRemote(ctx context.Context, b meta.Bucket, rs meta.ReplicaSet, cands []candidate, op *readOp) (st *remoteStream, won int, failures []error) {
	failures = make([]error, len(cands))
	answers := make(chan opening, len(cands)) // never blocks a sender
	launched, pending := 0, 0
	launch := func() {
		i := launched
		launched++
		pending++
		s, err := c.newStream(ctx, cands[i], op.request(c, b, rs, cands[i].v))
		if err != nil {
			answers <- opening{i: i, err: err}
			return
		}
		f := s.request(op.deadline, s.req)
		go func() {
			res, err := f.Result()
			if err == nil {
				s.first, err = s.accept(res)
			}
			answers <- opening{i: i, st: s, err: err}
		}()
	}
	// closeLosers closes the cursors of the answers still to come.
	closeLosers := func(n int) {
		if n == 0 {
			return
		}
		c.losers.Add(1)
		go func() {
			defer c.losers.Done()
			for range n {
				if a := <-answers; a.err == nil {
					a.st.close()
				}
			}
		}()
	}
	hedge := time.NewTimer(c.hedgeDelay())
	defer hedge.Stop()
	launch()
	for {
		select {
		case a := <-answers:
			pending--
			if a.err == nil {
				closeLosers(pending)
				return a.st, a.i, failures
			}
			failures[a.i] = fmt.Errorf("vnode %d on node %d: %w", cands[a.i].v.ID, cands[a.i].v.NodeID, a.err)
			c.cfg.Logger.WithError(a.err).WithField("vnode_id", cands[a.i].v.ID).WithField("target_node", cands[a.i].v.NodeID).
				Debug("remote replica failed; trying the next")
			if launched < len(cands) {
				launch()
				hedge.Reset(c.hedgeDelay())
			} else if pending == 0 {
				return nil, -1, failures
			}
		case <-hedge.C:
			if launched < len(cands) {
				launch()
				hedge.Reset(c.hedgeDelay())
			}
		case <-ctx.Done():
			closeLosers(pending)
			for i := range cands {
				if failures[i] == nil {
					failures[i] = fmt.Errorf("vnode %d on node %d: %w", cands[i].v.ID, cands[i].v.NodeID, ctx.Err())
					break
				}
			}
			return nil, -1, failures
		}
	}
}
