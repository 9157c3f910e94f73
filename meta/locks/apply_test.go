package locks

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestApply(t *testing.T) {
	// seed: "a" granted to h1 with token 1 until 100
	seed := Command{Op: OpAcquire, Name: "a", Holder: "h1", TTL: 90, Now: 10}
	cases := []struct {
		name   string
		cmd    Command
		code   Code
		lease  *Lease // expected lease in the result (nil: none)
		bumped bool
	}{
		{"acquire free", Command{Op: OpAcquire, Name: "b", Holder: "h2", TTL: 5, Now: 50}, CodeGranted,
			&Lease{Name: "b", Holder: "h2", Token: 2, AcquiredAt: 50, ExpiresAt: 55}, true},
		{"acquire held by other", Command{Op: OpAcquire, Name: "a", Holder: "h2", TTL: 5, Now: 99}, CodeHeld,
			&Lease{Name: "a", Holder: "h1", Token: 1, AcquiredAt: 10, ExpiresAt: 100}, false},
		{"acquire expired by other", Command{Op: OpAcquire, Name: "a", Holder: "h2", TTL: 5, Now: 100}, CodeGranted,
			&Lease{Name: "a", Holder: "h2", Token: 2, AcquiredAt: 100, ExpiresAt: 105}, true},
		{"reacquire by holder keeps token", Command{Op: OpAcquire, Name: "a", Holder: "h1", TTL: 50, Now: 60}, CodeGranted,
			&Lease{Name: "a", Holder: "h1", Token: 1, AcquiredAt: 10, ExpiresAt: 110}, true},
		{"reacquire expired by holder gets new token", Command{Op: OpAcquire, Name: "a", Holder: "h1", TTL: 5, Now: 200}, CodeGranted,
			&Lease{Name: "a", Holder: "h1", Token: 2, AcquiredAt: 200, ExpiresAt: 205}, true},
		{"acquire saturates expiry", Command{Op: OpAcquire, Name: "b", Holder: "h", TTL: math.MaxInt64, Now: 5}, CodeGranted,
			&Lease{Name: "b", Holder: "h", Token: 2, AcquiredAt: 5, ExpiresAt: math.MaxInt64}, true},
		{"renew", Command{Op: OpRenew, Name: "a", Holder: "h1", Token: 1, TTL: 100, Now: 50}, CodeOK,
			&Lease{Name: "a", Holder: "h1", Token: 1, AcquiredAt: 10, ExpiresAt: 150}, true},
		{"renew wrong token", Command{Op: OpRenew, Name: "a", Holder: "h1", Token: 7, TTL: 100, Now: 50}, CodeNotHolder,
			&Lease{Name: "a", Holder: "h1", Token: 1, AcquiredAt: 10, ExpiresAt: 100}, false},
		{"renew wrong holder", Command{Op: OpRenew, Name: "a", Holder: "h2", Token: 1, TTL: 100, Now: 50}, CodeNotHolder,
			&Lease{Name: "a", Holder: "h1", Token: 1, AcquiredAt: 10, ExpiresAt: 100}, false},
		{"renew expired", Command{Op: OpRenew, Name: "a", Holder: "h1", Token: 1, TTL: 100, Now: 100}, CodeExpired,
			&Lease{Name: "a", Holder: "h1", Token: 1, AcquiredAt: 10, ExpiresAt: 100}, false},
		{"renew missing", Command{Op: OpRenew, Name: "zz", Holder: "h1", Token: 1, TTL: 1, Now: 1}, CodeNotFound, nil, false},
		{"release", Command{Op: OpRelease, Name: "a", Holder: "h1", Token: 1, Now: 500}, CodeOK,
			&Lease{Name: "a", Holder: "h1", Token: 1, AcquiredAt: 10, ExpiresAt: 100}, true},
		{"release wrong token", Command{Op: OpRelease, Name: "a", Holder: "h1", Token: 2}, CodeNotHolder,
			&Lease{Name: "a", Holder: "h1", Token: 1, AcquiredAt: 10, ExpiresAt: 100}, false},
		{"release missing", Command{Op: OpRelease, Name: "zz", Holder: "h1"}, CodeNotFound, nil, false},
		{"zero ttl", Command{Op: OpAcquire, Name: "b", Holder: "h", Now: 1}, CodeInvalid, nil, false},
		{"no holder", Command{Op: OpAcquire, Name: "b", TTL: 1}, CodeInvalid, nil, false},
		{"unknown op", Command{Op: "x", Name: "b", Holder: "h"}, CodeInvalid, nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := New()
			require.Equal(t, CodeGranted, Apply(s, seed).Code)
			r := Apply(s, tc.cmd)
			require.Equal(t, tc.code, r.Code, r.Message)
			require.Equal(t, tc.lease, r.Lease)
			want := uint64(1)
			if tc.bumped {
				want++
			}
			require.Equal(t, want, s.Version)
		})
	}
}

func TestTokensIncreaseAcrossGrants(t *testing.T) {
	s := New()
	var last uint64
	for i := range 10 {
		name := []string{"x", "y"}[i%2]
		r := Apply(s, Command{Op: OpAcquire, Name: name, Holder: "h", TTL: 1, Now: int64(i * 10)})
		require.Equal(t, CodeGranted, r.Code)
		require.Greater(t, r.Lease.Token, last)
		last = r.Lease.Token
	}
	v, _ := s.Lookup(LeasesQuery{})
	ls := v.([]Lease)
	require.Equal(t, []string{"x", "y"}, []string{ls[0].Name, ls[1].Name})
	v, _ = s.Lookup(LeaseQuery{Name: "y"})
	require.Equal(t, LeaseResult{Lease: Lease{Name: "y", Holder: "h", Token: 10, AcquiredAt: 90, ExpiresAt: 91}, Found: true}, v)
}
