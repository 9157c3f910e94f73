package storage

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFloorDiv(t *testing.T) {
	for _, c := range []struct{ a, b int64 }{{7, 2}, {-7, 2}, {-8, 2}, {0, 5}, {-1, 1000}, {999, 1000}, {-1000, 1000}, {-1001, 1000}} {
		want := int64(math.Floor(float64(c.a) / float64(c.b)))
		require.Equal(t, want, FloorDiv(c.a, c.b), "%d / %d", c.a, c.b)
	}
	require.Equal(t, int64(math.MinInt64/10-1), FloorDiv(math.MinInt64, 10))
}
