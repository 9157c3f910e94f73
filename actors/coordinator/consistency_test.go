package coordinator

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDecide(t *testing.T) {
	cases := []struct {
		level                  Level
		n, acks, fails, hinted int
		want                   Outcome
	}{
		{One, 3, 0, 0, 0, Pending},
		{One, 3, 1, 0, 0, Met},
		{One, 3, 0, 2, 0, Pending},
		{One, 3, 0, 3, 0, Failed},
		{One, 3, 0, 3, 3, Failed}, // hints do not count for One
		{Quorum, 3, 1, 0, 0, Pending},
		{Quorum, 3, 2, 0, 0, Met},
		{Quorum, 3, 1, 1, 0, Pending},
		{Quorum, 3, 1, 2, 0, Failed},
		{Quorum, 3, 0, 2, 0, Failed},
		{Quorum, 1, 1, 0, 0, Met},
		{Quorum, 2, 1, 0, 0, Pending}, // 2/2+1 = 2
		{Quorum, 2, 1, 1, 0, Failed},
		{Quorum, 5, 3, 2, 0, Met},
		{All, 3, 2, 0, 0, Pending},
		{All, 3, 3, 0, 0, Met},
		{All, 3, 2, 1, 0, Failed},
		{Any, 3, 0, 1, 1, Met}, // one hinted write is enough
		{Any, 3, 0, 2, 0, Pending},
		{Any, 3, 0, 3, 0, Failed},
		{Any, 1, 1, 0, 0, Met},
		{Replicas(2), 3, 2, 0, 0, Met},
		{Replicas(2), 3, 1, 1, 0, Pending},
		{Replicas(2), 3, 1, 2, 0, Failed},
		{Replicas(4), 3, 3, 0, 0, Failed}, // more than the replica set has: never met
		{Replicas(1), 2, 1, 0, 0, Met},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%v/n=%d/acks=%d/fails=%d/hinted=%d", tc.level, tc.n, tc.acks, tc.fails, tc.hinted), func(t *testing.T) {
			require.Equal(t, tc.want, Decide(tc.level, tc.n, tc.acks, tc.fails, tc.hinted))
		})
	}
}

func TestRequired(t *testing.T) {
	want := map[Level][]int{ // index: replicas 0..5
		Any: {0, 1, 1, 1, 1, 1}, One: {0, 1, 1, 1, 1, 1}, Quorum: {1, 1, 2, 2, 3, 3}, All: {0, 1, 2, 3, 4, 5},
		Replicas(2): {2, 2, 2, 2, 2, 2},
	}
	for l, w := range want {
		for n, need := range w {
			require.Equal(t, need, l.Required(n), "%v with %d replicas", l, n)
		}
	}
}

func TestParseLevel(t *testing.T) {
	for s, want := range map[string]Level{"": Quorum, "any": Any, "ONE": One, "quorum": Quorum, "All": All} {
		got, err := ParseLevel(s)
		require.NoError(t, err)
		require.Equal(t, want, got, "%q", s)
		require.NotEqual(t, "CONSISTENCY_UNSPECIFIED", got.Proto().String())
	}
	_, err := ParseLevel("most")
	require.Error(t, err)
	require.Equal(t, "w:3", Replicas(3).String())
	require.Equal(t, "CONSISTENCY_ALL", Replicas(3).Proto().String())
}
