package engine

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/storage/compaction"
	"github.com/chronogo/chronogo/storage/index"
	"github.com/chronogo/chronogo/storage/wal"
)

// model is the reference: the visible state computed naively from the operations.
type model struct {
	seq     uint64
	points  map[string]modelPoint // "keyhex/field/type/time"
	series  map[string]modelSeries
	tombs   []modelTomb
	expired int64
	renames []modelRename     // in the order they were made
	hostOf  map[string]string // hex key -> host of rename targets
}

// modelRename is one series renamed by a Rename step: late writes for src go to dst.
type modelRename struct {
	src, dst string // hex keys
	table    string
	version  uint64
}

// route is where a write of series key (hex) with batch version ver lands: while the series has a
// rename newer than ver, follow the first one after the point got there (else the oldest newer
// than ver), at most one hop per rename.
func (m *model) route(key string, ver uint64) string {
	cur, at := key, ver
	for hop := 0; hop <= len(m.renames); hop++ {
		var first, next *modelRename
		for i := range m.renames {
			r := &m.renames[i]
			if r.src != cur || r.version <= ver {
				continue
			}
			if first == nil || r.version < first.version {
				first = r
			}
			if r.version > at && (next == nil || r.version < next.version) {
				next = r
			}
		}
		if next == nil {
			next = first
		}
		if next == nil {
			return cur
		}
		cur, at = next.dst, max(at, next.version)
	}
	return cur
}

// rename applies a Rename of series src (hex) to dst at version ver with the given matched series
// and returns the expected result.
func (m *model) rename(table string, matched []string, src, dst string, dstSeries modelSeries, ver uint64) RenameResult {
	res := RenameResult{Series: len(matched)}
	vis := map[string]modelPoint{}
	for k, p := range m.points {
		if m.series[p.series].table == table && m.isVisible(p) {
			vis[k] = p
		}
	}
	times := map[string]map[int64]bool{}
	for _, p := range vis {
		if times[p.series] == nil {
			times[p.series] = map[int64]bool{}
		}
		times[p.series][p.ts] = true
	}
	renamed := false
	for _, s := range matched {
		res.Rows += int64(len(times[s]))
		renamed = renamed || s == src
	}
	if !renamed {
		return res
	}
	res.Renamed = 1
	m.seq++ // the tombstone's seq, taken before the copies
	tomb := modelTomb{series: map[string]bool{src: true}, lo: math.MinInt64, hi: math.MaxInt64, version: ver, seq: m.seq}
	m.seq++ // the copies: newer than everything before
	// The copies are ordinary writes with version ver: earlier renames of dst redirect them too.
	land, landSeries := dst, dstSeries
	if to := m.route(dst, ver); to != dst {
		land, landSeries = to, m.seriesOf(to)
	}
	moved := map[int64]bool{}
	for k, p := range vis {
		if p.series != src || p.version > ver {
			continue
		}
		moved[p.ts] = true
		nk := land + k[len(src):]
		old, ok := m.points[nk]
		if !ok || !storage.Newer(old.version, old.seq, ver, m.seq) {
			m.points[nk] = modelPoint{series: land, ts: p.ts, value: p.value, version: ver, seq: m.seq}
		}
	}
	if len(moved) > 0 {
		m.series[land] = landSeries
	}
	res.RenamedRows = int64(len(moved))
	m.tombs = append(m.tombs, tomb)
	m.renames = append(m.renames, modelRename{src: src, dst: dst, table: table, version: ver})
	return res
}

type modelPoint struct {
	series       string // hex key
	ts           int64
	value        string
	version, seq uint64
}

type modelSeries struct {
	table, host string
}

type modelTomb struct {
	series       map[string]bool
	lo, hi       int64
	version, seq uint64
}

func (m *model) write(b *storage.Batch) {
	m.seq++
	for _, s := range b.Series {
		kh := fmt.Sprintf("%x", s.Key)
		if to := m.route(kh, b.Version); to != kh {
			m.series[to] = m.seriesOf(to)
			kh = to
		}
		for _, f := range s.Fields {
			for i := 0; i < f.Values.Len(); i++ {
				ts := s.Times[f.RowAt(i)]
				k := fmt.Sprintf("%s/%s/%d/%d", kh, f.Name, f.Values.Type, ts)
				old, ok := m.points[k]
				if !ok || !storage.Newer(old.version, old.seq, b.Version, m.seq) {
					m.points[k] = modelPoint{series: kh, ts: ts, value: valueString(&f.Values, i), version: b.Version, seq: m.seq}
				}
			}
		}
	}
}

func (m *model) visible(table string) map[string]string {
	out := map[string]string{}
	for k, p := range m.points {
		if m.series[p.series].table == table && m.isVisible(p) {
			out[k] = p.value
		}
	}
	return out
}

// isVisible reports whether no expiry and no tombstone hides p.
func (m *model) isVisible(p modelPoint) bool {
	if p.ts < m.expired {
		return false
	}
	for _, t := range m.tombs {
		if t.series[p.series] && p.ts >= t.lo && p.ts <= t.hi && (p.version < t.version || (p.version == t.version && p.seq < t.seq)) {
			return false
		}
	}
	return true
}

// seriesOf is the table and host of a rename target (hex key).
func (m *model) seriesOf(key string) modelSeries {
	for _, r := range m.renames {
		if r.dst == key {
			return modelSeries{table: r.table, host: m.hostOf[key]}
		}
	}
	panic("unknown rename target " + key)
}

var (
	modelTables = []string{"cpu", "mem"}
	modelHosts  = []string{"a", "b", "c"}
	modelFields = []string{"f0", "f1", "f2"}
	modelTypes  = []storage.FieldType{storage.TypeInt64, storage.TypeDouble, storage.TypeString, storage.TypeBool, storage.TypeInt32}
)

func randomValues(r *rand.Rand, typ storage.FieldType, n int) storage.Values {
	v := storage.Values{Type: typ}
	for i := 0; i < n; i++ {
		switch typ.Class() {
		case storage.ClassFloat:
			v.Floats = append(v.Floats, float64(r.IntN(1000))/8)
		case storage.ClassInt:
			v.Ints = append(v.Ints, r.Int64N(1000)-500)
		case storage.ClassBool:
			v.Bools = append(v.Bools, r.IntN(2) == 1)
		default:
			v.Bytes = append(v.Bytes, []byte(fmt.Sprintf("s%d", r.IntN(50))))
		}
	}
	return v
}

func randomBatch(t testing.TB, r *rand.Rand, m *model) *storage.Batch {
	b := &storage.Batch{Version: uint64(r.IntN(4))}
	for _, si := range r.Perm(len(modelTables) * len(modelHosts))[:1+r.IntN(3)] {
		table, host := modelTables[si/len(modelHosts)], modelHosts[si%len(modelHosts)]
		key := seriesKey(t, table, "host", host)
		m.series[fmt.Sprintf("%x", key)] = modelSeries{table, host}
		n := 1 + r.IntN(20)
		rows := storage.SeriesRows{Key: key}
		for i := 0; i < n; i++ {
			rows.Times = append(rows.Times, int64(r.IntN(400))*10) // small range: many overwrites, out of order
		}
		for _, fi := range r.Perm(len(modelFields))[:1+r.IntN(len(modelFields))] {
			typ := modelTypes[r.IntN(len(modelTypes))]
			c := storage.FieldColumn{Name: modelFields[fi]}
			if r.IntN(2) == 0 {
				c.Values = randomValues(r, typ, n)
			} else {
				for i := 0; i < n; i++ {
					if r.IntN(2) == 0 {
						c.Rows = append(c.Rows, uint32(i))
					}
				}
				if len(c.Rows) == 0 {
					c.Rows = []uint32{0}
				}
				c.Values = randomValues(r, typ, len(c.Rows))
			}
			rows.Fields = append(rows.Fields, c)
		}
		b.Series = append(b.Series, rows)
	}
	return b
}

func TestModelRandomOperations(t *testing.T) {
	seeds := 6
	steps := 120
	if testing.Short() {
		seeds, steps = 3, 80
	}
	if os.Getenv("CHRONOGO_LONG") != "" {
		seeds, steps = 40, 400
	}
	for seed := 0; seed < seeds; seed++ {
		for _, strategy := range []compaction.Strategy{compaction.LevelRange, compaction.TimeWindow} {
			t.Run(fmt.Sprintf("seed=%d/strategy=%d", seed, strategy), func(t *testing.T) {
				runModel(t, uint64(seed), steps, strategy)
			})
		}
	}
}

func runModel(t *testing.T, seed uint64, steps int, strategy compaction.Strategy) {
	r := rand.New(rand.NewPCG(seed, uint64(strategy)))
	dir := t.TempDir()
	opts := Options{Sync: wal.SyncNever, CacheSize: 4 << 10, MaxImmutable: 1000,
		Compaction: compaction.Options{Strategy: strategy, Trigger: 2, Window: 1000}}
	if r.IntN(2) == 0 {
		opts.StableVersion = func() uint64 { return 0 }
	}
	v := openTest(t, dir, opts)
	defer func() { v.Close() }()
	m := &model{points: map[string]modelPoint{}, series: map[string]modelSeries{}, expired: math.MinInt64, hostOf: map[string]string{}}
	var history []string
	var aggStats AggStats
	defer func() {
		t.Logf("aggregate blocks: %d from pre-aggregates, %d decoded", aggStats.BlocksFromAgg, aggStats.BlocksDecoded)
	}()
	for step := 0; step < steps; step++ {
		op := r.IntN(118)
		var what string
		switch {
		case op >= 108:
			// What the vnode actor does after a write or an open: flush the immutable caches only
			// (the mutable cache, possibly not empty, stays); then maybe reopen at once, so that a
			// flush that claimed the mutable cache's WAL records loses them.
			what = "background flush"
			if j := v.StartFlush(false); j != nil {
				require.NoError(t, v.FinishFlush(j, j.Run()))
			}
			if op >= 113 {
				what = "background flush+reopen"
				require.NoError(t, v.Close())
				v = openTest(t, dir, opts)
			}
		case op < 60:
			what = "write"
			b := randomBatch(t, r, m)
			_, err := v.WriteSync(b)
			require.NoError(t, err)
			m.write(b)
		case op < 70:
			what = "flush"
			require.NoError(t, v.Flush())
		case op < 78:
			what = "compact"
			require.NoError(t, v.Compact(context.Background(), r.IntN(2) == 0))
		case op < 84:
			what = "reopen"
			require.NoError(t, v.Close())
			v = openTest(t, dir, opts)
		case op < 92:
			what = "delete"
			table := modelTables[r.IntN(len(modelTables))]
			host := modelHosts[r.IntN(len(modelHosts))]
			lo := int64(r.IntN(400)) * 10
			hi := lo + int64(r.IntN(200))*10
			ver := uint64(r.IntN(4))
			var filter index.Expr = index.Match{Key: "host", Op: index.OpEq, Value: storage.StringTag(host)}
			if r.IntN(3) == 0 {
				filter = index.Match{Key: "host", Op: index.OpNe, Value: storage.StringTag(host)}
			}
			require.NoError(t, v.Delete(table, filter, lo, hi, ver))
			m.seq++
			tomb := modelTomb{series: map[string]bool{}, lo: lo, hi: hi, version: ver, seq: m.seq}
			for k, s := range m.series {
				match := s.host == host
				if _, ne := filter.(index.Match); ne && filter.(index.Match).Op == index.OpNe {
					match = s.host != host
				}
				if s.table == table && match {
					tomb.series[k] = true
				}
			}
			m.tombs = append(m.tombs, tomb)
		case op < 95:
			what = "expire"
			cut := int64(r.IntN(100)) * 10
			require.NoError(t, v.ExpireBefore(cut))
			m.expired = max(m.expired, cut)
		case op >= 100:
			what = "rename"
			table := modelTables[r.IntN(len(modelTables))]
			hosts := append(modelHosts[:len(modelHosts):len(modelHosts)], "d", "e")
			h1 := hosts[r.IntN(len(hosts))]
			h2 := hosts[r.IntN(len(hosts))]
			for h2 == h1 {
				h2 = hosts[r.IntN(len(hosts))]
			}
			ver := uint64(r.IntN(6))
			var filter index.Expr = index.Match{Key: "host", Op: index.OpEq, Value: storage.StringTag(h1)}
			ne := r.IntN(3) == 0 // several matched series, only h1 renamed
			other := hosts[r.IntN(len(hosts))]
			if ne {
				filter = index.Match{Key: "host", Op: index.OpNe, Value: storage.StringTag(other)}
			}
			res, err := v.Rename(table, filter, setHost(map[string]string{h1: h2}), ver)
			require.NoError(t, err)
			var matched []string
			for k, s := range m.series {
				if s.table == table && ((!ne && s.host == h1) || (ne && s.host != other)) {
					matched = append(matched, k)
				}
			}
			src, dst := fmt.Sprintf("%x", seriesKey(t, table, "host", h1)), fmt.Sprintf("%x", seriesKey(t, table, "host", h2))
			m.hostOf[dst] = h2
			want := m.rename(table, matched, src, dst, modelSeries{table, h2}, ver)
			require.Equal(t, want, res, "step %d rename %s %s->%s at %d; history %v", step, table, h1, h2, ver, history)
			what = fmt.Sprintf("rename(%s %s->%s v%d ne=%v %s)", table, h1, h2, ver, ne, other)
		default:
			what = "drop"
			table := modelTables[r.IntN(len(modelTables))]
			require.NoError(t, v.DropTable(table))
			m.seq++ // the drop takes a seq
			for k, p := range m.points {
				if m.series[p.series].table == table {
					delete(m.points, k)
				}
			}
			for k, s := range m.series {
				if s.table == table {
					delete(m.series, k)
					m.renames = slices.DeleteFunc(m.renames, func(r modelRename) bool { return r.table == table })
					for _, tomb := range m.tombs { // a re-created series is a new series
						delete(tomb.series, k)
					}
				}
			}
		}
		history = append(history, what)
		for _, table := range modelTables {
			want := m.visible(table)
			got := scanAll(t, v, table)
			require.Equal(t, want, got, "step %d (%s) table %s; history %v", step, what, table, history)
			lo := int64(r.IntN(300)) * 10
			hi := lo + int64(r.IntN(300))*10
			window, origin := int64(r.IntN(3))*250, int64(r.IntN(100))
			wantAgg := m.aggregates(table, lo, hi, window, origin)
			gotAgg, st := engineAggregates(t, v, table, lo, hi, window, origin)
			require.Equal(t, wantAgg, gotAgg, "aggregate step %d (%s) table %s [%d,%d] window %d origin %d", step, what, table, lo, hi, window, origin)
			requireLastOnlyMatches(t, v, table, lo, hi)
			requireLastOnlyMatches(t, v, table, minTime, maxTime)
			aggStats.BlocksFromAgg += st.BlocksFromAgg
			aggStats.BlocksDecoded += st.BlocksDecoded
		}
	}
}

func TestRepeatedDeletesDoNotAccumulateTombstones(t *testing.T) {
	v := openTest(t, t.TempDir(), Options{Sync: wal.SyncNever})
	defer v.Close()
	key := seriesKey(t, "cpu", "host", "a")
	_, err := v.WriteSync(&storage.Batch{Version: 1, Series: []storage.SeriesRows{intRows(key, "v", []int64{10, 20, 30}, []int64{1, 2, 3})}})
	require.NoError(t, err)
	for cut := int64(11); cut <= 31; cut += 10 {
		require.NoError(t, v.Delete("cpu", nil, math.MinInt64, cut, 5))
		require.Equal(t, 1, v.Stats().Tombstones, "a wider delete replaces the narrower one")
	}
	require.Empty(t, scanAll(t, v, "cpu"))
	// A narrower delete does not replace a wider one.
	require.NoError(t, v.Delete("cpu", nil, 0, 5, 5))
	require.Equal(t, 2, v.Stats().Tombstones)
}
