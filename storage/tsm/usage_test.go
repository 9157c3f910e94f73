package tsm

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage"
)

// TestUsageAccountsForEveryByte: the parts of a file's usage add up to its size, the points and
// blocks to the index's; a file of constant versions spends nothing on them, one with many
// batches per block spends its version ids.
func TestUsageAccountsForEveryByte(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var cols []column
	for i, typ := range allTypes {
		cols = append(cols, genColumn(rng, Key{Series: storage.SeriesID(i + 1), Field: "v", Type: typ}, 1+rng.IntN(2500)))
	}
	sortColumns(cols)
	path, _ := writeColumns(t, rng, t.TempDir(), cols)
	r, err := Open(path)
	require.NoError(t, err)
	defer r.Close()
	u, err := r.Usage()
	require.NoError(t, err)
	require.Equal(t, r.Info().Size, u.Total())
	require.Equal(t, r.Info().Points, u.Points)
	var blocks int64
	for _, e := range r.Entries() {
		blocks += int64(len(e.Blocks))
	}
	require.Equal(t, blocks, u.Blocks)
	require.Positive(t, u.Values)
	require.Positive(t, u.Versions, "generated columns have per-point versions")
	require.Positive(t, u.Index)

	g, err := Open("testdata/v3/000001.tsm")
	require.NoError(t, err)
	defer g.Close()
	gu, err := g.Usage()
	require.NoError(t, err)
	require.Equal(t, g.Info().Size, gu.Total())
}
