package lineproto

import "github.com/chronogo/chronogo/storage"

// slab hands out the growing columns of one request's batches from a few large arrays, so parsing
// costs a handful of allocations per request instead of several per series and field (a column
// of five values grew through four arrays before). Outgrown pieces stay in the slab until the
// batches are dropped: at most as much again as the columns hold.
type slab struct {
	times, ints []int64
	floats      []float64
	rows        []uint32
	fields      []storage.FieldColumn
}

// slabChunk is the elements of each fresh array of a slab.
const slabChunk = 4096

// grow returns a copy of s with room for at least one more element, carved from *pool (a fresh
// chunk when it has too little left). The copy's capacity ends where its piece does, so appends
// past it reallocate instead of writing into a neighbour's piece.
func grow[T any](pool *[]T, s []T) []T { return growTo(pool, s, max(8, 2*cap(s))) }

// growTo is grow to a capacity of want (> len(s)).
func growTo[T any](pool *[]T, s []T, want int) []T {
	if cap(*pool)-len(*pool) < want {
		*pool = make([]T, 0, max(slabChunk, want))
	}
	p := *pool
	start := len(p)
	out := p[start : start+len(s) : start+want]
	copy(out, s)
	*pool = p[:start+want]
	return out
}

// appendTo appends v to s, growing s through the slab pool.
func appendTo[T any](pool *[]T, s []T, v T) []T {
	if len(s) == cap(s) {
		s = grow(pool, s)
	}
	return append(s, v)
}
