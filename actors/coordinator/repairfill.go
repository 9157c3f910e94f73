package coordinator

import (
	"bytes"
	"context"
	"fmt"
	"math"

	"github.com/chronogo/chronogo/messages"
	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/engine"
)

// Deletes are copied first: a replica gets the deletes of the other replicas that none of its own
// covers, for the differing series and windows, with their versions, so it hides exactly the
// points written before them. Then repair copies fill gaps only. A replica gets another
// replica's point only when it shows no point of that column at that time, every replica that
// has the point agrees on its value, and its version is not older than the collection. The copy
// keeps the point's version, so the target's own deletes (tombstones stay in its summary) hide it
// if it was written before them and show it if after, as the original write would have; a rename
// redirects it as it would have redirected that write; a point the target's expiry covers stays
// hidden. So a copy never replaces a value, never brings a deleted point back, and never spreads
// the points of a dropped collection of the same name: versions are only trusted to order a point
// against what it is copied next to. What it leaves differing is reported (StillDifferent,
// PointsWithheld: conflicting values and points older than the collection).

// pointKey is one point of a column of a series.
type pointKey struct {
	series string
	col    engine.RepairCol
	t      int64
}

// pointVal is a replica's value of a point with its version.
type pointVal struct {
	v       storage.Values // one value
	version uint64
}

// replicaPoints is what one replica shows of some series in a window.
type replicaPoints struct {
	points map[pointKey]pointVal
	tombs  []tomb // its deletes of the series, clipped to the window
}

// tomb is a delete of one series.
type tomb struct {
	series           string
	minTime, maxTime int64
	version          uint64
}

// covers reports whether t hides at least what o hides.
func (t tomb) covers(o tomb) bool {
	return t.series == o.series && t.version >= o.version && t.minTime <= o.minTime && t.maxTime >= o.maxTime
}

// copy fills every replica's gaps in the given series and windows from the other replicas.
func (r *setRepair) copy(ctx context.Context, table string, keys []digestKey) error {
	created := r.opt.Tables[table]
	byWindow := map[int64][][]byte{}
	for _, k := range keys {
		byWindow[k.start] = append(byWindow[k.start], []byte(k.series))
	}
	for start, series := range byWindow {
		end := start + int64(r.opt.Window) - 1
		if end < start {
			end = math.MaxInt64
		}
		minT, maxT := max(start, r.opt.MinTime), min(end, r.opt.MaxTime)
		for lo := 0; lo < len(series); lo += repairKeysPerRead {
			chunk := series[lo:min(lo+repairKeysPerRead, len(series))]
			all, err := r.readAll(ctx, table, chunk, minT, maxT)
			if err != nil {
				return err
			}
			// deletes first: a replica that missed one hides the same points once it has it
			copied, err := r.copyDeletes(ctx, table, all)
			if err != nil {
				return err
			}
			if copied > 0 {
				if all, err = r.readAll(ctx, table, chunk, minT, maxT); err != nil {
					return err
				}
			}
			for i, dst := range r.rs.Vnodes {
				batches, withheld := gaps(all, i, created)
				r.rep.PointsWithheld += withheld
				n, err := r.write(ctx, dst, batches)
				r.rep.PointsCopied += n
				aePoints.Add(float64(n))
				if err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// readAll reads what every replica shows of the series in [minT, maxT].
func (r *setRepair) readAll(ctx context.Context, table string, keys [][]byte, minT, maxT int64) ([]replicaPoints, error) {
	all := make([]replicaPoints, len(r.rs.Vnodes))
	for i, v := range r.rs.Vnodes {
		var err error
		if all[i], err = r.readPoints(ctx, v, table, keys, minT, maxT); err != nil {
			return nil, err
		}
	}
	return all, nil
}

// copyDeletes gives every replica the deletes of the other replicas that none of its own covers,
// with their versions (they hide exactly the points written before them), and returns how many.
func (r *setRepair) copyDeletes(ctx context.Context, table string, all []replicaPoints) (int, error) {
	n := 0
	for i, dst := range r.rs.Vnodes {
		var missing []tomb
		for j := range all {
			if j == i {
				continue
			}
			for _, t := range all[j].tombs {
				if !coveredBy(all[i].tombs, t) && !coveredBy(missing, t) {
					missing = append(missing, t)
				}
			}
		}
		for _, t := range missing {
			req := &messages.DeleteRequest{Vnode: r.ref(dst), Table: table, SeriesKeys: [][]byte{[]byte(t.series)},
				MinTime: t.minTime, MaxTime: t.maxTime, Version: t.version, Hinted: true}
			pid, err := r.c.managerOf(ctx, dst.NodeID)
			if err != nil {
				return n, err
			}
			env, err := messages.Wrap(req)
			if err != nil {
				return n, err
			}
			res, err := r.c.ask(ctx, pid, env)
			if err == nil {
				err = adminReplyError(res)
			}
			if err != nil {
				return n, fmt.Errorf("repair delete on vnode %d of node %d: %w", dst.ID, dst.NodeID, err)
			}
			n++
			r.rep.DeletesCopied++
		}
	}
	return n, nil
}

// coveredBy reports whether one of ts covers t.
func coveredBy(ts []tomb, t tomb) bool {
	for _, o := range ts {
		if o.covers(t) {
			return true
		}
	}
	return false
}

// gaps builds the batches (one per version) that fill replica i's gaps from the others, and
// counts the points withheld.
func gaps(all []replicaPoints, i int, created int64) ([]*messages.WriteBatch, int64) {
	type choice struct {
		val      pointVal
		conflict bool
	}
	chosen := map[pointKey]*choice{}
	var withheld int64
	for j := range all {
		if j == i {
			continue
		}
		for k, v := range all[j].points {
			if _, ok := all[i].points[k]; ok {
				continue
			}
			c := chosen[k]
			if c == nil {
				chosen[k] = &choice{val: v}
				continue
			}
			if !sameValue(&c.val.v, &v.v) {
				c.conflict = true
			}
		}
	}
	var set versionedPoints
	for k, c := range chosen {
		if c.conflict || int64(c.val.version>>16) < created/1e6 {
			withheld++
			continue
		}
		set.add(k, c.val)
	}
	return set.batches(), withheld
}

// versionedPoints gathers single points into one batch per version.
type versionedPoints map[uint64]map[string]map[engine.RepairCol]*storage.Points

// add puts point k with its value and version in the set.
func (vp *versionedPoints) add(k pointKey, v pointVal) {
	if *vp == nil {
		*vp = versionedPoints{}
	}
	m := (*vp)[v.version]
	if m == nil {
		m = map[string]map[engine.RepairCol]*storage.Points{}
		(*vp)[v.version] = m
	}
	cols := m[k.series]
	if cols == nil {
		cols = map[engine.RepairCol]*storage.Points{}
		m[k.series] = cols
	}
	p := cols[k.col]
	if p == nil {
		p = &storage.Points{}
		p.Reset(k.col.Type)
		cols[k.col] = p
	}
	// points of a column in time order
	at := len(p.Times)
	for at > 0 && p.Times[at-1] > k.t {
		at--
	}
	p.Times = append(p.Times, 0)
	copy(p.Times[at+1:], p.Times[at:])
	p.Times[at] = k.t
	insertValue(&p.Values, at, &v.v)
}

// batches encodes the set, one WriteBatch per version.
func (vp versionedPoints) batches() []*messages.WriteBatch {
	var out []*messages.WriteBatch
	for version, m := range vp {
		b := &storage.Batch{Version: version}
		for series, cols := range m {
			b.Series = append(b.Series, engine.RowsOf([]byte(series), cols))
		}
		w := &messages.WriteBatch{}
		w.SetBatch(b)
		out = append(out, w)
	}
	return out
}

// readPoints reads what replica v shows of the series in [minT, maxT].
func (r *setRepair) readPoints(ctx context.Context, v meta.Vnode, table string, keys [][]byte, minT, maxT int64) (replicaPoints, error) {
	rp := replicaPoints{points: map[pointKey]pointVal{}}
	replies, err := r.read(ctx, v, table, keys, minT, maxT)
	if err != nil {
		return rp, err
	}
	for _, reply := range replies {
		for _, t := range reply.GetTombstones() {
			rp.tombs = append(rp.tombs, tomb{series: string(t.GetSeriesKey()), minTime: t.GetMinTime(), maxTime: t.GetMaxTime(), version: t.GetVersion()})
		}
		for _, w := range reply.GetBatches() {
			b, err := w.DecodeBatch()
			if err != nil {
				return rp, fmt.Errorf("repair read of vnode %d on node %d: %w", v.ID, v.NodeID, err)
			}
			for _, s := range b.Series {
				for fi := range s.Fields {
					f := &s.Fields[fi]
					col := engine.RepairCol{Field: f.Name, Type: f.Values.Type}
					for vi := 0; vi < f.Values.Len(); vi++ {
						var one storage.Values
						one.Type = f.Values.Type
						one.AppendFrom(&f.Values, vi)
						rp.points[pointKey{string(s.Key), col, s.Times[f.RowAt(vi)]}] = pointVal{v: one, version: b.Version}
					}
				}
			}
		}
	}
	return rp, nil
}

// read fetches a replica's points of some series in [minT, maxT], asking for one series at a
// time when they are too many for one answer.
func (r *setRepair) read(ctx context.Context, v meta.Vnode, table string, keys [][]byte, minT, maxT int64) ([]*messages.RepairReadReply, error) {
	res, err := r.c.askReader(ctx, v.NodeID, &messages.RepairReadRequest{Vnode: r.ref(v), Table: table, SeriesKeys: keys, MinTime: minT, MaxTime: maxT})
	if err != nil {
		return nil, fmt.Errorf("repair read of vnode %d on node %d: %w", v.ID, v.NodeID, err)
	}
	reply, ok := res.(*messages.RepairReadReply)
	if !ok {
		return nil, fmt.Errorf("repair read of vnode %d on node %d: unexpected answer %T", v.ID, v.NodeID, res)
	}
	if reply.GetCode() != 0 {
		return nil, fmt.Errorf("repair read of vnode %d on node %d: %s", v.ID, v.NodeID, reply.GetMessage())
	}
	if !reply.GetMore() {
		return []*messages.RepairReadReply{reply}, nil
	}
	if len(keys) == 1 {
		return nil, fmt.Errorf("repair read of vnode %d on node %d: one series has too many points in a window; use a shorter window", v.ID, v.NodeID)
	}
	var out []*messages.RepairReadReply
	for _, k := range keys {
		more, err := r.read(ctx, v, table, [][]byte{k}, minT, maxT)
		if err != nil {
			return nil, err
		}
		out = append(out, more...)
	}
	return out, nil
}

// sameValue compares two one-value Values.
func sameValue(a, b *storage.Values) bool {
	if a.Type != b.Type {
		return false
	}
	switch a.Type.Class() {
	case storage.ClassFloat:
		return math.Float64bits(a.Floats[0]) == math.Float64bits(b.Floats[0])
	case storage.ClassInt:
		return a.Ints[0] == b.Ints[0]
	case storage.ClassBool:
		return a.Bools[0] == b.Bools[0]
	default:
		return bytes.Equal(a.Bytes[0], b.Bytes[0])
	}
}

// insertValue inserts the one value of src at index at of dst.
func insertValue(dst *storage.Values, at int, src *storage.Values) {
	switch dst.Type.Class() {
	case storage.ClassFloat:
		dst.Floats = append(dst.Floats[:at], append([]float64{src.Floats[0]}, dst.Floats[at:]...)...)
	case storage.ClassInt:
		dst.Ints = append(dst.Ints[:at], append([]int64{src.Ints[0]}, dst.Ints[at:]...)...)
	case storage.ClassBool:
		dst.Bools = append(dst.Bools[:at], append([]bool{src.Bools[0]}, dst.Bools[at:]...)...)
	default:
		dst.Bytes = append(dst.Bytes[:at], append([][]byte{src.Bytes[0]}, dst.Bytes[at:]...)...)
	}
}
