package coordinator

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/chronogo/chronogo/messages"
	"github.com/chronogo/chronogo/meta"
)

// A vnode move fills a joining vnode from a full member of its replica set while writes go on.
// The joining vnode takes every write from the moment every node routes by the placement that
// holds it (the caller's barrier), so what it lacks is what the source held before: FillVnode
// copies the source's visible points of every series and window that differ, with their
// original versions, and its deletes with theirs (so last-write-wins orders them as on the
// source), then checks point by point that the target shows everything the source shows. The
// other full members are copied from too (what differs only): a write the source missed while it
// was down, which another member took and the source would have got from its hint queue, is not
// left behind with the source.

// FillReport says what FillVnode copied and found.
type FillReport struct {
	WindowsCompared int      `json:"windows_compared"`          // (table, window) pairs compared
	Sources         int      `json:"sources"`                   // full members copied from
	SourcesSkipped  []string `json:"sources_skipped,omitempty"` // other full members that did not answer
	SeriesCopied    int      `json:"series_copied"`             // (series, window) pairs copied
	PointsCopied    int64    `json:"points_copied"`
	DeletesCopied   int      `json:"deletes_copied"`
	PointsRecopied  int64    `json:"points_recopied"` // points the check found missing and copied again
	Missing         int64    `json:"missing"`         // source points the target still lacks (0: verified)
	Seconds         float64  `json:"seconds"`
}

// fillWindow is the digest window of a fill: the unit compared and copied.
const fillWindow = time.Hour

// FillVnode copies what vnode from of replica set rs of bucket b shows into vnode to (joining),
// then verifies it. progress, when set, is called after each copied chunk.
func (c *Client) FillVnode(ctx context.Context, b meta.Bucket, rs meta.ReplicaSet, from, to meta.Vnode, progress func(FillReport)) (FillReport, error) {
	began := time.Now()
	var rep FillReport
	pair := func(src meta.Vnode) *setRepair {
		return &setRepair{c: c, b: b, rs: meta.ReplicaSet{ID: rs.ID, Vnodes: []meta.Vnode{src, to}},
			opt: RepairOptions{Window: fillWindow, MinTime: b.Start, MaxTime: b.End - 1}, rep: &RepairReport{}, unreachable: map[uint64]error{}}
	}
	if err := c.fillFrom(ctx, pair(from), &rep, progress); err != nil {
		return rep, err
	}
	for _, v := range rs.Vnodes {
		if v.Joining || v.ID == from.ID || v.ID == to.ID {
			continue
		}
		if err := c.fillFrom(ctx, pair(v), &rep, progress); err != nil {
			if ctx.Err() != nil {
				return rep, err
			}
			rep.SourcesSkipped = append(rep.SourcesSkipped, fmt.Sprintf("vnode %d on node %d: %v", v.ID, v.NodeID, err))
		}
	}
	// the check against the source: whatever still differs is compared point by point; the
	// target may show more (writes since, the other members' points), never less
	f := pair(from)
	diff, _, err := f.sourceDiff(ctx)
	if err != nil {
		return rep, err
	}
	for _, w := range diff {
		for lo := 0; lo < len(w.series); lo += repairKeysPerRead {
			chunk := w.series[lo:min(lo+repairKeysPerRead, len(w.series))]
			missing, err := f.missing(ctx, w.table, chunk, w.start)
			if err != nil {
				return rep, err
			}
			if len(missing) == 0 {
				continue
			}
			n, err := f.write(ctx, to, missing)
			rep.PointsRecopied += n
			if err != nil {
				return rep, err
			}
			still, err := f.missing(ctx, w.table, chunk, w.start)
			if err != nil {
				return rep, err
			}
			for _, wb := range still {
				rep.Missing += batchPoints(wb)
			}
		}
	}
	rep.Seconds = time.Since(began).Seconds()
	if rep.Missing > 0 {
		return rep, fmt.Errorf("vnode %d still lacks %d points of vnode %d after the copy", to.ID, rep.Missing, from.ID)
	}
	return rep, nil
}

// fillFrom copies what f's source (vnode 0) shows differently from the target (vnode 1).
func (c *Client) fillFrom(ctx context.Context, f *setRepair, rep *FillReport, progress func(FillReport)) error {
	diff, compared, err := f.sourceDiff(ctx)
	if err != nil {
		return err
	}
	rep.Sources++
	rep.WindowsCompared += compared
	for _, w := range diff {
		for lo := 0; lo < len(w.series); lo += repairKeysPerRead {
			chunk := w.series[lo:min(lo+repairKeysPerRead, len(w.series))]
			points, deletes, err := f.copyFrom(ctx, w.table, chunk, w.start)
			if err != nil {
				return err
			}
			rep.SeriesCopied += len(chunk)
			rep.PointsCopied += points
			rep.DeletesCopied += deletes
			if progress != nil {
				progress(*rep)
			}
		}
	}
	return nil
}

// windowDiff is one table window whose series differ between source and target.
type windowDiff struct {
	table  string
	start  int64
	series [][]byte
}

// sourceDiff compares the source (vnode 0) with the target (vnode 1): the windows whose digests
// differ, each with the series the source shows differently (or the target lacks).
func (f *setRepair) sourceDiff(ctx context.Context) ([]windowDiff, int, error) {
	all, err := f.digests(ctx, &messages.DigestRequest{MinTime: f.opt.MinTime, MaxTime: f.opt.MaxTime, WindowNs: int64(f.opt.Window)})
	if err != nil {
		return nil, 0, err
	}
	var windows []digestKey
	for k, v := range all[0] {
		if all[1][k] != v {
			windows = append(windows, k)
		}
	}
	slices.SortFunc(windows, func(a, b digestKey) int {
		if a.table != b.table {
			return cmpStr(a.table, b.table)
		}
		return int(min(max(a.start-b.start, -1), 1))
	})
	var out []windowDiff
	for _, w := range windows {
		detail, err := f.digests(ctx, &messages.DigestRequest{Tables: []string{w.table}, MinTime: f.opt.MinTime, MaxTime: f.opt.MaxTime,
			WindowNs: int64(f.opt.Window), Detail: true, Windows: []int64{w.start}})
		if err != nil {
			return nil, 0, err
		}
		d := windowDiff{table: w.table, start: w.start}
		for k, v := range detail[0] {
			if detail[1][k] != v {
				d.series = append(d.series, []byte(k.series))
			}
		}
		slices.SortFunc(d.series, func(a, b []byte) int { return cmpStr(string(a), string(b)) })
		if len(d.series) > 0 {
			out = append(out, d)
		}
	}
	return out, len(all[0]), nil
}

// windowRange is the time range of the fill window starting at start, within the bucket.
func (f *setRepair) windowRange(start int64) (int64, int64) {
	end := start + int64(f.opt.Window) - 1
	if end < start {
		end = f.opt.MaxTime
	}
	return max(start, f.opt.MinTime), min(end, f.opt.MaxTime)
}

// copyFrom copies the source's deletes and visible points of some series in one window to the
// target, with their versions; it returns the points and deletes written.
func (f *setRepair) copyFrom(ctx context.Context, table string, keys [][]byte, start int64) (int64, int, error) {
	src, dst := f.rs.Vnodes[0], f.rs.Vnodes[1]
	minT, maxT := f.windowRange(start)
	replies, err := f.read(ctx, src, table, keys, minT, maxT)
	if err != nil {
		return 0, 0, err
	}
	// deletes first, one request per (range, version) with all the series it covers
	type tombKey struct {
		minT, maxT int64
		version    uint64
	}
	tombs := map[tombKey][][]byte{}
	var order []tombKey
	var batches []*messages.WriteBatch
	for _, r := range replies {
		for _, t := range r.GetTombstones() {
			k := tombKey{t.GetMinTime(), t.GetMaxTime(), t.GetVersion()}
			if _, ok := tombs[k]; !ok {
				order = append(order, k)
			}
			if !slices.ContainsFunc(tombs[k], func(s []byte) bool { return string(s) == string(t.GetSeriesKey()) }) {
				tombs[k] = append(tombs[k], t.GetSeriesKey())
			}
		}
		batches = append(batches, r.GetBatches()...)
	}
	deletes := 0
	for _, k := range order {
		req := &messages.DeleteRequest{Vnode: f.ref(dst), Table: table, SeriesKeys: tombs[k], MinTime: k.minT, MaxTime: k.maxT, Version: k.version, Hinted: true}
		if err := f.askManager(ctx, dst, req); err != nil {
			return 0, deletes, fmt.Errorf("copying a delete to vnode %d on node %d: %w", dst.ID, dst.NodeID, err)
		}
		deletes++
	}
	points, err := f.write(ctx, dst, batches)
	return points, deletes, err
}

// askManager sends an admin request to the vnode manager of v's node and checks the answer.
func (f *setRepair) askManager(ctx context.Context, v meta.Vnode, req *messages.DeleteRequest) error {
	pid, err := f.c.managerOf(ctx, v.NodeID)
	if err != nil {
		return err
	}
	env, err := messages.Wrap(req)
	if err != nil {
		return err
	}
	res, err := f.c.ask(ctx, pid, env)
	if err == nil {
		err = adminReplyError(res)
	}
	return err
}

// missing returns, as batches by version, the source's points of the series in the window that
// the target does not show: no point of that column at that time, or one with another value and
// an older version.
func (f *setRepair) missing(ctx context.Context, table string, keys [][]byte, start int64) ([]*messages.WriteBatch, error) {
	minT, maxT := f.windowRange(start)
	all, err := f.readAll(ctx, table, keys, minT, maxT)
	if err != nil {
		return nil, err
	}
	src, dst := all[0], all[1]
	var set versionedPoints
	for k, v := range src.points {
		if got, ok := dst.points[k]; ok && (sameValue(&got.v, &v.v) || got.version > v.version) {
			continue
		}
		set.add(k, v)
	}
	return set.batches(), nil
}

// batchPoints counts the values of an encoded batch (0 when it does not decode).
func batchPoints(w *messages.WriteBatch) int64 {
	b, err := w.DecodeBatch()
	if err != nil {
		return 0
	}
	var n int64
	for _, s := range b.Series {
		for _, fc := range s.Fields {
			n += int64(fc.Values.Len())
		}
	}
	return n
}
