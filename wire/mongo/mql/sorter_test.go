package mql

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/wire/mongoerr"
)

// sortInput makes n documents {k: <0..keys-1>, i: <input position>, pad: <string>}.
func sortInput(t *testing.T, n, keys, pad int, seed uint64) []bson.Raw {
	r := rand.New(rand.NewPCG(seed, 1))
	out := make([]bson.Raw, n)
	for i := range out {
		d, err := bson.Marshal(bson.D{{Key: "k", Value: int32(r.IntN(keys))}, {Key: "i", Value: int32(i)},
			{Key: "pad", Value: string(make([]byte, r.IntN(pad+1)))}})
		require.NoError(t, err)
		out[i] = d
	}
	return out
}

// modelSort is the reference: a stable sort of the input positions by k, cut to limit.
func modelSort(docs []bson.Raw, desc bool, limit int) []int32 {
	idx := make([]int32, len(docs))
	for i := range idx {
		idx[i] = int32(i)
	}
	key := func(i int32) int32 { return docs[i].Lookup("k").Int32() }
	slices.SortStableFunc(idx, func(a, b int32) int {
		if desc {
			return int(key(b)) - int(key(a))
		}
		return int(key(a)) - int(key(b))
	})
	if limit > 0 && len(idx) > limit {
		idx = idx[:limit]
	}
	return idx
}

func runSorter(t *testing.T, x *Sorter, docs []bson.Raw) ([]int32, error) {
	for _, d := range docs {
		if err := x.Add(d); err != nil {
			return nil, err
		}
	}
	var got []int32
	err := x.Iterate(func(d []byte) error {
		got = append(got, bson.Raw(d).Lookup("i").Int32())
		return nil
	})
	return got, err
}

func TestSorterMatchesStableSort(t *testing.T) {
	cases := []struct {
		n, keys, pad int
		memory       int64
		limit        int
		desc, spill  bool
	}{
		{n: 0, keys: 1, memory: 1 << 20},
		{n: 1000, keys: 10, pad: 50, memory: 1 << 20},
		{n: 1000, keys: 10, pad: 50, memory: 1 << 20, desc: true},
		{n: 5000, keys: 50, pad: 200, memory: 64 << 10, spill: true},              // ~10 runs
		{n: 20000, keys: 7, pad: 100, memory: 8 << 10, spill: true, desc: true},   // > maxOpenRuns: runs merged
		{n: 20000, keys: 1000, pad: 100, memory: 8 << 10, spill: true, limit: 37}, // top-k beside spills
		{n: 20000, keys: 3, pad: 20, memory: 1 << 20, limit: 5},                   // top-k in memory
		{n: 3000, keys: 3000, pad: 3000, memory: 1 << 30, spill: true},            // > sortKeepInMemory: written out
	}
	for i, c := range cases {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			docs := sortInput(t, c.n, c.keys, c.pad, uint64(i))
			spec := `{"k": 1}`
			if c.desc {
				spec = `{"k": -1}`
			}
			s, err := CompileSort(doc(t, spec))
			require.NoError(t, err)
			dir := t.TempDir()
			lim := SortLimits{Memory: c.memory}
			if c.spill {
				lim.TempDir = dir
			}
			x := NewSorter(s, int64(c.limit), lim)
			defer x.Close()
			for _, d := range docs {
				require.NoError(t, x.Add(d))
				require.LessOrEqual(t, x.bytes, c.memory+int64(len(d))+200, "the buffer stays within the memory limit")
				require.LessOrEqual(t, len(x.runs), maxOpenRuns)
			}
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			require.Empty(t, entries, "runs are unlinked at once")
			var got []int32
			require.NoError(t, x.Iterate(func(d []byte) error {
				got = append(got, bson.Raw(d).Lookup("i").Int32())
				return nil
			}))
			want := modelSort(docs, c.desc, c.limit)
			if len(want) == 0 {
				require.Empty(t, got)
			} else {
				require.Equal(t, want, got)
			}
		})
	}
}

func TestSorterWithoutDiskFailsPastMemory(t *testing.T) {
	s, err := CompileSort(doc(t, `{"k": 1}`))
	require.NoError(t, err)
	x := NewSorter(s, 0, SortLimits{Memory: 10 << 10})
	defer x.Close()
	_, err = runSorter(t, x, sortInput(t, 1000, 5, 100, 1))
	var me *mongoerr.Error
	require.True(t, errors.As(err, &me), "%v", err)
	require.Equal(t, mongoerr.QueryExceededMemoryLimitNoDiskUseAllowed, me.Code)
	require.Contains(t, me.Msg, "did not opt in to external sorting")

	// a top-k sort of few documents needs little memory, so it succeeds without disk
	y := NewSorter(s, 3, SortLimits{Memory: 10 << 10})
	defer y.Close()
	got, err := runSorter(t, y, sortInput(t, 1000, 5, 100, 1))
	require.NoError(t, err)
	require.Len(t, got, 3)
}

func TestSorterDetectsDamagedRun(t *testing.T) {
	s, err := CompileSort(doc(t, `{"k": 1}`))
	require.NoError(t, err)
	for _, at := range []int64{0, 4, 9, 300} { // length, checksum, document bytes
		x := NewSorter(s, 0, SortLimits{Memory: 16 << 10, TempDir: t.TempDir()})
		for _, d := range sortInput(t, 2000, 10, 50, 2) {
			require.NoError(t, x.Add(d))
		}
		require.NotEmpty(t, x.runs)
		_, err := x.runs[0].f.WriteAt([]byte{0xA5, 0x5A}, at)
		require.NoError(t, err)
		err = x.Iterate(func([]byte) error { return nil })
		var me *mongoerr.Error
		require.True(t, errors.As(err, &me), "damage at %d: %v", at, err)
		require.Equal(t, mongoerr.InternalError, me.Code)
		require.Regexp(t, `sort run .*sort-.*\.run damaged at offset \d+`, me.Msg)
		x.Close()
	}
}

func TestSpillErrorOfFullDisk(t *testing.T) {
	var me *mongoerr.Error
	require.True(t, errors.As(spillErr("write sort run", fmt.Errorf("write: %w", syscall.ENOSPC)), &me))
	require.Equal(t, mongoerr.OutOfDiskSpace, me.Code)
	require.True(t, errors.As(spillErr("write sort run", syscall.EIO), &me))
	require.Equal(t, mongoerr.InternalError, me.Code)

	s, err := CompileSort(doc(t, `{"k": 1}`))
	require.NoError(t, err)
	x := NewSorter(s, 0, SortLimits{Memory: 1 << 10, TempDir: "/nonexistent/dir"})
	defer x.Close()
	_, err = runSorter(t, x, sortInput(t, 100, 5, 100, 1))
	require.ErrorContains(t, err, "create sort run")
}

func TestPipelineSortThenLimitIsTopK(t *testing.T) {
	p, err := CompilePipeline([]bson.Raw{doc(t, `{"$sort": {"k": -1}}`), doc(t, `{"$limit": 4}`)},
		PipelineOptions{Sort: SortLimits{Memory: 4 << 10}}) // no disk: only a top-k sort fits
	require.NoError(t, err)
	docs := sortInput(t, 5000, 100, 100, 3)
	var got []int32
	err = p.Run(func(yield func(bson.Raw) error) error {
		for _, d := range docs {
			if err := yield(d); err != nil {
				return err
			}
		}
		return nil
	}, func(d bson.Raw) error {
		got = append(got, d.Lookup("i").Int32())
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, modelSort(docs, true, 4), got)
}

func BenchmarkSorterSpill(b *testing.B) {
	s, _ := CompileSort(bson.Raw(bsonDoc("k", 1)))
	docs := make([][]byte, 100000)
	r := rand.New(rand.NewPCG(1, 1))
	for i := range docs {
		docs[i], _ = bson.Marshal(bson.D{{Key: "k", Value: r.Int64()}, {Key: "v", Value: r.Float64()}, {Key: "host", Value: "host_123"}})
	}
	dir := b.TempDir()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		x := NewSorter(s, 0, SortLimits{Memory: 1 << 20, TempDir: dir})
		for _, d := range docs {
			_ = x.Add(d)
		}
		_ = x.Iterate(func([]byte) error { return nil })
		x.Close()
	}
	b.ReportMetric(float64(len(docs))*float64(b.N)/b.Elapsed().Seconds(), "docs/s")
}

func bsonDoc(k string, v int32) []byte {
	d, _ := bson.Marshal(bson.D{{Key: k, Value: v}})
	return d
}
