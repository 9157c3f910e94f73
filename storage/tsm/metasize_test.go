package tsm

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// TestBlockMetaSize: every open file keeps one BlockMeta per block in memory (hundreds of
// thousands on a loading node), so its size is watched: int and float pre-aggregates share their
// five words (152 bytes when they did not).
func TestBlockMetaSize(t *testing.T) {
	require.LessOrEqual(t, unsafe.Sizeof(BlockMeta{}), uintptr(112))
	require.LessOrEqual(t, unsafe.Sizeof(Agg{}), uintptr(48))
}
