package liveness

// The liveness watcher actor, named actors.LivenessName, one per node.
//
// Owns:       the view of every peer (Status) and the watches and probes that keep it.
// Messages:   tick (every Config.Interval: refresh the peer list, probe each peer, watch the ones
//             that answer); *actor.Terminated of a watched peer's watcher (down at once when its
//             address was lost or it stopped); an Envelope holding a peer's Ping (answered with a
//             Pong). Probe answers arrive as ReenterAfter continuations.
// Supervisor: the root guardian (default strategy: restart; the view is rebuilt by the probes).
// Children:   none.

import (
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"

	"github.com/chronogo/chronogo/actors"
	"github.com/chronogo/chronogo/messages"
	"github.com/chronogo/chronogo/meta"
)

// tick starts a round of probes.
type tick struct{}

// peerState is the watcher's own bookkeeping of one peer besides its Peer.
type peerState struct {
	Peer
	pid      *actor.PID
	watching bool
	probing  bool
	started  int64 // the peer's start time from its last Pong
}

// watcher is described at the top of this file.
type watcher struct {
	cfg     Config
	status  *Status
	report  func(id uint64, down bool)
	log     logrus.FieldLogger
	started int64
	peers   map[uint64]*peerState
	stop    chan struct{}
}

// Receive implements actor.Actor.
func (w *watcher) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		w.peers = map[uint64]*peerState{}
		w.stop = make(chan struct{})
		go w.ticker(ctx.ActorSystem().Root, ctx.Self())
	case *actor.Stopping, *actor.Restarting:
		close(w.stop)
	case tick:
		w.round(ctx)
	case *actor.Terminated:
		w.terminated(ctx, m)
	case *messages.Envelope:
		w.answerPing(ctx, m)
	}
}

// ticker sends tick every Interval until the actor stops.
func (w *watcher) ticker(root *actor.RootContext, self *actor.PID) {
	t := time.NewTicker(w.cfg.Interval)
	defer t.Stop()
	root.Send(self, tick{})
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
			root.Send(self, tick{})
		}
	}
}

// round refreshes the peer list and probes every peer not already being probed.
func (w *watcher) round(ctx actor.Context) {
	seen := map[uint64]bool{}
	for _, n := range w.cfg.Peers() {
		if n.ID == w.cfg.NodeID || n.ActorAddr == "" || n.Role == "mnode" {
			continue
		}
		seen[n.ID] = true
		p := w.peers[n.ID]
		if p == nil || p.Addr != n.ActorAddr {
			if p != nil && p.watching {
				ctx.Unwatch(p.pid)
			}
			p = &peerState{Peer: Peer{ID: n.ID, Name: nodeName(n), Addr: n.ActorAddr, Up: true, Since: time.Now()},
				pid: actor.NewPID(n.ActorAddr, actors.LivenessName)}
			w.peers[n.ID] = p
			w.status.set(p.Peer)
		}
		if !p.probing {
			w.probe(ctx, p)
		}
	}
	for id, p := range w.peers {
		if !seen[id] {
			if p.watching {
				ctx.Unwatch(p.pid)
			}
			delete(w.peers, id)
			w.status.remove(id)
		}
	}
}

// probe sends p a Ping; the answer (or its absence within ProbeTimeout) updates p.
func (w *watcher) probe(ctx actor.Context, p *peerState) {
	env, err := messages.Wrap(&messages.Ping{FromNode: w.cfg.NodeID, Version: w.cfg.Clock.Now()})
	if err != nil {
		w.log.WithError(err).Error("liveness: cannot wrap a ping")
		return
	}
	p.probing = true
	f := ctx.RequestFuture(p.pid, env, w.cfg.ProbeTimeout)
	ctx.ReenterAfter(f, func(res any, err error) {
		p.probing = false
		if w.peers[p.ID] != p {
			return // forgotten meanwhile
		}
		pong, err := pongOf(res, err)
		if err != nil {
			p.Misses++
			if p.Up && p.Misses >= w.cfg.Misses {
				w.change(p, false, fmt.Sprintf("%d probes failed in a row: %v", p.Misses, err))
			}
			w.status.set(p.Peer)
			return
		}
		w.cfg.Clock.Observe(pong.GetVersion())
		p.Misses = 0
		if p.started != 0 && pong.GetStartedUnixMs() != p.started {
			p.Restarted++
			w.log.WithField("peer", p.Name).Info("liveness: peer restarted")
		}
		p.started = pong.GetStartedUnixMs()
		if !p.Up {
			w.change(p, true, "it answers again")
		}
		if !p.watching {
			// a lost connection to it now reaches this actor as Terminated at once
			ctx.Watch(p.pid)
			p.watching = true
		}
		w.status.set(p.Peer)
	})
}

// terminated handles the end of a watch: the peer's address was lost or its watcher stopped
// (the node is shutting down) means down now; the next answered probe brings it back up.
func (w *watcher) terminated(ctx actor.Context, m *actor.Terminated) {
	for _, p := range w.peers {
		if !p.pid.Equal(m.Who) {
			continue
		}
		p.watching = false
		switch m.Why {
		case actor.TerminatedReason_AddressTerminated, actor.TerminatedReason_Stopped:
			if p.Up {
				w.change(p, false, "connection lost ("+m.Why.String()+")")
				w.status.set(p.Peer)
			}
		default:
			w.log.WithFields(logrus.Fields{"peer": p.Name, "reason": m.Why.String()}).Warn("liveness: the peer has no watcher to watch")
		}
		return
	}
}

// change marks p up or down, logs it and reports it.
func (w *watcher) change(p *peerState, up bool, why string) {
	p.Up, p.Since = up, time.Now()
	entry := w.log.WithFields(logrus.Fields{"peer": p.Name, "peer_addr": p.Addr, "why": why})
	if up {
		entry.Info("liveness: peer is up")
	} else {
		entry.Warn("liveness: peer is down")
	}
	if w.report != nil {
		w.report(p.ID, !up)
	}
}

// answerPing answers a peer's probe with this node's id, clock and start time.
func (w *watcher) answerPing(ctx actor.Context, env *messages.Envelope) {
	msg, err := env.Open()
	if err != nil {
		ctx.Respond(messages.ErrorFor(err))
		return
	}
	ping, ok := msg.(*messages.Ping)
	if !ok {
		ctx.Respond(messages.ErrorFor(fmt.Errorf("liveness: unexpected %T", msg)))
		return
	}
	w.cfg.Clock.Observe(ping.GetVersion())
	reply, err := messages.Wrap(&messages.Pong{NodeId: w.cfg.NodeID, Version: w.cfg.Clock.Now(), StartedUnixMs: w.started})
	if err != nil {
		ctx.Respond(messages.ErrorFor(err))
		return
	}
	ctx.Respond(reply)
}

// pongOf is the Pong of a probe's answer.
func pongOf(res any, err error) (*messages.Pong, error) {
	if err != nil {
		return nil, err
	}
	msg, err := messages.Unwrap(res)
	if err != nil {
		return nil, err
	}
	pong, ok := msg.(*messages.Pong)
	if !ok {
		return nil, fmt.Errorf("liveness: answer %T to a ping", msg)
	}
	return pong, nil
}

// nodeName is a node's --node-id, or its numeric id.
func nodeName(n meta.Node) string {
	if n.Name != "" {
		return n.Name
	}
	return fmt.Sprint(n.ID)
}
