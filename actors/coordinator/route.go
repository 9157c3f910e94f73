package coordinator

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"

	"github.com/chronogo/chronogo/actors"
	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/storage"
)

// Route is the part of a batch that goes to one replica set of one bucket.
type Route struct {
	Bucket     meta.Bucket
	ReplicaSet meta.ReplicaSet
	Batch      *storage.Batch
}

// ReplicaSetIndex is the replica set of a series within a bucket of n replica sets:
// storage.HashSeriesKey(key) % n. It is part of the data placement and must never change.
func ReplicaSetIndex(key []byte, n int) int {
	return int(storage.HashSeriesKey(key) % uint32(n))
}

// Split divides a batch by bucket (the bucket of each row's time, from Placement.BucketFor) and by
// replica set (ReplicaSetIndex of the series key). Routes come in order of first appearance; a
// series whose rows all fall in one bucket is shared with b, not copied.
func Split(ctx context.Context, p actors.Placement, tenant, db string, b *storage.Batch) ([]Route, error) {
	type routeKey struct {
		bucket uint64
		rs     int
	}
	var (
		routes  []Route
		byKey   = map[routeKey]int{}
		buckets []meta.Bucket // the few buckets one batch touches; searched linearly
	)
	bucketOf := func(ts int64) (int, error) {
		for i := range buckets {
			if ts >= buckets[i].Start && ts < buckets[i].End {
				return i, nil
			}
		}
		bk, err := p.BucketFor(ctx, tenant, db, ts)
		if err != nil {
			return 0, fmt.Errorf("bucket for time %d: %w", ts, err)
		}
		if ts < bk.Start || ts >= bk.End || len(bk.ReplicaSets) == 0 {
			return 0, fmt.Errorf("bucket %d [%d, %d) with %d replica sets cannot hold time %d", bk.ID, bk.Start, bk.End, len(bk.ReplicaSets), ts)
		}
		buckets = append(buckets, bk)
		return len(buckets) - 1, nil
	}
	add := func(bi int, s storage.SeriesRows) {
		bk := &buckets[bi]
		rs := ReplicaSetIndex(s.Key, len(bk.ReplicaSets))
		k := routeKey{bk.ID, rs}
		ri, ok := byKey[k]
		if !ok {
			ri = len(routes)
			byKey[k] = ri
			routes = append(routes, Route{Bucket: *bk, ReplicaSet: bk.ReplicaSets[rs], Batch: &storage.Batch{Version: b.Version}})
		}
		routes[ri].Batch.Series = append(routes[ri].Batch.Series, s)
	}
	var rowBucket []int
	for si := range b.Series {
		s := &b.Series[si]
		rowBucket = rowBucket[:0]
		single := true
		for _, ts := range s.Times {
			bi, err := bucketOf(ts)
			if err != nil {
				return nil, err
			}
			single = single && (len(rowBucket) == 0 || bi == rowBucket[0])
			rowBucket = append(rowBucket, bi)
		}
		if single {
			add(rowBucket[0], *s)
			continue
		}
		seen := map[int]bool{}
		for _, bi := range rowBucket {
			if seen[bi] {
				continue
			}
			seen[bi] = true
			var rows []int
			for r, rb := range rowBucket {
				if rb == bi {
					rows = append(rows, r)
				}
			}
			add(bi, subsetRows(s, rows))
		}
	}
	return splitLarge(routes, maxRouteBytes), nil
}

// maxRouteBytes bounds the encoding of one route's batch: a quarter of a WAL record, so that the
// vnode's WAL never refuses a batch for its size and one write message stays moderate.
var maxRouteBytes = storage.MaxBatchBytes / 4

// splitLarge replaces each route whose batch encodes to more than max bytes by several routes to
// the same replica set, each under max: whole series where they fit, row ranges of a series that
// alone is too big. Each piece is written (and acknowledged) as its own batch.
func splitLarge(routes []Route, limit int) []Route {
	var out []Route
	for _, r := range routes {
		if r.Batch.EncodedSize() <= limit {
			out = append(out, r)
			continue
		}
		piece := &storage.Batch{Version: r.Batch.Version}
		empty := piece.EncodedSize()
		size := empty
		emit := func() {
			if len(piece.Series) > 0 {
				out = append(out, Route{Bucket: r.Bucket, ReplicaSet: r.ReplicaSet, Batch: piece})
			}
			piece, size = &storage.Batch{Version: r.Batch.Version}, empty
		}
		for i := range r.Batch.Series {
			s := &r.Batch.Series[i]
			for _, part := range seriesParts(s, limit/2) {
				n := storage.SeriesSize(&part)
				if size+n > limit {
					emit()
				}
				piece.Series = append(piece.Series, part)
				size += n
			}
		}
		emit()
	}
	return out
}

// seriesParts returns s whole if it encodes to at most limit bytes, else row ranges of it (halved
// until each fits; a single row always makes a part).
func seriesParts(s *storage.SeriesRows, limit int) []storage.SeriesRows {
	if storage.SeriesSize(s) <= limit || len(s.Times) < 2 {
		return []storage.SeriesRows{*s}
	}
	half := len(s.Times) / 2
	rows := make([]int, len(s.Times))
	for i := range rows {
		rows[i] = i
	}
	lo, hi := subsetRows(s, rows[:half]), subsetRows(s, rows[half:])
	return append(seriesParts(&lo, limit), seriesParts(&hi, limit)...)
}

// subsetRows returns the rows (ascending indexes) of s as a new SeriesRows; fields without a value
// in those rows are left out.
func subsetRows(s *storage.SeriesRows, rows []int) storage.SeriesRows {
	out := storage.SeriesRows{Key: s.Key, Times: make([]int64, len(rows))}
	newIdx := make(map[int]uint32, len(rows))
	for i, r := range rows {
		out.Times[i] = s.Times[r]
		newIdx[r] = uint32(i)
	}
	for fi := range s.Fields {
		f := &s.Fields[fi]
		c := storage.FieldColumn{Name: f.Name, Values: storage.Values{Type: f.Values.Type}}
		dense := true // every selected row has a value: Rows stays nil
		for i, n := 0, f.Values.Len(); i < n; i++ {
			ni, ok := newIdx[f.RowAt(i)]
			if !ok {
				continue
			}
			c.Values.AppendFrom(&f.Values, i)
			c.Rows = append(c.Rows, ni)
			dense = dense && int(ni) == len(c.Rows)-1
		}
		if len(c.Rows) == 0 {
			continue
		}
		if dense && len(c.Rows) == len(rows) {
			c.Rows = nil
		}
		out.Fields = append(out.Fields, c)
	}
	return out
}

// checkTable reports an error unless every series of b belongs to table.
func checkTable(b *storage.Batch, table string) error {
	prefix := binary.AppendUvarint(nil, uint64(len(table)))
	prefix = append(prefix, table...)
	for i := range b.Series {
		if !bytes.HasPrefix(b.Series[i].Key, prefix) {
			k, _ := storage.UnmarshalSeriesKey(b.Series[i].Key)
			return fmt.Errorf("series %d: got table %q; want %q", i, k.Table, table)
		}
	}
	return nil
}
