package tsm

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage"
)

// TestUsageAccountsForEveryByte: the parts of a file's usage add up to its size, the points and
// blocks to the index's; a file of constant versions spends nothing on them, one with many
// batches per block spends its version ids.
func TestUsageAccountsForEveryByte(t *testing.T) {
	r, _, _ := openEveryType(t, rand.New(rand.NewPCG(5, 6)), 2500)
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

// TestReadBlocksMatchesReadBlock: reading a column's blocks in runs gives exactly what reading
// them one by one gives, with and without versions, for all of them and for a subset with gaps;
// a damaged block fails with its own offset.
func TestReadBlocksMatchesReadBlock(t *testing.T) {
	r, path, _ := openEveryType(t, rand.New(rand.NewPCG(7, 8)), 5000)
	for _, e := range r.Entries() {
		subsets := [][]BlockMeta{e.Blocks}
		if len(e.Blocks) > 2 {
			subsets = append(subsets, []BlockMeta{e.Blocks[0], e.Blocks[2]}) // not adjacent
		}
		for _, ms := range subsets {
			for _, versions := range []bool{true, false} {
				var got, want []string
				var b, one Block
				require.NoError(t, r.ReadBlocks(ms, e.Key.Type, versions, &b, func(m *BlockMeta, b *Block) error {
					got = append(got, fmt.Sprint(m.Offset, b.Times, b.Versions, b.Seqs, b.Values))
					return nil
				}))
				for _, m := range ms {
					if versions {
						require.NoError(t, r.ReadBlock(m, e.Key.Type, &one))
					} else {
						require.NoError(t, r.ReadBlockValues(m, e.Key.Type, &one))
					}
					want = append(want, fmt.Sprint(m.Offset, one.Times, one.Versions, one.Seqs, one.Values))
				}
				require.Equal(t, want, got)
			}
		}
	}
	// Damage the second block of a multi-block key: the run fails naming that block's offset.
	for _, e := range r.Entries() {
		if len(e.Blocks) < 2 {
			continue
		}
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		data[e.Blocks[1].Offset+1] ^= 0xff
		bad := filepath.Join(t.TempDir(), "bad.tsm")
		require.NoError(t, os.WriteFile(bad, data, 0o644))
		br, err := Open(bad)
		require.NoError(t, err)
		var b Block
		err = br.ReadBlocks(e.Blocks, e.Key.Type, true, &b, func(*BlockMeta, *Block) error { return nil })
		var ce *storage.CorruptionError
		require.ErrorAs(t, err, &ce)
		require.Equal(t, e.Blocks[1].Offset, ce.Offset)
		require.NoError(t, br.Close())
		break
	}
}
