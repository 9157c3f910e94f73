package compaction_test

import (
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage/compaction"
	"github.com/chronogo/chronogo/storage/summary"
)

func fm(id uint64, level uint8, lo, hi int64) summary.FileMeta {
	return summary.FileMeta{ID: id, Level: level, MinTime: lo, MaxTime: hi, Size: 100}
}

func ids(fs []summary.FileMeta) []uint64 {
	var out []uint64
	for _, f := range fs {
		out = append(out, f.ID)
	}
	return out
}

// inputRange is the model of Plan.TimeRange.
func inputRange(fs []summary.FileMeta) (lo, hi int64) {
	lo, hi = fs[0].MinTime, fs[0].MaxTime
	for _, f := range fs {
		lo, hi = min(lo, f.MinTime), max(hi, f.MaxTime)
	}
	return lo, hi
}

// requireComplete checks that no file outside the plan overlaps the inputs' time range, that the inputs
// are distinct files of the set sorted by id, and the output level: at least every input level for
// LevelRange, always 2 for TimeWindow.
func requireComplete(t *testing.T, files []summary.FileMeta, p *compaction.Plan, msg string) {
	t.Helper()
	timeWindow := strings.HasPrefix(msg, "tw ")
	if timeWindow {
		require.Equal(t, uint8(2), p.OutputLevel, msg)
	}
	require.NotEmpty(t, p.Inputs, msg)
	require.True(t, p.Complete, msg)
	lo, hi := inputRange(p.Inputs)
	plo, phi := p.TimeRange()
	require.Equal(t, [2]int64{lo, hi}, [2]int64{plo, phi}, msg)
	in := map[uint64]bool{}
	for _, f := range p.Inputs {
		require.False(t, in[f.ID], "%s: file %d twice", msg, f.ID)
		in[f.ID] = true
		require.Contains(t, files, f, msg)
		if !timeWindow {
			require.GreaterOrEqual(t, p.OutputLevel, f.Level, msg)
		}
	}
	require.True(t, slices.IsSortedFunc(p.Inputs, func(a, b summary.FileMeta) int { return int(a.ID) - int(b.ID) }), msg)
	for _, f := range files {
		if !in[f.ID] {
			require.False(t, f.MinTime <= hi && f.MaxTime >= lo, "%s: file %d [%d, %d] overlaps inputs [%d, %d] but is not an input",
				msg, f.ID, f.MinTime, f.MaxTime, lo, hi)
		}
	}
}

func TestPickLevelRangeTable(t *testing.T) {
	o := compaction.Options{Strategy: compaction.LevelRange, Trigger: 4}
	for _, c := range []struct {
		name      string
		files     []summary.FileMeta
		wantIDs   []uint64 // nil: no plan
		wantLevel uint8
	}{
		{"no files", nil, nil, 0},
		{"below trigger", []summary.FileMeta{fm(1, 1, 0, 1), fm(2, 1, 2, 3), fm(3, 1, 4, 5), fm(4, 0, 0, 9), fm(5, 0, 10, 11), fm(6, 0, 12, 13)}, nil, 0},
		{"delta files at trigger go to level 1", []summary.FileMeta{fm(1, 0, 0, 10), fm(2, 0, 5, 15), fm(3, 0, 20, 30), fm(4, 0, 25, 26), fm(9, 1, 100, 200)},
			[]uint64{1, 2, 3, 4}, 1},
		{"level 1 with an overlapping level 2 file", []summary.FileMeta{fm(1, 1, 0, 9), fm(2, 1, 10, 19), fm(3, 1, 20, 29), fm(4, 1, 30, 39),
			fm(5, 2, 35, 50), fm(6, 2, 60, 70)}, []uint64{1, 2, 3, 4, 5}, 2},
		{"overlapping deeper file raises the output level", []summary.FileMeta{fm(1, 1, 0, 9), fm(2, 1, 10, 19), fm(3, 1, 20, 29), fm(4, 1, 30, 39),
			fm(5, 4, 0, 5)}, []uint64{1, 2, 3, 4, 5}, 4},
		{"overlap closure is transitive", []summary.FileMeta{fm(1, 0, 0, 1), fm(2, 0, 2, 3), fm(3, 0, 4, 5), fm(4, 0, 6, 10),
			fm(5, 2, 8, 20), fm(6, 3, 15, 30), fm(7, 1, 29, 40), fm(8, 1, 41, 50)}, []uint64{1, 2, 3, 4, 5, 6, 7}, 3},
		{"fullest level wins", []summary.FileMeta{fm(1, 0, 0, 1), fm(2, 0, 2, 3), fm(3, 0, 4, 5), fm(4, 0, 6, 7), fm(5, 0, 8, 9),
			fm(10, 2, 100, 101), fm(11, 2, 102, 103), fm(12, 2, 104, 105), fm(13, 2, 106, 107), fm(14, 2, 108, 109), fm(15, 2, 110, 111),
			fm(16, 2, 112, 113), fm(17, 2, 114, 115)}, []uint64{10, 11, 12, 13, 14, 15, 16, 17}, 3},
		{"the last level is never picked", []summary.FileMeta{fm(1, 4, 0, 1), fm(2, 4, 2, 3), fm(3, 4, 4, 5), fm(4, 4, 6, 7), fm(5, 4, 8, 9)}, nil, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := compaction.Pick(c.files, o)
			if c.wantIDs == nil {
				require.Nil(t, p)
				return
			}
			require.NotNil(t, p)
			require.Equal(t, c.wantIDs, ids(p.Inputs))
			require.Equal(t, c.wantLevel, p.OutputLevel)
			requireComplete(t, c.files, p, c.name)
		})
	}
	// Defaults: trigger 4.
	fs := []summary.FileMeta{fm(1, 0, 0, 1), fm(2, 0, 2, 3), fm(3, 0, 4, 5)}
	require.Nil(t, compaction.Pick(fs, compaction.Options{}))
	require.NotNil(t, compaction.Pick(append(fs, fm(4, 0, 6, 7)), compaction.Options{}))
	d := compaction.Options{}.WithDefaults()
	require.Equal(t, 4, d.Trigger)
	require.Equal(t, int64(24*3600*1e9), d.Window)
}

func randFiles(r *rand.Rand, n int) []summary.FileMeta {
	var fs []summary.FileMeta
	for i := range n {
		lo := r.Int63n(1000) - 300
		fs = append(fs, fm(uint64(i+1), uint8(r.Intn(summary.MaxLevel+1)), lo, lo+r.Int63n(80)))
	}
	r.Shuffle(len(fs), func(i, j int) { fs[i], fs[j] = fs[j], fs[i] })
	return fs
}

// simulateMerge replaces the plan's inputs with one output file, as a compaction would.
func simulateMerge(files []summary.FileMeta, p *compaction.Plan, nextID uint64) []summary.FileMeta {
	in := map[uint64]bool{}
	for _, f := range p.Inputs {
		in[f.ID] = true
	}
	var out []summary.FileMeta
	for _, f := range files {
		if !in[f.ID] {
			out = append(out, f)
		}
	}
	lo, hi := inputRange(p.Inputs)
	return append(out, fm(nextID, p.OutputLevel, lo, hi))
}

func TestPickLevelRangeProperty(t *testing.T) {
	r := rand.New(rand.NewSource(40))
	for iter := range 300 {
		trigger := 2 + r.Intn(4)
		o := compaction.Options{Strategy: compaction.LevelRange, Trigger: trigger}
		files := randFiles(r, r.Intn(30))
		next := uint64(1000)
		for step := 0; ; step++ {
			msg := fmt.Sprintf("iteration %d step %d", iter, step)
			count := map[uint8]int{}
			for _, f := range files {
				count[f.Level]++
			}
			due := -1
			for l := uint8(0); l < summary.MaxLevel; l++ {
				if count[l] >= trigger && (due < 0 || count[l] >= count[uint8(due)]) {
					due = int(l)
				}
			}
			p := compaction.Pick(files, o)
			if due < 0 {
				require.Nil(t, p, msg)
				break
			}
			require.NotNil(t, p, msg)
			requireComplete(t, files, p, msg)
			// The fullest due level is merged whole, into a deeper level.
			picked := -1
			for l := uint8(0); l < summary.MaxLevel; l++ {
				n := 0
				for _, f := range p.Inputs {
					if f.Level == l {
						n++
					}
				}
				if n == count[l] && count[l] == count[uint8(due)] {
					picked = int(l)
				}
			}
			require.GreaterOrEqual(t, picked, 0, "%s: no due level taken whole", msg)
			require.Greater(t, int(p.OutputLevel), picked, msg)
			require.LessOrEqual(t, p.OutputLevel, uint8(summary.MaxLevel), msg)
			files = simulateMerge(files, p, next)
			next++
			require.Less(t, step, 200, "%s: picking does not converge", msg)
		}
	}
}

func TestPickTimeWindow(t *testing.T) {
	const w = 100
	o := compaction.Options{Strategy: compaction.TimeWindow, Trigger: 3, Window: w}
	files := []summary.FileMeta{
		fm(1, 0, -100, -90), fm(2, 0, -1, -1), fm(3, 1, -50, -40), // window -1 (floor division)
		fm(4, 0, 0, 10), fm(5, 0, 20, 30), // window 0
		fm(6, 0, 200, 210), fm(7, 0, 250, 260), fm(8, 2, 299, 299), fm(9, 0, 201, 202), // window 2: the fullest
	}
	p := compaction.Pick(files, o)
	require.NotNil(t, p)
	require.Equal(t, []uint64{6, 7, 8, 9}, ids(p.Inputs))
	require.Equal(t, uint8(2), p.OutputLevel)
	requireComplete(t, files, p, "tw window 2")

	// Without window 2, window -1 is the only one due; file 4 starts at 0 and does not overlap it.
	files = files[:5]
	p = compaction.Pick(files, o)
	require.NotNil(t, p)
	require.Equal(t, []uint64{1, 2, 3}, ids(p.Inputs))

	// A file from another window that overlaps is pulled in to keep the plan complete.
	files = append(files, fm(10, 0, -5, 15))
	p = compaction.Pick(files, o)
	require.NotNil(t, p)
	require.Equal(t, []uint64{1, 2, 3, 4, 10}, ids(p.Inputs))
	requireComplete(t, files, p, "tw overlap")

	require.Nil(t, compaction.Pick(files[3:5], o), "below trigger")
}

func TestPickTimeWindowProperty(t *testing.T) {
	r := rand.New(rand.NewSource(41))
	for iter := range 200 {
		o := compaction.Options{Strategy: compaction.TimeWindow, Trigger: 2 + r.Intn(3), Window: 50 + r.Int63n(200)}
		files := randFiles(r, r.Intn(25))
		windows := map[int64][]uint64{}
		for _, f := range files {
			wi := f.MinTime / o.Window
			if f.MinTime < 0 && f.MinTime%o.Window != 0 {
				wi--
			}
			windows[wi] = append(windows[wi], f.ID)
		}
		most := 0
		for _, fs := range windows {
			most = max(most, len(fs))
		}
		p := compaction.Pick(files, o)
		msg := fmt.Sprintf("tw iteration %d", iter)
		if most < o.Trigger {
			require.Nil(t, p, msg)
			continue
		}
		require.NotNil(t, p, msg)
		requireComplete(t, files, p, msg)
		// Some window with the most files is in the plan whole.
		got := map[uint64]bool{}
		for _, f := range p.Inputs {
			got[f.ID] = true
		}
		whole := false
		for _, fs := range windows {
			all := len(fs) == most
			for _, id := range fs {
				all = all && got[id]
			}
			whole = whole || all
		}
		require.True(t, whole, msg)
	}
}

func TestPickFull(t *testing.T) {
	r := rand.New(rand.NewSource(42))
	for iter := range 100 {
		files := randFiles(r, r.Intn(15))
		msg := fmt.Sprintf("iteration %d", iter)
		// LevelRange: one plan takes every file into one file at the last level.
		o := compaction.Options{Strategy: compaction.LevelRange}
		cur, next := files, uint64(1000)
		for step := 0; ; step++ {
			p := compaction.PickFull(cur, o)
			if p == nil {
				break
			}
			requireComplete(t, cur, p, msg)
			require.Equal(t, uint8(summary.MaxLevel), p.OutputLevel)
			cur = simulateMerge(cur, p, next)
			next++
			require.Less(t, step, 2, msg)
		}
		if len(files) > 0 {
			require.Len(t, cur, 1, msg)
			require.Equal(t, uint8(summary.MaxLevel), cur[0].Level)
			lo, hi := inputRange(files)
			require.Equal(t, [2]int64{lo, hi}, [2]int64{cur[0].MinTime, cur[0].MaxTime})
		}

		// TimeWindow: repeated full plans converge; then no window holds two files and no file is below
		// level 2.
		o = compaction.Options{Strategy: compaction.TimeWindow, Window: 100}
		cur = files
		for step := 0; ; step++ {
			p := compaction.PickFull(cur, o)
			if p == nil {
				break
			}
			requireComplete(t, cur, p, "tw "+msg)
			cur = simulateMerge(cur, p, next)
			next++
			require.Less(t, step, 50, msg)
		}
		perWindow := map[int64]int{}
		for _, f := range cur {
			require.GreaterOrEqual(t, f.Level, uint8(2), msg)
			wi := f.MinTime / 100
			if f.MinTime < 0 && f.MinTime%100 != 0 {
				wi--
			}
			perWindow[wi]++
			require.Equal(t, 1, perWindow[wi], msg)
		}
	}
	require.Nil(t, compaction.PickFull(nil, compaction.Options{}))
	require.Nil(t, compaction.PickFull([]summary.FileMeta{fm(1, summary.MaxLevel, 0, 1)}, compaction.Options{}))
	p := compaction.PickFull([]summary.FileMeta{fm(1, 1, 0, 1)}, compaction.Options{})
	require.NotNil(t, p, "a single file below the last level still moves down")
	require.Equal(t, uint8(summary.MaxLevel), p.OutputLevel)
}

// TestPickRewrite: the first qualifying file by id is rewritten with every file overlapping it, at
// the deepest of their levels; none qualifying is no plan.
func TestPickRewrite(t *testing.T) {
	files := []summary.FileMeta{fm(7, 4, 0, 99), fm(3, 2, 200, 299), fm(5, 3, 250, 400), fm(9, 4, 500, 599)}
	require.Nil(t, compaction.PickRewrite(files, func(summary.FileMeta) bool { return false }))
	p := compaction.PickRewrite(files, func(f summary.FileMeta) bool { return f.ID == 5 || f.ID == 9 })
	require.NotNil(t, p)
	require.Equal(t, []uint64{3, 5}, ids(p.Inputs), "file 5 (the first by id) with file 3 it overlaps")
	require.EqualValues(t, 3, p.OutputLevel)
	require.True(t, p.Complete)
	p = compaction.PickRewrite(files, func(f summary.FileMeta) bool { return f.ID == 9 })
	require.Equal(t, []uint64{9}, ids(p.Inputs))
	require.EqualValues(t, 4, p.OutputLevel)
}
