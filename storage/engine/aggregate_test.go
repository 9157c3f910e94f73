package engine

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSumInts compares sumInts with exact big-integer sums, near and far from overflow.
func TestSumInts(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	gens := []func() int64{
		func() int64 { return rng.Int64N(101) },                // gauges
		func() int64 { return rng.Int64() - math.MaxInt64/2 },  // anything
		func() int64 { return math.MaxInt64 - rng.Int64N(10) }, // near the top
		func() int64 { return math.MinInt64 + rng.Int64N(10) }, // near the bottom
		func() int64 { return []int64{math.MinInt64, 1, -1}[rng.IntN(3)] },
	}
	for i := range 2000 {
		gen := gens[i%len(gens)]
		vs := make([]int64, 1+rng.IntN(1000))
		for j := range vs {
			vs[j] = gen()
		}
		exact, mn, mx := new(big.Int), vs[0], vs[0]
		for _, v := range vs {
			exact.Add(exact, big.NewInt(v))
			mn, mx = min(mn, v), max(mx, v)
		}
		sum, overflow, gmn, gmx := sumInts(vs)
		require.Equal(t, mn, gmn)
		require.Equal(t, mx, gmx)
		if !exact.IsInt64() {
			require.True(t, overflow, "case %d: the sum %s does not fit", i, exact)
			continue
		}
		if !overflow {
			require.Equal(t, exact.Int64(), sum, "case %d", i)
		}
	}
	sum, overflow, _, _ := sumInts([]int64{math.MaxInt64, 1})
	require.True(t, overflow)
	require.Equal(t, int64(math.MinInt64), sum, "wrapped")
}
