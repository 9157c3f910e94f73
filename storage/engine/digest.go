package engine

import (
	"fmt"
	"hash/fnv"
	"math"
	"slices"

	"github.com/chronogo/chronogo/storage"
)

// Anti-entropy reads: digests of what a replica shows, and its points with their versions.

// DigestQuery asks for the digests of a table's series by time window.
type DigestQuery struct {
	Table            string
	MinTime, MaxTime int64
	Window           int64            // > 0: windows start at multiples of Window (ns since the epoch)
	Keys             [][]byte         // when set, only these series (encoded keys); else every series
	After            storage.SeriesID // only the series after this id (paging)
}

// SeriesDigest digests the visible points of one series in one window: their number and an
// order-independent hash of each point's field, type, time and value. Replicas that show the same
// points have the same digests whatever their files, flushes and compactions; versions are not
// part of it (last-write-wins already chose the value each replica shows).
type SeriesDigest struct {
	Series storage.SeriesID
	Start  int64
	Points int64
	Hash   uint64
}

// Digests calls fn for every (series, window) of q with points, in series then window order.
func (s *Snapshot) Digests(q DigestQuery, fn func(d *SeriesDigest) error) error {
	if q.Window <= 0 {
		return fmt.Errorf("digests of %s: window %d must be positive", q.Table, q.Window)
	}
	var (
		cur  storage.SeriesID
		have bool
		byW  = map[int64]*SeriesDigest{}
		ws   []int64
	)
	flush := func() error {
		ws = ws[:0]
		for w := range byW {
			ws = append(ws, w)
		}
		slices.Sort(ws)
		for _, w := range ws {
			if err := fn(byW[w]); err != nil {
				return err
			}
		}
		clear(byW)
		return nil
	}
	err := s.Scan(ScanQuery{Table: q.Table, MinTime: q.MinTime, MaxTime: q.MaxTime, Keys: q.Keys, AfterSeries: q.After}, func(c *ScanColumn) error {
		if have && c.Series != cur {
			if err := flush(); err != nil {
				return err
			}
		}
		cur, have = c.Series, true
		p := c.Points
		col := columnHash(c.Field, p.Values.Type)
		var d *SeriesDigest
		for i, t := range p.Times {
			w := storage.FloorDiv(t, q.Window) * q.Window
			if d == nil || d.Start != w {
				if d = byW[w]; d == nil {
					d = &SeriesDigest{Series: c.Series, Start: w}
					byW[w] = d
				}
			}
			d.Points++
			d.Hash += mix64(col ^ mix64(uint64(t)) ^ valueHash(&p.Values, i))
		}
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}

// KeyedHash folds a series' digest hash with its key, for digests of several series summed
// together: series that swapped their points still differ.
func KeyedHash(key []byte, h uint64) uint64 {
	f := fnv.New64a()
	_, _ = f.Write(key)
	return mix64(f.Sum64() ^ h)
}

// columnHash identifies a column in point hashes.
func columnHash(field string, t storage.FieldType) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(field))
	return mix64(h.Sum64() ^ uint64(t)<<56)
}

// valueHash hashes value i of v.
func valueHash(v *storage.Values, i int) uint64 {
	switch v.Type.Class() {
	case storage.ClassFloat:
		return mix64(math.Float64bits(v.Floats[i]))
	case storage.ClassInt:
		return mix64(uint64(v.Ints[i]) + 1)
	case storage.ClassBool:
		if v.Bools[i] {
			return mix64(2)
		}
		return mix64(3)
	default:
		h := fnv.New64a()
		_, _ = h.Write(v.Bytes[i])
		return mix64(h.Sum64())
	}
}

// mix64 is a 64-bit finalizer (splitmix64): every input bit affects every output bit.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// RepairData is what a replica gives anti-entropy repair for some series in a time range.
type RepairData struct {
	// Batches hold the visible points with their versions, one batch per version, so that
	// another replica written with them takes exactly these points under last-write-wins.
	Batches []*storage.Batch
	// More says that the point bound left some out.
	More bool
	// Hidden are the requested series (encoded keys) that a delete or the expiry touches in the
	// range on this replica.
	Hidden [][]byte
	// Tombstones are the deletes of the requested series on this replica, clipped to the range.
	Tombstones []RepairTombstone
}

// RepairTombstone is a delete of one series (encoded key) over [MinTime, MaxTime].
type RepairTombstone struct {
	Key              []byte
	MinTime, MaxTime int64
	Version          uint64
}

// RepairRead reads the given series of table in [minT, maxT] for anti-entropy repair. maxPoints
// bounds the points read (0: no bound).
func (s *Snapshot) RepairRead(table string, keys [][]byte, minT, maxT int64, maxPoints int) (RepairData, error) {
	var out RepairData
	for _, k := range keys {
		id, ok := s.index.Lookup(k)
		if !ok {
			continue
		}
		if s.v.rangeHidden(id, minT, maxT) {
			out.Hidden = append(out.Hidden, k)
		}
		for i := range s.v.tombs {
			t := &s.v.tombs[i]
			if t.IsRename() || t.MaxTime < minT || t.MinTime > maxT || !t.HasSeries(id) {
				continue
			}
			out.Tombstones = append(out.Tombstones, RepairTombstone{Key: k, MinTime: max(t.MinTime, minT), MaxTime: min(t.MaxTime, maxT), Version: t.Version})
		}
	}
	type seriesRows struct {
		key  []byte
		cols map[RepairCol]*storage.Points
	}
	byVersion := map[uint64]map[storage.SeriesID]*seriesRows{}
	n := 0
	errFull := fmt.Errorf("full")
	err := s.Scan(ScanQuery{Table: table, MinTime: minT, MaxTime: maxT, Keys: keys, Versions: true}, func(c *ScanColumn) error {
		p := c.Points
		if maxPoints > 0 && n+p.Len() > maxPoints && n > 0 {
			return errFull
		}
		n += p.Len()
		key, ok := s.index.Key(c.Series)
		if !ok {
			return fmt.Errorf("repair read of %s: series %d has no key", table, c.Series)
		}
		for i := range p.Times {
			v := p.Versions[i]
			m := byVersion[v]
			if m == nil {
				m = map[storage.SeriesID]*seriesRows{}
				byVersion[v] = m
			}
			sr := m[c.Series]
			if sr == nil {
				sr = &seriesRows{key: key.Marshal(nil), cols: map[RepairCol]*storage.Points{}}
				m[c.Series] = sr
			}
			ck := RepairCol{Field: c.Field, Type: p.Values.Type}
			dst := sr.cols[ck]
			if dst == nil {
				dst = &storage.Points{}
				dst.Reset(p.Values.Type)
				sr.cols[ck] = dst
			}
			dst.Times = append(dst.Times, p.Times[i])
			dst.Values.AppendFrom(&p.Values, i)
		}
		return nil
	})
	if err == errFull {
		err, out.More = nil, true
	}
	if err != nil {
		return RepairData{}, err
	}
	versions := make([]uint64, 0, len(byVersion))
	for v := range byVersion {
		versions = append(versions, v)
	}
	slices.Sort(versions)
	for _, v := range versions {
		b := &storage.Batch{Version: v}
		ids := make([]storage.SeriesID, 0, len(byVersion[v]))
		for id := range byVersion[v] {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			b.Series = append(b.Series, RowsOf(byVersion[v][id].key, byVersion[v][id].cols))
		}
		out.Batches = append(out.Batches, b)
	}
	return out, nil
}

// RepairCol is a column of a series: a field with one type.
type RepairCol struct {
	Field string
	Type  storage.FieldType
}

// RowsOf lays columns of one series out as batch rows: the union of their times, each column
// (in field, type order) naming its rows.
func RowsOf(key []byte, cols map[RepairCol]*storage.Points) storage.SeriesRows {
	var times []int64
	for _, p := range cols {
		times = append(times, p.Times...)
	}
	slices.Sort(times)
	times = slices.Compact(times)
	sr := storage.SeriesRows{Key: key, Times: times}
	order := make([]RepairCol, 0, len(cols))
	for k := range cols {
		order = append(order, k)
	}
	slices.SortFunc(order, func(a, b RepairCol) int {
		if a.Field != b.Field {
			if a.Field < b.Field {
				return -1
			}
			return 1
		}
		return int(a.Type) - int(b.Type)
	})
	for _, k := range order {
		p := cols[k]
		fc := storage.FieldColumn{Name: k.Field, Values: p.Values, Rows: make([]uint32, len(p.Times))}
		for i, t := range p.Times {
			j, _ := slices.BinarySearch(times, t)
			fc.Rows[i] = uint32(j)
		}
		sr.Fields = append(sr.Fields, fc)
	}
	return sr
}
