package storage_test

import (
	"fmt"
	"math/rand"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage"
)

// mpoint is a point of the brute-force model; id identifies it (stored as the value).
type mpoint struct {
	t      int64
	v, s   uint64
	id     int64
	src    int // source index (MergeLWW) or position (SortDedup)
	hidden bool
}

// newerModel is last-write-wins with ties broken by the later source or position.
func newerModel(a, b mpoint) bool {
	if a.v != b.v {
		return a.v > b.v
	}
	if a.s != b.s {
		return a.s > b.s
	}
	return a.src > b.src
}

// winners picks, per timestamp, the newest point (brute force, O(n^2)), sorted by time.
func winners(ps []mpoint) []mpoint {
	var out []mpoint
	for i, p := range ps {
		best := true
		for j, q := range ps {
			if i != j && q.t == p.t && newerModel(q, p) {
				best = false
				break
			}
		}
		if best {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b mpoint) int { return int(a.t - b.t) })
	return out
}

func toPoints(ps []mpoint) *storage.Points {
	p := &storage.Points{Values: storage.Values{Type: storage.TypeInt64}}
	for _, m := range ps {
		p.Times = append(p.Times, m.t)
		p.Values.Ints = append(p.Values.Ints, m.id)
		p.Versions = append(p.Versions, m.v)
		p.Seqs = append(p.Seqs, m.s)
	}
	return p
}

func requirePoints(t *testing.T, want []mpoint, got *storage.Points, msg string) {
	t.Helper()
	w := toPoints(want)
	require.Equal(t, len(w.Times), got.Len(), msg)
	require.Equal(t, storage.TypeInt64, got.Values.Type)
	if len(w.Times) == 0 {
		return
	}
	require.Equal(t, w.Times, got.Times, msg)
	require.Equal(t, w.Values.Ints, got.Values.Ints, msg)
	require.Equal(t, w.Versions, got.Versions, msg)
	require.Equal(t, w.Seqs, got.Seqs, msg)
}

func randPoint(r *rand.Rand, timeRange int64) mpoint {
	// Few distinct versions and seqs so that equal (version, seq) pairs are common.
	return mpoint{t: r.Int63n(timeRange) - timeRange/2, v: uint64(r.Intn(3)), s: uint64(r.Intn(3)), id: r.Int63()}
}

func TestSortDedupModel(t *testing.T) {
	r := rand.New(rand.NewSource(10))
	for iter := range 400 {
		n := r.Intn(40)
		ps := make([]mpoint, n)
		for i := range ps {
			ps[i] = randPoint(r, 1+int64(r.Intn(30)))
			ps[i].src = i
		}
		p := toPoints(ps)
		p.SortDedup()
		requirePoints(t, winners(ps), p, fmt.Sprintf("iteration %d", iter))
		require.True(t, p.IsSortedUnique())
	}
}

func TestSortDedupTable(t *testing.T) {
	for _, c := range []struct {
		name string
		in   []mpoint
		want []int64 // ids
	}{
		{"empty", nil, nil},
		{"sorted unique unchanged", []mpoint{{t: 1, id: 1}, {t: 2, id: 2, v: 0}, {t: 5, id: 3}}, []int64{1, 2, 3}},
		{"reverse", []mpoint{{t: 3, id: 1}, {t: 2, id: 2}, {t: 1, id: 3}}, []int64{3, 2, 1}},
		{"higher version wins over position", []mpoint{{t: 1, v: 2, id: 1}, {t: 1, v: 1, s: 9, id: 2}}, []int64{1}},
		{"higher seq wins", []mpoint{{t: 1, v: 1, s: 5, id: 1}, {t: 1, v: 1, s: 4, id: 2}}, []int64{1}},
		{"tie: later position wins", []mpoint{{t: 1, v: 1, s: 1, id: 1}, {t: 0, id: 9}, {t: 1, v: 1, s: 1, id: 2}}, []int64{9, 2}},
		{"tie of three", []mpoint{{t: 4, id: 1}, {t: 4, id: 2}, {t: 4, id: 3}}, []int64{3}},
	} {
		p := toPoints(c.in)
		p.SortDedup()
		var ids []int64
		ids = append(ids, p.Values.Ints...)
		require.Equal(t, c.want, ids, c.name)
	}
}

// genSource makes a source sorted by time with one point per time.
func genSource(r *rand.Rand, src int, timeRange int64) []mpoint {
	var ps []mpoint
	for tm := int64(0); tm < timeRange; tm++ {
		if r.Intn(3) == 0 {
			p := randPoint(r, 1)
			p.t, p.src = tm, src
			ps = append(ps, p)
		}
	}
	return ps
}

func TestMergeLWWModel(t *testing.T) {
	r := rand.New(rand.NewSource(11))
	for iter := range 400 {
		nsrc := r.Intn(5)
		timeRange := int64(1 + r.Intn(25))
		var all []mpoint
		var srcs []*storage.Points
		for k := range nsrc {
			ps := genSource(r, k, timeRange)
			all = append(all, ps...)
			srcs = append(srcs, toPoints(ps))
		}
		// A monotone hide function: per timestamp, hide everything older than a random (version, seq).
		var hide storage.HideFunc
		if r.Intn(3) > 0 {
			cutV := make([]uint64, timeRange)
			cutS := make([]uint64, timeRange)
			for i := range cutV {
				cutV[i], cutS[i] = uint64(r.Intn(4)), uint64(r.Intn(4))
			}
			hide = func(tm int64, v, s uint64) bool { return storage.Newer(cutV[tm], cutS[tm], v, s) }
		}
		var want []mpoint
		for _, w := range winners(all) {
			if hide == nil || !hide(w.t, w.v, w.s) {
				want = append(want, w)
			}
		}
		// dst keeps what it already holds.
		dst := toPoints([]mpoint{{t: -100, id: -1}})
		storage.MergeLWW(dst, srcs, hide)
		requirePoints(t, append([]mpoint{{t: -100, id: -1}}, want...), dst, fmt.Sprintf("merge iteration %d", iter))
	}
}

func TestMergeLWWTies(t *testing.T) {
	a := toPoints([]mpoint{{t: 1, v: 1, s: 1, id: 10}, {t: 2, v: 5, id: 11}, {t: 3, id: 12}})
	b := toPoints([]mpoint{{t: 1, v: 1, s: 1, id: 20}, {t: 2, v: 4, s: 9, id: 21}})
	c := toPoints([]mpoint{{t: 1, v: 1, s: 0, id: 30}, {t: 3, id: 32}})
	var dst storage.Points
	dst.Reset(storage.TypeInt64)
	storage.MergeLWW(&dst, []*storage.Points{a, b, c}, nil)
	// t=1: a and b tie, the later source (b) wins; c is older. t=2: a's version wins. t=3: tie, c wins.
	require.Equal(t, []int64{1, 2, 3}, dst.Times)
	require.Equal(t, []int64{20, 11, 32}, dst.Values.Ints)

	dst.Reset(storage.TypeInt64)
	storage.MergeLWW(&dst, []*storage.Points{a}, func(tm int64, _, _ uint64) bool { return tm == 2 })
	require.Equal(t, []int64{10, 12}, dst.Values.Ints)
	dst.Reset(storage.TypeInt64)
	storage.MergeLWW(&dst, nil, nil)
	require.Zero(t, dst.Len())

	require.True(t, storage.Newer(2, 0, 1, 9))
	require.True(t, storage.Newer(1, 2, 1, 1))
	require.False(t, storage.Newer(1, 1, 1, 1))
	require.False(t, storage.Newer(1, 9, 2, 0))
}
