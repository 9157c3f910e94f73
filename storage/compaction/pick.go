package compaction

import (
	"cmp"
	"slices"

	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/summary"
)

// Strategy chooses how files are grouped for compaction (a per-vnode option).
type Strategy int

// Strategies.
const (
	// LevelRange keeps levels 1..4 with non-overlapping time ranges; a level with enough files is merged
	// into the next one together with every delta (level 0) and deeper file that overlaps it.
	LevelRange Strategy = iota
	// TimeWindow groups files by fixed time windows; a window with enough files is merged into one file.
	TimeWindow
)

// Options tune the pickers.
type Options struct {
	Strategy Strategy
	Trigger  int   // files in a level (or window) that start a compaction; default 4
	Window   int64 // window width in ns for TimeWindow; default 24 h
}

// WithDefaults fills zero fields.
func (o Options) WithDefaults() Options {
	if o.Trigger <= 0 {
		o.Trigger = 4
	}
	if o.Window <= 0 {
		o.Window = 24 * 3600 * 1e9
	}
	return o
}

// Plan is one compaction: merge Inputs into one file at OutputLevel.
type Plan struct {
	Inputs      []summary.FileMeta
	OutputLevel uint8
	// Complete is true when no live file outside Inputs overlaps the inputs' time range, so the output
	// is the only file holding that range and per-point seqs can be collapsed.
	Complete bool
}

// MinTime and MaxTime of the inputs.
func (p *Plan) TimeRange() (lo, hi int64) {
	for i, f := range p.Inputs {
		if i == 0 || f.MinTime < lo {
			lo = f.MinTime
		}
		if i == 0 || f.MaxTime > hi {
			hi = f.MaxTime
		}
	}
	return lo, hi
}

func overlaps(f summary.FileMeta, lo, hi int64) bool { return f.MinTime <= hi && f.MaxTime >= lo }

// closure grows seed with every file overlapping the seed's time range, until nothing changes.
// The result is complete by construction.
func closure(files []summary.FileMeta, seed []summary.FileMeta) []summary.FileMeta {
	in := map[uint64]bool{}
	out := slices.Clone(seed)
	for _, f := range seed {
		in[f.ID] = true
	}
	for changed := true; changed; {
		changed = false
		p := Plan{Inputs: out}
		lo, hi := p.TimeRange()
		for _, f := range files {
			if !in[f.ID] && overlaps(f, lo, hi) {
				in[f.ID] = true
				out = append(out, f)
				changed = true
			}
		}
	}
	slices.SortFunc(out, func(a, b summary.FileMeta) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// Pick returns the next compaction to run, or nil when none is due.
func Pick(files []summary.FileMeta, o Options) *Plan {
	o = o.WithDefaults()
	if o.Strategy == TimeWindow {
		return pickWindow(files, o, false)
	}
	return pickLevel(files, o)
}

func pickLevel(files []summary.FileMeta, o Options) *Plan {
	var byLevel [summary.MaxLevel + 1][]summary.FileMeta
	for _, f := range files {
		byLevel[f.Level] = append(byLevel[f.Level], f)
	}
	// The level whose file count exceeds the trigger the most; delta files count as level 0 and are
	// merged into the level they overlap.
	best, bestScore := -1, 1.0
	for l := 0; l < summary.MaxLevel; l++ {
		score := float64(len(byLevel[l])) / float64(o.Trigger)
		if score >= bestScore {
			best, bestScore = l, score
		}
	}
	if best < 0 {
		return nil
	}
	inputs := closure(files, byLevel[best])
	out := uint8(best + 1)
	for _, f := range inputs {
		out = max(out, f.Level)
	}
	return &Plan{Inputs: inputs, OutputLevel: out, Complete: true}
}

func pickWindow(files []summary.FileMeta, o Options, full bool) *Plan {
	windows := map[int64][]summary.FileMeta{}
	for _, f := range files {
		w := storage.FloorDiv(f.MinTime, o.Window)
		windows[w] = append(windows[w], f)
	}
	keys := slices.Sorted(mapsKeys(windows))
	var best []summary.FileMeta
	for _, w := range keys {
		fs := windows[w]
		due := len(fs) >= o.Trigger
		if full {
			due = len(fs) > 1 || fs[0].Level < 2
		}
		if due && len(fs) > len(best) {
			best = fs
		}
	}
	if best == nil {
		return nil
	}
	return &Plan{Inputs: closure(files, best), OutputLevel: 2, Complete: true}
}

func mapsKeys(m map[int64][]summary.FileMeta) func(func(int64) bool) {
	return func(yield func(int64) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// PickFull returns a plan that moves the vnode toward one file per time range (the whole vnode for
// LevelRange, each window for TimeWindow), or nil when it is already there.
func PickFull(files []summary.FileMeta, o Options) *Plan {
	o = o.WithDefaults()
	if o.Strategy == TimeWindow {
		return pickWindow(files, o, true)
	}
	if len(files) == 0 || (len(files) == 1 && files[0].Level == summary.MaxLevel) {
		return nil
	}
	in := slices.Clone(files)
	slices.SortFunc(in, func(a, b summary.FileMeta) int { return cmp.Compare(a.ID, b.ID) })
	return &Plan{Inputs: in, OutputLevel: summary.MaxLevel, Complete: true}
}

// PickRewrite returns a plan that rewrites the first file (by id) for which holdsHidden is true,
// with every file overlapping it, at the deepest of their levels; nil when no file qualifies. Full
// compactions use it once the vnode is in its most compact form: a delete or an expiry leaves
// points in files that only a rewrite removes (tombstone-aware picking).
func PickRewrite(files []summary.FileMeta, holdsHidden func(summary.FileMeta) bool) *Plan {
	in := slices.Clone(files)
	slices.SortFunc(in, func(a, b summary.FileMeta) int { return cmp.Compare(a.ID, b.ID) })
	for _, f := range in {
		if !holdsHidden(f) {
			continue
		}
		inputs := closure(files, []summary.FileMeta{f})
		var out uint8
		for _, g := range inputs {
			out = max(out, g.Level)
		}
		return &Plan{Inputs: inputs, OutputLevel: max(out, 1), Complete: true}
	}
	return nil
}
