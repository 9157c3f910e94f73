package locks

import (
	"fmt"
	"slices"
)

// Queries answered by Lookup.
type (
	// VersionQuery asks for the shard version (uint64).
	VersionQuery struct{}
	// LeaseQuery gets one lease, expired or not (LeaseResult); the caller judges expiry with its clock.
	LeaseQuery struct{ Name string }
	// LeasesQuery lists every lease sorted by name ([]Lease).
	LeasesQuery struct{}
)

// LeaseResult answers LeaseQuery.
type LeaseResult struct {
	Lease Lease
	Found bool
}

// Lookup answers one of the queries above.
func (s *State) Lookup(q any) (any, error) {
	switch q := q.(type) {
	case VersionQuery:
		return s.Version, nil
	case LeaseQuery:
		l, ok := s.Leases[q.Name]
		return LeaseResult{Lease: l, Found: ok}, nil
	case LeasesQuery:
		out := make([]Lease, 0, len(s.Leases))
		for _, l := range s.Leases {
			out = append(out, l)
		}
		slices.SortFunc(out, func(a, b Lease) int {
			switch {
			case a.Name < b.Name:
				return -1
			case a.Name > b.Name:
				return 1
			}
			return 0
		})
		return out, nil
	}
	return nil, fmt.Errorf("locks: unknown query %T", q)
}
