package main

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/wire/httpapi"
)

// TestPickTarget: a drained vnode goes to an up data node outside its replica set, in a zone
// the rest of the set does not use when there is one, then to the node with the fewest vnodes,
// then the lowest id; down, draining and meta nodes never get it.
func TestPickTarget(t *testing.T) {
	nodes := []httpapi.NodeInfo{
		{ID: 1, Name: "d1", Role: "dnode", HTTPAddr: "a", Zone: "z1"},
		{ID: 2, Name: "d2", Role: "dnode", HTTPAddr: "a", Zone: "z2"},
		{ID: 3, Name: "d3", Role: "dnode", HTTPAddr: "a", Zone: "z1"},
		{ID: 4, Name: "d4", Role: "dnode", HTTPAddr: "a", Zone: "z2"},
		{ID: 5, Name: "d5", Role: "dnode", HTTPAddr: "a", Zone: "z3", DownSince: "2026-01-01T00:00:00Z"},
		{ID: 6, Name: "d6", Role: "dnode", HTTPAddr: "a", Zone: "z3", Draining: true},
		{ID: 7, Name: "m1", Role: "mnode", HTTPAddr: "a", Zone: "z3"},
		{ID: 8, Name: "d8", Role: "dnode", HTTPAddr: "a", Zone: "z1", Seen: "down"},
	}
	set := func(ids ...uint64) httpapi.ReplicaSetInfo {
		rs := httpapi.ReplicaSetInfo{ID: 100}
		for _, id := range ids {
			rs.Vnodes = append(rs.Vnodes, httpapi.VnodeInfo{ID: 1000 + id, Node: id})
		}
		return rs
	}
	cases := []struct {
		name string
		rs   httpapi.ReplicaSetInfo
		from uint64
		load map[uint64]int
		want uint64 // 0: none
	}{
		{"another zone than the rest of the set", set(1, 2), 1, map[uint64]int{3: 0, 4: 0}, 3},
		{"the fewest vnodes within the free zones", set(1, 3), 1, map[uint64]int{2: 5, 4: 1}, 4},
		{"lowest id on a tie", set(1, 3), 1, map[uint64]int{2: 1, 4: 1}, 2},
		{"zone before load", set(2, 4, 1), 1, map[uint64]int{3: 9}, 3},
		{"no node outside the set", set(1, 2, 3, 4), 1, nil, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := pickTarget(nodes, c.rs, c.from, c.load)
			if c.want == 0 {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, c.want, got.ID)
		})
	}
}
