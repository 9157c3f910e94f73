package handoff

// The target actor, handoff/<node id>: the hint queue of one target node.
//
// Owns:       the Queue in <Dir>/<node id>/ and its replay: rounds of up to ReplayBatch hints sent
//             to the target's vnode manager, a backoff timer while the target is unreachable.
// Messages:   lifecycle (Started opens the queue and starts replaying, Stopping and Restarting
//             sync and close it); requests *Hint (appended, then answered with *HintResult after
//             the next syncHints: one fsync per group of hints that arrive together); internal
//             syncHints, replayNext; replies to replayed writes arrive as ReenterAfter
//             continuations, so Receive never waits on the network.
// Supervisor: the handoff manager (default strategy: restart, which reopens the queue).
// Children:   none.
//
// Replay resolves the target's address through Placement.Node on every round (the address may
// change), sends every hint of the round in a messages.Envelope, and waits for all answers: a
// WriteAck OK or a non-retryable error (logged, the hint is skipped) acknowledges the hint; a
// retryable error, a timeout or a dead letter keeps it, and the round's unanswered hints are sent
// again after a backoff of MinBackoff doubling to MaxBackoff. Hints are acknowledged in queue
// order (the longest answered prefix of the round); a crash between a replay and the ack file
// replays a hint twice, which last-write-wins by version makes harmless.

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"
	"google.golang.org/protobuf/proto"

	"github.com/chronogo/chronogo/actors"
	"github.com/chronogo/chronogo/messages"
	"github.com/chronogo/chronogo/storage"
)

// maxQuarantine bounds how many corrupt segments Started sets aside before giving up.
const maxQuarantine = 8

// roundBytes bounds the hint bytes of one replay round.
const roundBytes = 4 << 20

// target is described at the top of this file.
type target struct {
	cfg    Config
	node   uint64
	dir    string
	reg    *registry
	log    logrus.FieldLogger
	q      *Queue
	broken error // why the queue could not be opened; hints are refused

	pending    []*actor.PID // senders of appended hints waiting for the fsync
	syncQueued bool

	round   *round // replay in flight
	retry   *round // the unanswered rest of a failed round, sent again after the backoff
	timer   *time.Timer
	backoff time.Duration
	failing bool // the last round failed (log the outage once)

	handover *handover // a hand-over in progress (handover.go)

	// counters since the actor started (the queue's own start at every open)
	replayed, skipped, refused, expired, corrupt uint64
}

// round is one replay round: entries sent together and their outcomes.
type round struct {
	entries  []Entry
	done     []bool // acknowledged by the target or skipped
	left     int    // answers still to come
	lastErr  error  // the last retryable failure
	handover bool   // a hand-over's round (handover.go)
}

func newTarget(cfg Config, node uint64, reg *registry) *target {
	log := cfg.Logger.WithField("target_node", node)
	if name := nodeName(cfg.Placement, node); name != "" {
		log = log.WithField("target", name) // the node's --node-id, beside its id
	}
	return &target{cfg: cfg, node: node, dir: filepath.Join(cfg.Dir, QueueDirName(node)), reg: reg, backoff: cfg.MinBackoff, log: log}
}

// nodeName is node's --node-id as the placement knows it ("" when it cannot say within 100 ms:
// it runs when a target actor is made, and the placement answers known nodes from its cache).
func nodeName(p actors.Placement, node uint64) string {
	if p == nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	n, err := p.Node(ctx, node)
	if err != nil {
		return ""
	}
	return n.Name
}

// Receive implements actor.Actor.
func (t *target) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		t.open()
		t.publish()
		t.kick(ctx)
	case *actor.Stopping, *actor.Restarting:
		t.close(ctx)
	case *Hint:
		t.hint(ctx, msg)
	case syncHints:
		t.sync(ctx)
	case replayNext:
		t.timer = nil
		t.kick(ctx)
	case *rerouted:
		t.rerouted(ctx, msg)
	case *HandOver:
		t.handOver(ctx)
	}
}

// open opens the queue, setting corrupt segments aside (renamed *.bad) so the rest replays.
func (t *target) open() {
	for range maxQuarantine {
		q, err := OpenQueue(t.dir, t.cfg.queueOptions())
		if err == nil {
			t.q, t.broken = q, nil
			if q.Len() > 0 {
				t.log.WithFields(logrus.Fields{"hints": q.Len(), "bytes": q.Stats().Bytes}).Info("hint queue opened")
			}
			return
		}
		t.broken = err
		var ce *storage.CorruptionError
		if !errors.As(err, &ce) || filepath.Dir(ce.Path) != t.dir || !strings.HasSuffix(ce.Path, SegmentSuffix) {
			break
		}
		t.log.WithFields(logrus.Fields{"segment": ce.Path, "offset": ce.Offset}).WithError(err).
			Error("hint segment corrupt, setting it aside; its hints are lost")
		if rerr := renameBad(ce.Path); rerr != nil {
			t.broken = errors.Join(err, rerr)
			break
		}
	}
	t.log.WithError(t.broken).Error("hint queue unusable, refusing hints")
}

func (t *target) close(ctx actor.Context) {
	if t.timer != nil {
		t.timer.Stop()
		t.timer = nil
	}
	t.endHandOver(ctx, errors.New("the hint queue was closed"))
	if t.q == nil {
		return
	}
	err := t.q.Close()
	for _, p := range t.pending {
		t.reply(ctx, p, err)
	}
	t.pending, t.round, t.retry = nil, nil, nil
	if err != nil {
		t.log.WithError(err).Error("closing hint queue")
	}
	qs := t.q.Stats()
	t.expired, t.corrupt = t.expired+qs.Expired, t.corrupt+qs.Corrupt
	t.q = nil
}

// hint appends a hint; the answer waits for the fsync.
func (t *target) hint(ctx actor.Context, h *Hint) {
	var err error
	switch {
	case t.q == nil:
		err = fmt.Errorf("hint queue for node %d unusable: %w", t.node, t.broken)
	default:
		if h.Request != nil {
			err = t.q.AppendRequest(h.Request, t.cfg.Now())
		} else {
			err = t.q.Append(h.Batch, t.cfg.Now())
		}
	}
	if err != nil {
		t.refused++
		t.publish()
		t.log.WithError(err).Debug("hint refused")
		t.reply(ctx, ctx.Sender(), err)
		return
	}
	t.publish() // at once: the node's stable version must lag while a hint waits
	t.pending = append(t.pending, ctx.Sender())
	if !t.syncQueued {
		t.syncQueued = true
		ctx.Send(ctx.Self(), syncHints{})
	}
}

// sync fsyncs the appended hints and answers their senders.
func (t *target) sync(ctx actor.Context) {
	t.syncQueued = false
	if t.q == nil {
		return
	}
	err := t.q.Sync()
	if err != nil {
		t.log.WithError(err).Error("syncing hint queue")
	}
	t.publish() // before the answers: a sender that reads Stats next sees its hint
	for _, p := range t.pending {
		t.reply(ctx, p, err)
	}
	t.pending = t.pending[:0]
	t.kick(ctx)
}

func (t *target) reply(ctx actor.Context, to *actor.PID, err error) {
	if to != nil {
		ctx.Send(to, &HintResult{Err: err})
	}
}

// kick starts a replay round unless one is in flight or the backoff timer runs.
func (t *target) kick(ctx actor.Context) {
	if t.q == nil || t.round != nil || t.timer != nil || t.q.Len() == 0 {
		return
	}
	r := t.retry
	t.retry = nil
	if r != nil && t.hasExpired(r) {
		r = nil // read it again: the queue drops expired hints
	}
	if r == nil {
		var ok bool
		if r, ok = t.peek(ctx); !ok {
			return
		}
	}
	if t.handover != nil {
		t.handOverRound(ctx, r)
		return
	}
	pid, err := t.resolve()
	if err != nil {
		t.retry = r
		t.retryLater(ctx, err)
		return
	}
	t.round, r.left = r, 0
	for i := range r.entries {
		if !r.done[i] {
			r.left++
		}
	}
	for i, e := range r.entries {
		if r.done[i] {
			continue
		}
		env, err := messages.Wrap(markHinted(e.Message()))
		if err != nil {
			t.answered(ctx, r, i, nil, err)
			continue
		}
		f := ctx.RequestFuture(pid, env, t.cfg.ReplayTimeout)
		ctx.ReenterAfter(f, func(res any, err error) { t.answered(ctx, r, i, res, err) })
	}
}

// markHinted flags a replayed request as a hint, whose version may be older than the vnode
// accepts from fresh requests (actors.TooLate).
func markHinted(m proto.Message) proto.Message {
	switch r := m.(type) {
	case *messages.WriteBatch:
		r.Hinted = true
	case *messages.DeleteRequest:
		r.Hinted = true
	case *messages.RenameRequest:
		r.Hinted = true
	}
	return m
}

// peek reads the next round from the queue.
func (t *target) peek(ctx actor.Context) (*round, bool) {
	entries, err := t.q.Peek(t.cfg.ReplayBatch, roundBytes, t.cfg.Now())
	t.publish()
	if err != nil {
		t.log.WithError(err).Error("reading hints")
		if errors.As(err, new(*storage.CorruptionError)) {
			t.close(ctx) // reopening sets the corrupt segment aside
			t.open()
			if t.q == nil {
				return nil, false
			}
		}
		t.retryLater(ctx, fmt.Errorf("reading hints: %w", err))
		return nil, false
	}
	if len(entries) == 0 {
		return nil, false
	}
	return &round{entries: entries, done: make([]bool, len(entries))}, true
}

// hasExpired reports whether a hint of r still to be sent is older than the hint window.
func (t *target) hasExpired(r *round) bool {
	now := t.cfg.Now()
	for i, e := range r.entries {
		if !r.done[i] && now.Sub(e.EnqueuedAt) > t.cfg.MaxHintWindow {
			return true
		}
	}
	return false
}

// resolve returns the target node's vnode manager.
func (t *target) resolve() (*actor.PID, error) {
	if t.node == t.cfg.NodeID && t.cfg.LocalManager != nil {
		return t.cfg.LocalManager, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), t.cfg.ReplayTimeout)
	defer cancel()
	n, err := t.cfg.Placement.Node(ctx, t.node)
	if err != nil {
		return nil, fmt.Errorf("resolving node %d: %w", t.node, err)
	}
	if n.ActorAddr == "" {
		return nil, fmt.Errorf("node %d has no actor address", t.node)
	}
	return actor.NewPID(n.ActorAddr, actors.ManagerName), nil
}

// answered records the answer to entry i of round r; the last answer finishes the round.
func (t *target) answered(ctx actor.Context, r *round, i int, res any, err error) {
	if r != t.round {
		return // the queue was closed since
	}
	if notPlaced(res, err) {
		t.reroute(ctx, r, i)
		return
	}
	r.left--
	if err == nil {
		err = writeError(res)
	}
	var re *replyError
	switch {
	case err == nil:
		r.done[i] = true
		t.replayed++
	case errors.As(err, &re) && !messages.Retryable(re.code), errors.Is(err, errUnexpectedReply), errors.Is(err, messages.ErrUnknownType):
		r.done[i] = true
		t.skipped++
		fields := logrus.Fields{"vnode_id": r.entries[i].Batch.GetVnodeId(), "bucket_id": r.entries[i].Batch.GetBucketId()}
		if req := r.entries[i].Request; req != nil {
			fields = logrus.Fields{"hint": fmt.Sprintf("%T", req)}
		}
		t.log.WithFields(fields).WithError(err).Error("target refused a replayed hint, dropping it")
	default:
		r.lastErr = err
	}
	if r.left == 0 {
		t.finish(ctx, r)
	}
}

// finish acknowledges the answered prefix of the round and schedules the next one.
func (t *target) finish(ctx actor.Context, r *round) {
	t.round = nil
	n := 0
	for n < len(r.done) && r.done[n] {
		n++
	}
	if err := t.q.Ack(r.entries[:n]); err != nil {
		t.log.WithError(err).Error("acknowledging replayed hints")
		t.retryLater(ctx, err)
		return
	}
	t.publish()
	if n < len(r.done) {
		t.retry = &round{entries: r.entries[n:], done: r.done[n:]}
		switch {
		case r.handover:
			t.endHandOver(ctx, r.lastErr) // replay takes over the rest
		case t.handover != nil:
			ctx.Send(ctx.Self(), replayNext{}) // a replay round failed meanwhile: hand its hints over now
			return
		}
		t.retryLater(ctx, r.lastErr)
		return
	}
	if t.failing {
		t.log.Info("target node reachable again, replaying hints")
	}
	t.failing, t.backoff = false, t.cfg.MinBackoff
	if t.q.Len() == 0 {
		t.log.WithField("replayed", t.replayed).Info("hint queue drained")
		t.endHandOver(ctx, nil)
		return
	}
	ctx.Send(ctx.Self(), replayNext{})
}

// retryLater schedules the next round after the backoff and doubles it.
func (t *target) retryLater(ctx actor.Context, err error) {
	if !t.failing {
		t.log.WithError(err).WithField("hints", t.q.Len()).Info("hint replay failed, retrying with backoff")
	} else {
		t.log.WithError(err).WithField("backoff", t.backoff).Debug("hint replay failed")
	}
	t.failing = true
	self, root := ctx.Self(), ctx.ActorSystem().Root
	t.timer = time.AfterFunc(t.backoff, func() { root.Send(self, replayNext{}) })
	t.backoff = min(2*t.backoff, t.cfg.MaxBackoff)
	t.publish() // the hints to retry are known now: their age shows
}

// publish updates the stats registry.
func (t *target) publish() {
	s := TargetStats{Node: t.node, Replayed: t.replayed, Skipped: t.skipped, Refused: t.refused, Expired: t.expired, Corrupt: t.corrupt}
	if t.q != nil {
		qs := t.q.Stats()
		s.Hints, s.Bytes = qs.Hints, qs.Bytes
		s.Expired += qs.Expired
		s.Corrupt += qs.Corrupt
	}
	// the oldest hint not yet acknowledged: the first one left in the round being sent or retried
	for _, r := range []*round{t.round, t.retry} {
		if r == nil {
			continue
		}
		for i, e := range r.entries {
			if !r.done[i] {
				if s.Oldest.IsZero() || e.EnqueuedAt.Before(s.Oldest) {
					s.Oldest = e.EnqueuedAt
				}
				break
			}
		}
	}
	t.reg.set(s)
}

// reroute hints entry i of r again for its replica set's current vnodes (reroute.go), off the
// actor: the new hints' fsyncs answer through the handoff manager.
func (t *target) reroute(ctx actor.Context, r *round, i int) {
	m := r.entries[i].Message()
	self, root, manager, cfg, node := ctx.Self(), ctx.ActorSystem().Root, ctx.Parent(), t.cfg, t.node
	go func() {
		c, cancel := context.WithTimeout(context.Background(), 4*cfg.ReplayTimeout)
		defer cancel()
		n, err := reroute(c, cfg, root, manager, m, node)
		if err == nil {
			t.log.WithField("hints", n).Warn("the vnode of a hint moved: hinted again for its replica set's current vnodes")
		}
		root.Send(self, &rerouted{r: r, i: i, err: err})
	}()
}

// rerouted finishes entry i of r: done once re-hinted, retried later otherwise.
func (t *target) rerouted(ctx actor.Context, m *rerouted) {
	if m.err != nil {
		t.answered(ctx, m.r, m.i, nil, m.err) // retryable: the round is tried again
		return
	}
	if m.handedOver && t.handover != nil {
		t.handover.n++
	}
	t.answered(ctx, m.r, m.i, &messages.WriteAck{}, nil)
}
