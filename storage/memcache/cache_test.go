package memcache_test

import (
	"fmt"
	"math"
	"math/rand"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/memcache"
)

// mpoint is one inserted value in the model; order is its global insert position.
type mpoint struct {
	t        int64
	val      string // canonical value (float bits, int, bool, bytes)
	version  uint64
	seq      uint64
	order    int
	typ      storage.FieldType
	rawFloat float64
}

type colID struct {
	series storage.SeriesID
	field  string
	typ    storage.FieldType
}

// cacheModel records every inserted point and answers Read by brute force.
type cacheModel struct {
	cols       map[colID][]mpoint
	order      int
	times      []int64
	seqs       []uint64
	versions   []uint64
	points     int64
	valueBytes int64
}

func newCacheModel() *cacheModel { return &cacheModel{cols: map[colID][]mpoint{}} }

func valueString(v *storage.Values, i int) string {
	switch v.Type.Class() {
	case storage.ClassFloat:
		return fmt.Sprintf("f%016x", math.Float64bits(v.Floats[i]))
	case storage.ClassInt:
		return fmt.Sprintf("i%d", v.Ints[i])
	case storage.ClassBool:
		return fmt.Sprintf("b%v", v.Bools[i])
	case storage.ClassBytes:
		return "s" + string(v.Bytes[i])
	}
	panic("class")
}

func (m *cacheModel) insert(id storage.SeriesID, rows *storage.SeriesRows, version, seq uint64) {
	for _, f := range rows.Fields {
		for i := range f.Values.Len() {
			r := i
			if f.Rows != nil {
				r = int(f.Rows[i])
			}
			k := colID{id, f.Name, f.Values.Type}
			m.cols[k] = append(m.cols[k], mpoint{t: rows.Times[r], val: valueString(&f.Values, i), version: version, seq: seq, order: m.order, typ: f.Values.Type})
			m.order++
			m.points++
			if f.Values.Type.Class() == storage.ClassBytes {
				m.valueBytes += int64(len(f.Values.Bytes[i]))
			}
		}
	}
	m.times = append(m.times, rows.Times...)
	m.seqs = append(m.seqs, seq)
	m.versions = append(m.versions, version)
}

// read: per timestamp the highest (version, seq), ties to the later insert; sorted by time.
func (m *cacheModel) read(k colID) []mpoint { return m.readUpTo(k, math.MaxUint64) }

// readUpTo is what a snapshot at maxSeq sees: last-write-wins among the points with seq <= maxSeq.
func (m *cacheModel) readUpTo(k colID, maxSeq uint64) []mpoint {
	best := map[int64]mpoint{}
	for _, p := range m.cols[k] {
		if p.seq > maxSeq {
			continue
		}
		b, ok := best[p.t]
		if !ok || p.version > b.version || (p.version == b.version && (p.seq > b.seq || (p.seq == b.seq && p.order > b.order))) {
			best[p.t] = p
		}
	}
	out := make([]mpoint, 0, len(best))
	for _, p := range best {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b mpoint) int { return int(a.t - b.t) })
	return out
}

func requireRead(t *testing.T, want []mpoint, got *storage.Points, msg string) {
	t.Helper()
	require.Equal(t, len(want), got.Len(), msg)
	require.Len(t, got.Versions, len(want), msg)
	require.Len(t, got.Seqs, len(want), msg)
	for i, p := range want {
		require.Equal(t, p.t, got.Times[i], msg)
		require.Equal(t, p.val, valueString(&got.Values, i), "%s: value at %d (time %d)", msg, i, p.t)
		require.Equal(t, p.version, got.Versions[i], msg)
		require.Equal(t, p.seq, got.Seqs[i], msg)
	}
}

var fieldTypes = []storage.FieldType{storage.TypeDouble, storage.TypeInt64, storage.TypeInt32, storage.TypeBool, storage.TypeString, storage.TypeNull, storage.TypeDateTime}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func genRows(r *rand.Rand, timeBase int64) storage.SeriesRows {
	n := 1 + r.Intn(6)
	rows := storage.SeriesRows{Times: make([]int64, n)}
	for i := range rows.Times {
		rows.Times[i] = timeBase + r.Int63n(12) - 4 // out of order, duplicates, negatives
	}
	used := map[string]bool{}
	if r.Intn(10) > 0 {
		// a field in (nearly) every row of every insert: a dense column sharing the series' rows,
		// turned sparse by the odd insert that lacks it or lists only some rows
		c := storage.FieldColumn{Name: "d", Values: storage.Values{Type: storage.TypeDouble}}
		if r.Intn(15) == 0 && n > 1 {
			c.Rows = []uint32{uint32(n - 1)}
		}
		for range max(len(c.Rows), n*boolInt(c.Rows == nil)) {
			c.Values.Floats = append(c.Values.Floats, math.Float64frombits(r.Uint64()))
		}
		rows.Fields = append(rows.Fields, c)
	}
	for range 1 + r.Intn(3) {
		c := storage.FieldColumn{Name: []string{"a", "b"}[r.Intn(2)], Values: storage.Values{Type: fieldTypes[r.Intn(len(fieldTypes))]}}
		key := fmt.Sprint(c.Name, c.Values.Type)
		if used[key] {
			continue
		}
		used[key] = true
		cnt := n
		if r.Intn(2) == 0 {
			c.Rows = []uint32{}
			for i := range n {
				if r.Intn(2) == 0 {
					c.Rows = append(c.Rows, uint32(i))
				}
			}
			cnt = len(c.Rows)
		}
		for range cnt {
			switch c.Values.Type.Class() {
			case storage.ClassFloat:
				c.Values.Floats = append(c.Values.Floats, math.Float64frombits(r.Uint64()))
			case storage.ClassInt:
				c.Values.Ints = append(c.Values.Ints, r.Int63())
			case storage.ClassBool:
				c.Values.Bools = append(c.Values.Bools, r.Intn(2) == 0)
			case storage.ClassBytes:
				b := make([]byte, r.Intn(5))
				r.Read(b)
				c.Values.Bytes = append(c.Values.Bytes, b)
			}
		}
		rows.Fields = append(rows.Fields, c)
	}
	return rows
}

func TestCacheModel(t *testing.T) {
	r := rand.New(rand.NewSource(30))
	for run := range 20 {
		c, m := memcache.New(), newCacheModel()
		require.True(t, c.Empty())
		_, _, ok := c.SeqRange()
		require.False(t, ok)
		_, _, ok = c.TimeRange()
		require.False(t, ok)
		require.Equal(t, uint64(math.MaxUint64), c.MinVersion())

		ids := []storage.SeriesID{storage.NewSeriesID(7, 1), storage.NewSeriesID(3, 2), storage.NewSeriesID(7, 0)}
		seq := uint64(100)
		for range 80 {
			id := ids[r.Intn(len(ids))]
			rows := genRows(r, int64(r.Intn(20)))
			// Versions mostly equal (seq decides), sometimes lower or higher; seqs occasionally repeat
			// (several series of one batch share a seq).
			version := uint64(5 + r.Intn(3) - 1)
			if r.Intn(4) > 0 {
				seq++
			}
			c.Insert(id, &rows, version, seq)
			m.insert(id, &rows, version, seq)
			// The cache copies byte values: scribbling on the batch afterwards changes nothing.
			for _, f := range rows.Fields {
				for _, b := range f.Values.Bytes {
					for i := range b {
						b[i] ^= 0xff
					}
				}
			}
		}
		msg := fmt.Sprintf("run %d", run)
		var keys []colID
		for k := range m.cols {
			keys = append(keys, k)
		}
		var pts storage.Points
		for _, k := range keys {
			require.True(t, c.Read(k.series, memcache.ColumnKey{Field: k.field, Type: k.typ}, &pts), msg)
			require.Equal(t, k.typ, pts.Values.Type)
			requireRead(t, m.read(k), &pts, fmt.Sprintf("%s col %v", msg, k))
			require.True(t, pts.IsSortedUnique())
			// a snapshot at an earlier seq sees the column as it was then, overwrites included
			for range 3 {
				maxSeq := 99 + uint64(r.Intn(int(seq-98)))
				require.True(t, c.ReadUpTo(k.series, memcache.ColumnKey{Field: k.field, Type: k.typ}, maxSeq, &pts), msg)
				requireRead(t, m.readUpTo(k, maxSeq), &pts, fmt.Sprintf("%s col %v up to seq %d", msg, k, maxSeq))
			}
			// and the full read after a prefix read is still the whole column
			require.True(t, c.Read(k.series, memcache.ColumnKey{Field: k.field, Type: k.typ}, &pts), msg)
			requireRead(t, m.read(k), &pts, fmt.Sprintf("%s col %v after prefix reads", msg, k))
		}
		require.False(t, c.Read(ids[0], memcache.ColumnKey{Field: "zz", Type: storage.TypeInt64}, &pts))
		require.False(t, c.Read(storage.NewSeriesID(1, 1), memcache.ColumnKey{Field: "a", Type: storage.TypeInt64}, &pts))

		// Columns are sorted by (field, type); series ascending.
		var wantIDs []storage.SeriesID
		for _, id := range ids {
			var want []memcache.ColumnKey
			for k := range m.cols {
				if k.series == id {
					want = append(want, memcache.ColumnKey{Field: k.field, Type: k.typ})
				}
			}
			slices.SortFunc(want, func(a, b memcache.ColumnKey) int {
				if c := strings.Compare(a.Field, b.Field); c != 0 {
					return c
				}
				return int(a.Type) - int(b.Type)
			})
			got := c.Columns(id)
			if len(want) == 0 && len(got) == 0 {
				continue
			}
			require.Equal(t, want, got, msg)
			wantIDs = append(wantIDs, id)
		}
		slices.Sort(wantIDs)
		gotIDs := c.SeriesIDs()
		require.Subset(t, gotIDs, wantIDs)
		require.True(t, slices.IsSorted(gotIDs))

		// Counters.
		require.Equal(t, m.points, c.Points())
		require.Equal(t, m.points == 0, c.Empty())
		// Size counts the slices' capacity: at least 8 bytes per point (the value) and per row
		// (its time; columns with a value in every row share it) plus the byte values, at most
		// what doubling growth can add to 16 bytes per point.
		require.GreaterOrEqual(t, c.Size(), 8*m.points+8*int64(len(m.times))+m.valueBytes)
		payload := 16*m.points + m.valueBytes
		require.LessOrEqual(t, c.Size(), 3*payload+64*1024)
		lo, hi, ok := c.SeqRange()
		require.True(t, ok)
		require.Equal(t, slices.Min(m.seqs), lo)
		require.Equal(t, slices.Max(m.seqs), hi)
		tlo, thi, ok := c.TimeRange()
		require.True(t, ok)
		require.Equal(t, slices.Min(m.times), tlo)
		require.Equal(t, slices.Max(m.times), thi)
		require.Equal(t, slices.Min(m.versions), c.MinVersion())
	}
}

func TestCacheReadTable(t *testing.T) {
	c := memcache.New()
	id := storage.NewSeriesID(1, 1)
	ints := func(times []int64, vals ...int64) *storage.SeriesRows {
		return &storage.SeriesRows{Times: times, Fields: []storage.FieldColumn{{Name: "v", Values: storage.Values{Type: storage.TypeInt64, Ints: vals}}}}
	}
	c.Insert(id, ints([]int64{10, 20, 30}, 1, 2, 3), 5, 1)
	c.Insert(id, ints([]int64{20}, 22), 4, 2)                // lower version: loses
	c.Insert(id, ints([]int64{30}, 33), 5, 3)                // same version, higher seq: wins
	c.Insert(id, ints([]int64{5, 5, 10}, 50, 51, 100), 5, 1) // same (version, seq) as the first: later insert wins; 5 twice: later row wins
	var p storage.Points
	require.True(t, c.Read(id, memcache.ColumnKey{Field: "v", Type: storage.TypeInt64}, &p))
	require.Equal(t, []int64{5, 10, 20, 30}, p.Times)
	require.Equal(t, []int64{51, 100, 2, 33}, p.Values.Ints)
	require.Equal(t, []uint64{5, 5, 5, 5}, p.Versions)
	require.Equal(t, []uint64{1, 1, 1, 3}, p.Seqs)
	lo, hi, _ := c.SeqRange()
	require.Equal(t, [2]uint64{1, 3}, [2]uint64{lo, hi})
	require.Equal(t, uint64(4), c.MinVersion())
	require.Equal(t, int64(8), c.Points())

	// Read reuses dst and resets its type.
	p.Values.Type = storage.TypeDouble
	c.Insert(id, &storage.SeriesRows{Times: []int64{1, 2}, Fields: []storage.FieldColumn{{Name: "s", Rows: []uint32{1},
		Values: storage.Values{Type: storage.TypeString, Bytes: [][]byte{[]byte("xyz")}}}}}, 9, 9)
	require.True(t, c.Read(id, memcache.ColumnKey{Field: "s", Type: storage.TypeString}, &p))
	require.Equal(t, storage.TypeString, p.Values.Type)
	require.Equal(t, []int64{2}, p.Times)
	require.Equal(t, [][]byte{[]byte("xyz")}, p.Values.Bytes)
	require.GreaterOrEqual(t, c.Size(), int64(9*16+3))
	require.LessOrEqual(t, c.Size(), int64(3*(9*16+3)+4096))
	// TimeRange covers every row time of an insert, also rows that no field has a value in.
	tlo, thi, _ := c.TimeRange()
	require.Equal(t, [2]int64{1, 30}, [2]int64{tlo, thi})
}

// TestCacheConcurrentReaders runs readers during inserts (meant for -race): every read must equal the
// model after some prefix of the inserts, and a reader never sees the prefix shrink.
func TestCacheConcurrentReaders(t *testing.T) {
	r := rand.New(rand.NewSource(31))
	const inserts = 150
	id := storage.NewSeriesID(2, 2)
	key := memcache.ColumnKey{Field: "a", Type: storage.TypeInt64}
	m := newCacheModel()
	var batches []storage.SeriesRows
	prefix := map[string]int{fingerprint(nil): 0}
	for i := range inserts {
		n := 1 + r.Intn(4)
		rows := storage.SeriesRows{Times: make([]int64, n), Fields: []storage.FieldColumn{{Name: "a", Values: storage.Values{Type: storage.TypeInt64}}}}
		for j := range rows.Times {
			rows.Times[j] = int64(i) + r.Int63n(6) - 3 // mostly ascending, sometimes out of order
			rows.Fields[0].Values.Ints = append(rows.Fields[0].Values.Ints, int64(i*10+j))
		}
		batches = append(batches, rows)
		m.insert(id, &rows, 1, uint64(i+1)) // every insert is newer than the ones before
		fp := fingerprint(m.read(colID{id, "a", storage.TypeInt64}))
		_, dup := prefix[fp]
		require.False(t, dup, "each insert changes the visible result")
		prefix[fp] = i + 1
	}

	c := memcache.New()
	var wg sync.WaitGroup
	done := make(chan struct{})
	errs := make(chan error, 4)
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			last := 0
			var p storage.Points
			for reads := 0; ; reads++ {
				select {
				case <-done:
					if reads > 0 {
						return
					}
				default:
				}
				if !c.Read(id, key, &p) {
					continue
				}
				var got []mpoint
				for i := range p.Times {
					got = append(got, mpoint{t: p.Times[i], val: fmt.Sprintf("i%d", p.Values.Ints[i]), version: p.Versions[i], seq: p.Seqs[i]})
				}
				k, ok := prefix[fingerprint(got)]
				if !ok || k < last {
					errs <- fmt.Errorf("read %d: not a prefix state (found %v, k %d, last %d)", reads, ok, k, last)
					return
				}
				last = k
				lo, hi, ok := c.SeqRange()
				if ok && (lo != 1 || hi < uint64(k)) {
					errs <- fmt.Errorf("seq range %d..%d after prefix %d", lo, hi, k)
					return
				}
			}
		}()
	}
	for i := range batches {
		c.Insert(id, &batches[i], 1, uint64(i+1))
	}
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	var p storage.Points
	require.True(t, c.Read(id, key, &p))
	requireRead(t, m.read(colID{id, "a", storage.TypeInt64}), &p, "final")
}

func fingerprint(ps []mpoint) string {
	var b strings.Builder
	for _, p := range ps {
		fmt.Fprintf(&b, "%d=%s@%d.%d;", p.t, p.val, p.version, p.seq)
	}
	return b.String()
}

// TestReadSharedMatchesRead: ReadShared gives Read's times and values without copying.
func TestReadSharedMatchesRead(t *testing.T) {
	c := memcache.New()
	id := storage.SeriesID(7)
	k := memcache.ColumnKey{Field: "v", Type: storage.TypeInt64}
	for i, times := range [][]int64{{1, 2, 3}, {4, 5}, {0, 9, 2}} { // the third insert makes it unsorted
		vals := make([]int64, len(times))
		for j := range vals {
			vals[j] = int64(10*i + j)
		}
		c.Insert(id, &storage.SeriesRows{Times: times, Fields: []storage.FieldColumn{{Name: "v", Values: storage.Values{Type: storage.TypeInt64, Ints: vals}}}}, 1, uint64(i+1))
		var full, shared storage.Points
		require.True(t, c.Read(id, k, &full))
		require.True(t, c.ReadShared(id, k, false, &shared))
		require.Equal(t, full.Times, shared.Times)
		require.Equal(t, full.Values.Ints, shared.Values.Ints)
		require.Empty(t, shared.Versions)
	}
	var none storage.Points
	require.False(t, c.ReadShared(id, memcache.ColumnKey{Field: "x", Type: storage.TypeInt64}, false, &none))
}
