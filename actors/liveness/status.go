package liveness

import (
	"cmp"
	"slices"
	"sync"
	"time"
)

// Peer is what a node knows of one peer.
type Peer struct {
	ID        uint64
	Name      string // the peer's --node-id
	Addr      string // its actor address
	Up        bool
	Since     time.Time // when it went up or down (the watcher's start for a peer never seen down)
	Misses    int       // probes failed in a row
	Restarted int       // restarts seen (a changed start time in its answers)
}

// Status is the shared, concurrent view of the peers that the watcher keeps up to date.
type Status struct {
	mu    sync.RWMutex
	peers map[uint64]Peer
}

func newStatus() *Status { return &Status{peers: map[uint64]Peer{}} }

// Down reports whether peer id is seen down (false for a peer it does not know).
func (s *Status) Down(id uint64) bool {
	if s == nil {
		return false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	p, ok := s.peers[id]
	return ok && !p.Up
}

// Peers lists the known peers by id.
func (s *Status) Peers() []Peer {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Peer, 0, len(s.peers))
	for _, p := range s.peers {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b Peer) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

func (s *Status) set(p Peer) {
	s.mu.Lock()
	s.peers[p.ID] = p
	s.mu.Unlock()
}

func (s *Status) remove(id uint64) {
	s.mu.Lock()
	delete(s.peers, id)
	s.mu.Unlock()
}
