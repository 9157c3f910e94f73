package compaction_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/compaction"
	"github.com/chronogo/chronogo/storage/summary"
	"github.com/chronogo/chronogo/storage/tsm"
)

// pt is one point of the model; val is the int64 value (float and string columns derive theirs from it).
type pt struct {
	t       int64
	val     int64
	version uint64
	seq     uint64
	src     int
}

type fileModel map[tsm.Key][]pt // per key, sorted by time, one point per time

func valuesOf(typ storage.FieldType, ps []pt) storage.Values {
	v := storage.Values{Type: typ}
	for _, p := range ps {
		switch typ.Class() {
		case storage.ClassFloat:
			v.Floats = append(v.Floats, float64(p.val)/4)
		case storage.ClassInt:
			v.Ints = append(v.Ints, p.val)
		case storage.ClassBytes:
			v.Bytes = append(v.Bytes, []byte(fmt.Sprintf("s%d", p.val)))
		}
	}
	return v
}

func writeTSM(t *testing.T, path string, m fileModel) summary.FileMeta {
	t.Helper()
	w, err := tsm.NewWriter(path, tsm.WriterOptions{})
	require.NoError(t, err)
	keys := make([]tsm.Key, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, tsm.CompareKeys)
	for _, k := range keys {
		ps := m[k]
		var times []int64
		var vs, ss []uint64
		for _, p := range ps {
			times, vs, ss = append(times, p.t), append(vs, p.version), append(ss, p.seq)
		}
		vals := valuesOf(k.Type, ps)
		require.NoError(t, w.WriteColumn(k, times, &vals, vs, ss))
	}
	info, err := w.Finish()
	require.NoError(t, err)
	return summary.FileMeta{Size: info.Size, MinTime: info.MinTime, MaxTime: info.MaxTime, MinSeq: info.MinSeq, MaxSeq: info.MaxSeq}
}

// readAll decodes every point of a TSM file back into the model form.
func readAll(t *testing.T, path string) fileModel {
	t.Helper()
	r, err := tsm.Open(path)
	require.NoError(t, err)
	defer r.Close()
	require.NoError(t, r.Verify())
	out := fileModel{}
	var b tsm.Block
	for _, e := range r.Entries() {
		for _, m := range e.Blocks {
			require.NoError(t, r.ReadBlock(m, e.Key.Type, &b))
			for i := range b.Times {
				p := pt{t: b.Times[i], version: b.Versions[i], seq: b.Seqs[i]}
				switch e.Key.Type.Class() {
				case storage.ClassFloat:
					p.val = int64(b.Values.Floats[i] * 4)
				case storage.ClassInt:
					p.val = b.Values.Ints[i]
				case storage.ClassBytes:
					_, err := fmt.Sscanf(string(b.Values.Bytes[i]), "s%d", &p.val)
					require.NoError(t, err)
				}
				out[e.Key] = append(out[e.Key], p)
			}
		}
	}
	return out
}

type hideRule struct {
	series       storage.SeriesID
	lo, hi       int64
	version, seq uint64
}

func (h hideRule) hides(s storage.SeriesID, t int64, v, q uint64) bool {
	return s == h.series && t >= h.lo && t <= h.hi && storage.Newer(h.version, h.seq, v, q)
}

// mergeModel: per key and time the highest (version, seq), ties to the later input; hidden winners
// dropped; then, for a complete plan whose versions of a key are all <= stable, versions and seqs
// collapsed to the key's max.
func mergeModel(inputs []fileModel, hide []hideRule, complete bool, stable uint64) fileModel {
	type slot struct {
		p  pt
		ok bool
	}
	best := map[tsm.Key]map[int64]slot{}
	for src, m := range inputs {
		for k, ps := range m {
			if best[k] == nil {
				best[k] = map[int64]slot{}
			}
			for _, p := range ps {
				p.src = src
				b := best[k][p.t]
				if !b.ok || p.version > b.p.version || (p.version == b.p.version && (p.seq > b.p.seq || p.seq == b.p.seq && p.src > b.p.src)) {
					best[k][p.t] = slot{p, true}
				}
			}
		}
	}
	out := fileModel{}
	for k, byTime := range best {
		var ps []pt
		for _, s := range byTime {
			hidden := false
			for _, h := range hide {
				hidden = hidden || h.hides(k.Series, s.p.t, s.p.version, s.p.seq)
			}
			if !hidden {
				p := s.p
				p.src = 0
				ps = append(ps, p)
			}
		}
		if len(ps) == 0 {
			continue
		}
		slices.SortFunc(ps, func(a, b pt) int { return int(a.t - b.t) })
		if complete {
			var maxV, maxS uint64
			for _, p := range ps {
				maxV, maxS = max(maxV, p.version), max(maxS, p.seq)
			}
			for i := range ps {
				if stable != 0 && maxV <= stable {
					ps[i].version, ps[i].seq = maxV, maxS
				}
			}
		}
		out[k] = ps
	}
	return out
}

var runKeys = []tsm.Key{
	{Series: storage.NewSeriesID(1, 1), Field: "a", Type: storage.TypeInt64},
	{Series: storage.NewSeriesID(1, 1), Field: "a", Type: storage.TypeDouble},
	{Series: storage.NewSeriesID(1, 1), Field: "b", Type: storage.TypeString},
	{Series: storage.NewSeriesID(2, 1), Field: "a", Type: storage.TypeInt64},
	{Series: storage.NewSeriesID(3, 5), Field: "z", Type: storage.TypeDouble},
}

func genFile(r *rand.Rand, src int) fileModel {
	m := fileModel{}
	for _, k := range runKeys {
		if r.Intn(3) == 0 {
			continue
		}
		var ps []pt
		for tm := int64(r.Intn(5)); tm < 60; tm += 1 + int64(r.Intn(4)) {
			ps = append(ps, pt{t: tm, val: r.Int63n(1 << 20), version: uint64(1 + r.Intn(3)), seq: uint64(10*src + r.Intn(12))})
		}
		m[k] = ps
	}
	return m
}

func requireModelEqual(t *testing.T, want, got fileModel, msg string) {
	t.Helper()
	require.Equal(t, len(want), len(got), msg)
	for k, ps := range want {
		require.Equal(t, ps, got[k], "%s: key %v", msg, k)
	}
}

func requireNoFiles(t *testing.T, dir, name string) {
	t.Helper()
	_, err := os.Stat(filepath.Join(dir, name))
	require.ErrorIs(t, err, os.ErrNotExist)
	_, err = os.Stat(filepath.Join(dir, name+".tmp"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

func openInputs(t *testing.T, dir string, models []fileModel) ([]compaction.Input, *compaction.Plan) {
	t.Helper()
	p := &compaction.Plan{OutputLevel: 2}
	var inputs []compaction.Input
	for i, m := range models {
		path := filepath.Join(dir, fmt.Sprintf("in%d.tsm", i))
		meta := writeTSM(t, path, m)
		meta.ID, meta.Level = uint64(i+1), 1
		r, err := tsm.Open(path)
		require.NoError(t, err)
		t.Cleanup(func() { _ = r.Close() })
		inputs = append(inputs, compaction.Input{Meta: meta, Reader: r})
		p.Inputs = append(p.Inputs, meta)
	}
	return inputs, p
}

func TestRunMergeModel(t *testing.T) {
	r := rand.New(rand.NewSource(50))
	for iter := range 24 {
		dir := t.TempDir()
		n := 1 + r.Intn(3)
		var models []fileModel
		for i := range n {
			models = append(models, genFile(r, i))
		}
		inputs, plan := openInputs(t, dir, models)
		plan.Complete = iter%2 == 0
		var stable uint64
		if iter%3 > 0 {
			stable = uint64(1 + r.Intn(3))
		}
		var rules []hideRule
		hidden := map[storage.SeriesID]bool{}
		for range r.Intn(3) {
			k := runKeys[r.Intn(len(runKeys))]
			lo := r.Int63n(60)
			rules = append(rules, hideRule{series: k.Series, lo: lo, hi: lo + r.Int63n(30), version: uint64(1 + r.Intn(3)), seq: uint64(r.Intn(30))})
			hidden[k.Series] = true
		}
		opts := compaction.RunOptions{ID: 99, Path: filepath.Join(dir, "out.tsm"), StableVersion: stable,
			Hide: func(s storage.SeriesID, tm int64, v, q uint64) bool {
				for _, h := range rules {
					if h.hides(s, tm, v, q) {
						return true
					}
				}
				return false
			},
			SeriesHidden: func(s storage.SeriesID) bool { return hidden[s] },
			Progress:     &compaction.Progress{},
		}
		inputPoints := int64(0)
		for _, m := range models {
			for _, ps := range m {
				inputPoints += int64(len(ps))
			}
		}
		want := mergeModel(models, rules, plan.Complete, stable)
		msg := fmt.Sprintf("iteration %d (inputs %d, complete %v, stable %d, rules %v)", iter, n, plan.Complete, stable, rules)
		meta, ok, err := compaction.Run(context.Background(), plan, inputs, opts)
		require.NoError(t, err, msg)
		require.Equal(t, inputPoints, opts.Progress.Total.Load(), "%s: progress total is the input points", msg)
		require.Equal(t, inputPoints, opts.Progress.Done.Load(), "%s: a finished merge has read them all", msg)
		if len(want) == 0 {
			require.False(t, ok, msg)
			requireNoFiles(t, dir, "out.tsm")
			continue
		}
		require.True(t, ok, msg)
		got := readAll(t, opts.Path)
		if !plan.Complete && n == 1 && len(rules) == 0 {
			require.Equal(t, models[0], got, msg)
		}
		requireModelEqual(t, want, got, msg)

		// The returned meta describes the output.
		lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
		slo, shi := uint64(math.MaxUint64), uint64(0)
		for _, ps := range want {
			for _, p := range ps {
				lo, hi, slo, shi = min(lo, p.t), max(hi, p.t), min(slo, p.seq), max(shi, p.seq)
			}
		}
		st, err := os.Stat(opts.Path)
		require.NoError(t, err)
		require.Equal(t, summary.FileMeta{ID: 99, Level: 2, Size: st.Size(), MinTime: lo, MaxTime: hi, MinSeq: slo, MaxSeq: shi}, meta, msg)
		_, err = os.Stat(opts.Path + ".tmp")
		require.ErrorIs(t, err, os.ErrNotExist)
	}
}

// TestRunCollapse pins the collapse rules on one column written by two inputs.
func TestRunCollapse(t *testing.T) {
	k := runKeys[0]
	a := fileModel{k: {{t: 1, val: 10, version: 1, seq: 3}, {t: 2, val: 20, version: 2, seq: 4}}}
	b := fileModel{k: {{t: 2, val: 21, version: 2, seq: 4}, {t: 3, val: 30, version: 1, seq: 9}}}
	for _, c := range []struct {
		complete bool
		stable   uint64
		want     []pt
	}{
		// Not complete: every point keeps its own (version, seq). At t=2 the tie goes to the later input.
		{false, 5, []pt{{t: 1, val: 10, version: 1, seq: 3}, {t: 2, val: 21, version: 2, seq: 4}, {t: 3, val: 30, version: 1, seq: 9}}},
		// Complete, stable unknown: versions and seqs stay (as ids into the version table).
		{true, 0, []pt{{t: 1, val: 10, version: 1, seq: 3}, {t: 2, val: 21, version: 2, seq: 4}, {t: 3, val: 30, version: 1, seq: 9}}},
		// Complete, a version above stable: both stay.
		{true, 1, []pt{{t: 1, val: 10, version: 1, seq: 3}, {t: 2, val: 21, version: 2, seq: 4}, {t: 3, val: 30, version: 1, seq: 9}}},
		// Complete, all versions <= stable: both collapse.
		{true, 2, []pt{{t: 1, val: 10, version: 2, seq: 9}, {t: 2, val: 21, version: 2, seq: 9}, {t: 3, val: 30, version: 2, seq: 9}}},
	} {
		dir := t.TempDir()
		inputs, plan := openInputs(t, dir, []fileModel{a, b})
		plan.Complete = c.complete
		path := filepath.Join(dir, "out.tsm")
		_, ok, err := compaction.Run(context.Background(), plan, inputs, compaction.RunOptions{ID: 1, Path: path, StableVersion: c.stable})
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, fileModel{k: c.want}, readAll(t, path), "complete %v stable %d", c.complete, c.stable)
	}
}

// TestRunRawCopy: a key held by one input is copied block by block without re-encoding.
func TestRunRawCopy(t *testing.T) {
	r := rand.New(rand.NewSource(51))
	m := fileModel{}
	for i, k := range runKeys {
		var ps []pt
		for tm := range int64(2*tsm.BlockPoints + 500) { // several blocks per key
			ps = append(ps, pt{t: tm*3 + int64(i), val: r.Int63n(1000), version: uint64(1 + r.Intn(2)), seq: uint64(r.Intn(5))})
		}
		m[k] = ps
	}
	for _, c := range []struct {
		complete bool
		stable   uint64
	}{{false, 0}, {true, 0}, {true, 2}} {
		complete := c.complete && c.stable != 0 // versions collapse only then
		dir := t.TempDir()
		inputs, plan := openInputs(t, dir, []fileModel{m})
		plan.Complete = c.complete
		path := filepath.Join(dir, "out.tsm")
		_, ok, err := compaction.Run(context.Background(), plan, inputs, compaction.RunOptions{ID: 1, Path: path, StableVersion: c.stable})
		require.NoError(t, err)
		require.True(t, ok)
		got := readAll(t, path)
		require.Equal(t, mergeModel([]fileModel{m}, nil, c.complete, c.stable), got)

		in, out := inputs[0].Reader, openReader(t, path)
		require.Len(t, out.Entries(), len(in.Entries()))
		for i, e := range in.Entries() {
			oe := out.Entries()[i]
			require.Equal(t, e.Key, oe.Key)
			if complete {
				// Blocks with mixed versions and seqs are re-encoded collapsed: one of each per block now.
				for _, bm := range oe.Blocks {
					require.Equal(t, bm.MinSeq, bm.MaxSeq)
					require.Equal(t, bm.MinVersion, bm.MaxVersion)
				}
				continue
			}
			require.Len(t, oe.Blocks, len(e.Blocks))
			require.Greater(t, len(e.Blocks), 1)
			for j, bm := range e.Blocks {
				raw, err := in.ReadRawBlock(bm)
				require.NoError(t, err)
				oraw, err := out.ReadRawBlock(oe.Blocks[j])
				require.NoError(t, err)
				require.Equal(t, raw, oraw, "block %d of %v copied byte for byte", j, e.Key)
				obm := oe.Blocks[j]
				obm.Offset = bm.Offset
				require.Equal(t, bm, obm, "block meta copied")
			}
		}
	}

	// Proof that blocks are copied, not re-encoded: an input whose blocks are smaller than the writer
	// would make keeps its block boundaries. A complete plan copies blocks whose version and seq are
	// constant (here constant per block, so the two blocks keep different seqs).
	k := runKeys[0]
	var parts [][]pt
	for b, n := range []int{300, 400} {
		var ps []pt
		for i := range n {
			ps = append(ps, pt{t: int64(b*1000 + i), val: int64(i), version: 3, seq: uint64(7 + b)})
		}
		parts = append(parts, ps)
	}
	for _, complete := range []bool{false, true} {
		dir := t.TempDir()
		in := writeSplitFile(t, dir, k, parts)
		require.Len(t, in.Entries()[0].Blocks, 2)
		plan := &compaction.Plan{Inputs: []summary.FileMeta{{ID: 1, Level: 1}}, OutputLevel: 2, Complete: complete}
		path := filepath.Join(dir, "out.tsm")
		_, ok, err := compaction.Run(context.Background(), plan, []compaction.Input{{Meta: plan.Inputs[0], Reader: in}},
			compaction.RunOptions{ID: 1, Path: path, StableVersion: 10})
		require.NoError(t, err)
		require.True(t, ok)
		out := openReader(t, path)
		require.Len(t, out.Entries()[0].Blocks, 2, "complete %v: block boundaries kept", complete)
		for j, bm := range in.Entries()[0].Blocks {
			raw, err := in.ReadRawBlock(bm)
			require.NoError(t, err)
			oraw, err := out.ReadRawBlock(out.Entries()[0].Blocks[j])
			require.NoError(t, err)
			require.Equal(t, raw, oraw)
		}
		require.Equal(t, fileModel{k: append(append([]pt{}, parts[0]...), parts[1]...)}, readAll(t, path))
	}
}

// writeSplitFile writes one key whose blocks are exactly parts (via raw block copies) and opens it.
func writeSplitFile(t *testing.T, dir string, k tsm.Key, parts [][]pt) *tsm.Reader {
	t.Helper()
	path := filepath.Join(dir, "split.tsm")
	w, err := tsm.NewWriter(path, tsm.WriterOptions{})
	require.NoError(t, err)
	for i, ps := range parts {
		src := filepath.Join(dir, fmt.Sprintf("part%d.tsm", i))
		writeTSM(t, src, fileModel{k: ps})
		r := openReader(t, src)
		for _, bm := range r.Entries()[0].Blocks {
			raw, err := r.ReadRawBlock(bm)
			require.NoError(t, err)
			require.NoError(t, w.WriteRawBlock(k, bm, raw))
		}
	}
	_, err = w.Finish()
	require.NoError(t, err)
	return openReader(t, path)
}

func openReader(t *testing.T, path string) *tsm.Reader {
	t.Helper()
	r, err := tsm.Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// cancelAfter is a context whose Err turns to Canceled after n calls.
type cancelAfter struct {
	context.Context
	n int
}

func (c *cancelAfter) Err() error {
	if c.n <= 0 {
		return context.Canceled
	}
	c.n--
	return nil
}

func TestRunCancel(t *testing.T) {
	r := rand.New(rand.NewSource(52))
	models := []fileModel{genFile(r, 0), genFile(r, 1)}
	for _, k := range runKeys { // every key present, so the merge visits len(runKeys) keys
		if models[0][k] == nil {
			models[0][k] = []pt{{t: 1, val: 1, version: 1, seq: 1}}
		}
	}
	for _, after := range []int{0, 1, 2, len(runKeys) - 1} {
		dir := t.TempDir()
		inputs, plan := openInputs(t, dir, models)
		var ctx context.Context = &cancelAfter{Context: context.Background(), n: after}
		if after == 0 {
			cctx, cancel := context.WithCancel(context.Background())
			cancel()
			ctx = cctx
		}
		_, ok, err := compaction.Run(ctx, plan, inputs, compaction.RunOptions{ID: 1, Path: filepath.Join(dir, "out.tsm")})
		require.False(t, ok)
		require.True(t, errors.Is(err, context.Canceled), "after %d keys: %v", after, err)
		requireNoFiles(t, dir, "out.tsm")
	}
}

func TestRunEmpty(t *testing.T) {
	dir := t.TempDir()
	_, ok, err := compaction.Run(context.Background(), &compaction.Plan{}, nil, compaction.RunOptions{ID: 1, Path: filepath.Join(dir, "out.tsm")})
	require.NoError(t, err)
	require.False(t, ok)
	requireNoFiles(t, dir, "out.tsm")

	// Everything hidden: no output.
	k := runKeys[0]
	inputs, plan := openInputs(t, dir, []fileModel{{k: {{t: 5, val: 1, version: 1, seq: 1}}}})
	_, ok, err = compaction.Run(context.Background(), plan, inputs, compaction.RunOptions{ID: 1, Path: filepath.Join(dir, "out.tsm"),
		Hide:         func(storage.SeriesID, int64, uint64, uint64) bool { return true },
		SeriesHidden: func(storage.SeriesID) bool { return true }})
	require.NoError(t, err)
	require.False(t, ok)
	requireNoFiles(t, dir, "out.tsm")
}
