package compaction

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/summary"
	"github.com/chronogo/chronogo/storage/tsm"
)

// Input is one file to merge.
type Input struct {
	Meta   summary.FileMeta
	Reader *tsm.Reader
}

// RunOptions say where the output goes and what to drop.
type RunOptions struct {
	ID   uint64 // id of the output file
	Path string // path of the output file
	// Hide reports points hidden by tombstones or expiry; SeriesHidden reports whether Hide can
	// return true for a series at all (a fast path that lets blocks be copied without decoding).
	Hide         func(s storage.SeriesID, t int64, version, seq uint64) bool
	SeriesHidden func(s storage.SeriesID) bool
	// StableVersion: every write still to come has a higher version (0: unknown). When the plan is
	// complete, points whose versions are all <= StableVersion are written with one version and one
	// seq per column, which makes those columns nearly free on disk.
	StableVersion uint64
	// SeriesKey gives the output's series-key table (tsm.WriterOptions.SeriesKey).
	SeriesKey func(storage.SeriesID) ([]byte, bool)
	// Progress, when set, receives the input points to merge (Total, first) and those merged so
	// far (Done), for a caller that reports the job's progress from another goroutine.
	Progress *Progress
}

// Progress is a running merge's count of input points: Done of Total.
type Progress struct {
	Done, Total atomic.Int64
}

// Run merges the plan's inputs into one file and returns its meta; the caller commits it with a
// version edit. Cancelling ctx stops the merge between keys and removes the partial output; a
// crash at any point leaves only a .tmp file, which the vnode removes when it opens.
func Run(ctx context.Context, p *Plan, inputs []Input, o RunOptions) (meta summary.FileMeta, ok bool, err error) {
	w, err := tsm.NewWriter(o.Path, tsm.WriterOptions{SeriesKey: o.SeriesKey})
	if err != nil {
		return meta, false, fmt.Errorf("compaction: %w", err)
	}
	defer func() {
		if err != nil || !ok {
			_ = w.Abort()
		}
	}()
	if o.Progress != nil {
		var total int64
		for _, in := range inputs {
			for _, e := range in.Reader.Entries() {
				for _, m := range e.Blocks {
					total += int64(m.Agg.Count)
				}
			}
		}
		o.Progress.Total.Store(total)
	}
	it := newKeyIter(inputs)
	var (
		blk     tsm.Block
		srcs    []*storage.Points
		pool    []storage.Points
		out     storage.Points
		written int64
	)
	for it.next() {
		if err := ctx.Err(); err != nil {
			return meta, false, err
		}
		k, parts := it.key, it.parts
		hidden := o.SeriesHidden != nil && o.SeriesHidden(k.Series)
		if len(parts) == 1 && !hidden && rawCopyable(parts[0].entry.Blocks, p.Complete, o.StableVersion) {
			for _, m := range parts[0].entry.Blocks {
				if err := w.CopyBlock(k, m, parts[0].r); err != nil {
					return meta, false, err
				}
				written += int64(m.Agg.Count)
				if o.Progress != nil {
					o.Progress.Done.Add(int64(m.Agg.Count))
				}
			}
			continue
		}
		if cap(pool) < len(parts) {
			pool = make([]storage.Points, len(parts))
		}
		pool = pool[:len(parts)]
		srcs = srcs[:0]
		for i, part := range parts {
			pts := &pool[i]
			pts.Reset(k.Type)
			for _, m := range part.entry.Blocks {
				if err := part.r.ReadBlock(m, k.Type, &blk); err != nil {
					return meta, false, err
				}
				appendBlock(pts, &blk)
				if o.Progress != nil {
					o.Progress.Done.Add(int64(m.Agg.Count))
				}
			}
			srcs = append(srcs, pts)
		}
		out.Reset(k.Type)
		var hide storage.HideFunc
		if hidden {
			s := k.Series
			hide = func(t int64, v, q uint64) bool { return o.Hide(s, t, v, q) }
		}
		storage.MergeLWW(&out, srcs, hide)
		if out.Len() == 0 {
			continue
		}
		if p.Complete {
			collapse(&out, o.StableVersion)
		}
		if err := w.WriteColumn(k, out.Times, &out.Values, out.Versions, out.Seqs); err != nil {
			return meta, false, err
		}
		written += int64(out.Len())
	}
	if err := it.err; err != nil {
		return meta, false, err
	}
	if written == 0 {
		return meta, false, nil
	}
	info, err := w.Finish()
	if err != nil {
		return meta, false, err
	}
	ok = true
	return summary.FileMeta{ID: o.ID, Level: p.OutputLevel, Size: info.Size, MinTime: info.MinTime, MaxTime: info.MaxTime,
		MinSeq: info.MinSeq, MaxSeq: info.MaxSeq}, true, nil
}

// rawCopyable: blocks can be copied unchanged unless collapsing would make them smaller.
func rawCopyable(blocks []tsm.BlockMeta, complete bool, stable uint64) bool {
	if !complete || stable == 0 {
		return true
	}
	varies := false
	for _, m := range blocks {
		if m.MaxVersion > stable {
			return true // the column keeps its versions
		}
		varies = varies || m.MinSeq != m.MaxSeq || m.MinVersion != m.MaxVersion
	}
	return !varies
}

// collapse rewrites per-point versions and seqs to one value per column when every version is <=
// stable. Safe only when the output is the sole holder of its time range: versions then only order
// points against writes that are newer than stable, and seqs against data that is newer by seq
// anyway. Otherwise both stay per point: as ids into the file's version table (tsm format 3) they
// cost a few bytes per block, and seqs collapsed alone would turn one id per write batch into one
// per (batch, column) pair.
func collapse(p *storage.Points, stable uint64) {
	var maxV, maxS uint64
	for i := range p.Seqs {
		maxV, maxS = max(maxV, p.Versions[i]), max(maxS, p.Seqs[i])
	}
	if stable == 0 || maxV > stable {
		return
	}
	for i := range p.Seqs {
		p.Seqs[i], p.Versions[i] = maxS, maxV
	}
}

func appendBlock(p *storage.Points, b *tsm.Block) {
	p.Times = append(p.Times, b.Times...)
	p.Versions = append(p.Versions, b.Versions...)
	p.Seqs = append(p.Seqs, b.Seqs...)
	switch p.Values.Type.Class() {
	case storage.ClassFloat:
		p.Values.Floats = append(p.Values.Floats, b.Values.Floats...)
	case storage.ClassInt:
		p.Values.Ints = append(p.Values.Ints, b.Values.Ints...)
	case storage.ClassBool:
		p.Values.Bools = append(p.Values.Bools, b.Values.Bools...)
	case storage.ClassBytes:
		p.Values.Bytes = append(p.Values.Bytes, b.Values.Bytes...)
	}
}
