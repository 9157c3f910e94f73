package locks

import (
	"fmt"
	"math"
)

// State holds every lease. encoding/json sorts the map keys, so the snapshot is canonical.
type State struct {
	// Version counts mutations.
	Version uint64 `json:"version"`
	// LastToken is the last fencing token granted; tokens are never reused, even across locks.
	LastToken uint64           `json:"last_token"`
	Leases    map[string]Lease `json:"leases"`
}

// New returns an empty lock table.
func New() *State {
	return &State{Leases: map[string]Lease{}}
}

// Apply applies one command to s and returns its outcome. It is deterministic: expiry compares
// against the command's Now, never a clock. Every command that changes s bumps s.Version.
func Apply(s *State, c Command) Result {
	r := apply(s, c)
	r.Version = s.Version
	return r
}

// apply validates and dispatches.
func apply(s *State, c Command) Result {
	if c.Name == "" || c.Holder == "" {
		return invalid("lock name or holder is empty")
	}
	if (c.Op == OpAcquire || c.Op == OpRenew) && c.TTL <= 0 {
		return invalid("ttl %d; want > 0", c.TTL)
	}
	switch c.Op {
	case OpAcquire:
		return acquire(s, c)
	case OpRenew:
		return renew(s, c)
	case OpRelease:
		return release(s, c)
	}
	return invalid("unknown op %q", c.Op)
}

// invalid builds a CodeInvalid result.
func invalid(format string, args ...any) Result {
	return Result{Code: CodeInvalid, Message: fmt.Sprintf(format, args...)}
}

// expiry is now+ttl, saturating.
func expiry(now, ttl int64) int64 {
	if now > math.MaxInt64-ttl {
		return math.MaxInt64
	}
	return now + ttl
}

// acquire grants a free or expired lease with a new token. The current holder acquiring again
// extends its lease and keeps its token, which makes a retried proposal harmless.
func acquire(s *State, c Command) Result {
	l, ok := s.Leases[c.Name]
	if ok && c.Now < l.ExpiresAt {
		if l.Holder != c.Holder {
			return Result{Code: CodeHeld, Lease: &l}
		}
		l.ExpiresAt = expiry(c.Now, c.TTL)
		s.Leases[c.Name] = l
		s.Version++
		return Result{Code: CodeGranted, Lease: &l}
	}
	s.LastToken++
	l = Lease{Name: c.Name, Holder: c.Holder, Token: s.LastToken, AcquiredAt: c.Now, ExpiresAt: expiry(c.Now, c.TTL)}
	s.Leases[c.Name] = l
	s.Version++
	return Result{Code: CodeGranted, Lease: &l}
}

// heldBy returns the lease c names when c's (Holder, Token) own it, else the refusal.
func heldBy(s *State, c Command) (Lease, *Result) {
	l, ok := s.Leases[c.Name]
	switch {
	case !ok:
		return l, &Result{Code: CodeNotFound}
	case l.Holder != c.Holder || l.Token != c.Token:
		return l, &Result{Code: CodeNotHolder, Lease: &l}
	}
	return l, nil
}

// renew extends an unexpired lease held by (Holder, Token).
func renew(s *State, c Command) Result {
	l, refused := heldBy(s, c)
	switch {
	case refused != nil:
		return *refused
	case c.Now >= l.ExpiresAt:
		return Result{Code: CodeExpired, Lease: &l}
	}
	l.ExpiresAt = expiry(c.Now, c.TTL)
	s.Leases[c.Name] = l
	s.Version++
	return Result{Code: CodeOK, Lease: &l}
}

// release deletes a lease held by (Holder, Token), expired or not.
func release(s *State, c Command) Result {
	l, refused := heldBy(s, c)
	if refused != nil {
		return *refused
	}
	delete(s.Leases, c.Name)
	s.Version++
	return Result{Code: CodeOK, Lease: &l}
}
