package plain

import (
	"bytes"
	"encoding/hex"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
)

var update = flag.Bool("update", false, "rewrite golden files")

func rv(t testing.TB, v any) bson.RawValue {
	t.Helper()
	typ, data, err := bson.MarshalValue(v)
	require.NoError(t, err)
	return bson.RawValue{Type: typ, Value: data}
}

func enc(v bson.RawValue) []byte { return AppendIndexValue(nil, v) }

// TestIndexValueOrder: values listed in MongoDB's comparison order (from its documentation: MinKey,
// null, numbers, strings, objects, arrays, binary, ObjectId, booleans, dates, timestamps, regular
// expressions, MaxKey; numbers by value across types) encode in increasing byte order, and the
// values MongoDB calls equal encode identically.
func TestIndexValueOrder(t *testing.T) {
	dec := func(s string) bson.Decimal128 { d, err := bson.ParseDecimal128(s); require.NoError(t, err); return d }
	oid1, _ := bson.ObjectIDFromHex("000000000000000000000001")
	oid2, _ := bson.ObjectIDFromHex("0000000000000000000000ff")
	groups := [][]any{
		{bson.MinKey{}},
		{nil, bson.Null{}},
		{math.NaN()},
		{math.Inf(-1)},
		{-1e300},
		{int64(math.MinInt64)},
		{int32(-5), int64(-5), -5.0, dec("-5")},
		{-0.5},
		{0, int64(0), 0.0, math.Copysign(0, -1), dec("0")},
		{0.25},
		{int32(1), int64(1), 1.0, dec("1.0")},
		{float64(1 << 53)},
		{int64(1<<53 + 1)},
		{int64(1<<53 + 2), float64(1<<53 + 2)},
		{int64(math.MaxInt64 - 1)},
		{int64(math.MaxInt64)},
		{math.Inf(1)},
		{""},
		{"\x00"},
		{"\x00a"},
		{"a"},
		{"a\x00"},
		{"ab"},
		{"b"},
		{bson.D{}},
		{bson.D{{Key: "a", Value: 1}}},
		{bson.D{{Key: "a", Value: 1}, {Key: "b", Value: 1}}},
		{bson.D{{Key: "a", Value: 2}}},
		{bson.D{{Key: "b", Value: 1}}},
		{bson.D{{Key: "a", Value: "x"}}}, // field types compare before field names
		{bson.A{}},
		{bson.A{1}},
		{bson.A{1, 2}},
		{bson.A{2}},
		{bson.Binary{Subtype: 0, Data: []byte{9, 9}}},
		{bson.Binary{Subtype: 0, Data: []byte{1, 2, 3}}},
		{bson.Binary{Subtype: 4, Data: []byte{0, 0, 0}}},
		{oid1},
		{oid2},
		{false},
		{true},
		{bson.DateTime(-1000)},
		{bson.DateTime(0)},
		{bson.DateTime(1700000000000)},
		{bson.Timestamp{T: 1, I: 5}},
		{bson.Timestamp{T: 2, I: 1}},
		{bson.Regex{Pattern: "a", Options: ""}},
		{bson.Regex{Pattern: "a", Options: "i"}},
		{bson.Regex{Pattern: "b", Options: ""}},
		{bson.MaxKey{}},
	}
	var prev []byte
	for gi, g := range groups {
		var first []byte
		for _, v := range g {
			var val bson.RawValue
			if v == nil {
				val = bson.RawValue{} // a missing field
			} else {
				val = rv(t, v)
			}
			k := enc(val)
			if first == nil {
				first = k
			}
			require.Equal(t, hex.EncodeToString(first), hex.EncodeToString(k), "group %d: %v equals %v", gi, v, g[0])
		}
		if prev != nil {
			require.Negative(t, bytes.Compare(prev, first), "group %d (%v) sorts after group %d", gi, g[0], gi-1)
		}
		prev = first
	}
}

// TestIndexKeyGolden pins the index-key encoding (meta/docs/plain.md) with a golden file.
func TestIndexKeyGolden(t *testing.T) {
	oid, _ := bson.ObjectIDFromHex("65a1b2c3d4e5f60718293a4b")
	vals := []struct {
		name string
		v    any
	}{
		{"null", bson.Null{}}, {"int32 7", int32(7)}, {"int64 -7", int64(-7)}, {"double 2.5", 2.5},
		{"string a\\x00b", "a\x00b"}, {"doc {x: 1}", bson.D{{Key: "x", Value: 1}}}, {"array [1, 'a']", bson.A{1, "a"}},
		{"binary 3 bytes", bson.Binary{Subtype: 0, Data: []byte{1, 2, 3}}}, {"objectid", oid}, {"true", true},
		{"date 1700000000000", bson.DateTime(1700000000000)}, {"timestamp 1,2", bson.Timestamp{T: 1, I: 2}},
		{"regex /a/i", bson.Regex{Pattern: "a", Options: "i"}}, {"minkey", bson.MinKey{}}, {"maxkey", bson.MaxKey{}},
	}
	var out strings.Builder
	for _, x := range vals {
		fmt.Fprintf(&out, "%s: %x\n", x.name, enc(rv(t, x.v)))
	}
	path := filepath.Join("testdata", "indexkeys.golden")
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, []byte(out.String()), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, string(want), out.String())
}

// ixNS is the namespace of the index tests.
var ixNS = NS{Tenant: "t", DB: "db", Coll: "devices"}

func specOf(t testing.TB, name string, unique, sparse bool, key bson.D) IndexSpec {
	k, err := bson.Marshal(key)
	require.NoError(t, err)
	return IndexSpec{Name: name, Key: k, Unique: unique, Sparse: sparse}
}

// scanAll runs a ScanQuery to its end through small pages and returns the distinct document keys
// and the index the store used.
func scanAll(t *testing.T, m *Machine, preds []Pred) (map[string]bool, string) {
	t.Helper()
	out := map[string]bool{}
	q := ScanQuery{NS: ixNS, Limit: 3, Preds: preds}
	index := ""
	for {
		v, err := m.Lookup(q)
		require.NoError(t, err)
		p := v.(ScanPage)
		index = p.Index
		for _, d := range p.Docs {
			out[string(d.Key)] = true
			q.After = d.Pos
		}
		if !p.More {
			return out, index
		}
	}
}

// modelValues is what the model holds per document: field a (a number, an array of numbers or
// missing) and field u (a string or missing).
type modelValues struct {
	a    []int // nil: missing; {} with isArr: an empty array
	arr  bool
	u    string
	hasU bool
}

func (v modelValues) doc(t testing.TB, id int) bson.Raw {
	d := bson.D{{Key: "_id", Value: id}}
	if v.arr {
		a := bson.A{}
		for _, x := range v.a {
			a = append(a, x)
		}
		d = append(d, bson.E{Key: "a", Value: a})
	} else if v.a != nil {
		d = append(d, bson.E{Key: "a", Value: v.a[0]})
	}
	if v.hasU {
		d = append(d, bson.E{Key: "u", Value: v.u})
	}
	b, err := bson.Marshal(d)
	require.NoError(t, err)
	return b
}

// TestIndexModel applies random inserts, replaces and deletes to a collection with a unique
// sparse index on u and a multikey index on a, and checks every status against a model that
// enforces uniqueness itself, and equality, $in and range scans against the model's answers.
func TestIndexModel(t *testing.T) {
	dir := t.TempDir()
	m := openMachine(t, filepath.Join(dir, "a"), DefaultLimits)
	idx := uint64(1)
	res := propose(t, m, idx, Command{Op: OpCreateIndexes, OpID: opBytes(NewOpID()), NS: ixNS, Indexes: []IndexSpec{
		specOf(t, "u_1", true, true, bson.D{{Key: "u", Value: 1}}),
		specOf(t, "a_1", false, false, bson.D{{Key: "a", Value: 1}}),
	}})
	require.Equal(t, CodeOK, res.Code, res.Message)
	require.Equal(t, 2, res.Built)
	model := map[int]modelValues{}
	r := rand.New(rand.NewPCG(3, 4))
	randValues := func() modelValues {
		var v modelValues
		switch r.IntN(4) {
		case 0: // missing
		case 1:
			v.a = []int{r.IntN(10)}
		default:
			v.arr = true
			v.a = []int{}
			for range r.IntN(4) {
				v.a = append(v.a, r.IntN(10))
			}
		}
		if r.IntN(3) > 0 {
			v.hasU, v.u = true, fmt.Sprintf("u%d", r.IntN(15))
		}
		return v
	}
	for step := range 300 {
		idx++
		var items []Item
		var vals []modelValues
		for range 1 + r.IntN(3) {
			id := r.IntN(25)
			it := Item{Mode: []Mode{ModeInsert, ModeReplace, ModeUpsert, ModeDelete}[r.IntN(4)], Key: key(id)}
			v := randValues()
			if it.Mode != ModeDelete {
				it.Doc = v.doc(t, id)
			}
			items, vals = append(items, it), append(vals, v)
		}
		res := propose(t, m, idx, Command{Op: OpWrite, OpID: opBytes(NewOpID()), NS: ixNS, Items: items})
		require.Equal(t, CodeOK, res.Code, res.Message)
		for i, it := range items {
			var id int
			fmt.Sscanf(string(it.Key), "k%d", &id)
			_, found := model[id]
			want := StatusOK
			switch {
			case it.Mode == ModeInsert && found:
				want = StatusExists
			case (it.Mode == ModeReplace || it.Mode == ModeDelete) && !found:
				want = StatusMissing
			case it.Mode != ModeDelete && vals[i].hasU:
				for other, ov := range model {
					if other != id && ov.hasU && ov.u == vals[i].u {
						want = StatusDupKey
					}
				}
			}
			require.Equal(t, want, res.Statuses[i], "step %d item %d %s id %d", step, i, it.Mode, id)
			switch {
			case want != StatusOK:
			case it.Mode == ModeDelete:
				delete(model, id)
			default:
				model[id] = vals[i]
			}
		}
		if step%30 != 0 {
			continue
		}
		// equality on u uses the unique index
		for k := range 15 {
			u := fmt.Sprintf("u%d", k)
			got, index := scanAll(t, m, []Pred{{Path: "u", Eq: []bson.RawValue{rv(t, u)}}})
			require.Equal(t, "u_1", index)
			want := map[string]bool{}
			for id, v := range model {
				if v.hasU && v.u == u {
					want[string(key(id))] = true
				}
			}
			require.Equal(t, want, got, "u = %s", u)
		}
		// $in and ranges on a (numbers of every type; a multikey document comes once)
		lo, hi := r.IntN(10), r.IntN(10)
		if lo > hi {
			lo, hi = hi, lo
		}
		inGot, index := scanAll(t, m, []Pred{{Path: "a", Eq: []bson.RawValue{rv(t, int64(lo)), rv(t, float64(hi))}}})
		require.Equal(t, "a_1", index)
		rangeGot, _ := scanAll(t, m, []Pred{{Path: "a", Lo: rv(t, float64(lo)), Hi: rv(t, int32(hi))}})
		inWant, rangeWant := map[string]bool{}, map[string]bool{}
		for id, v := range model {
			for _, x := range v.a {
				if x == lo || x == hi {
					inWant[string(key(id))] = true
				}
				if x >= lo && x <= hi {
					rangeWant[string(key(id))] = true
				}
			}
		}
		require.Equal(t, inWant, inGot, "a in [%d, %d]", lo, hi)
		require.Equal(t, rangeWant, rangeGot, "%d <= a <= %d", lo, hi)
		// null finds documents without a, and those with an empty array come under undefined
		nullGot, _ := scanAll(t, m, []Pred{{Path: "a", Eq: []bson.RawValue{{Type: bson.TypeNull}}}})
		nullWant := map[string]bool{}
		for id, v := range model {
			if v.a == nil && !v.arr {
				nullWant[string(key(id))] = true
			}
		}
		require.Equal(t, nullWant, nullGot)
	}

	// the indexes survive a snapshot restored elsewhere
	snap, err := m.PrepareSnapshot()
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, m.SaveSnapshot(snap, &buf, nil))
	m2 := openMachine(t, filepath.Join(dir, "b"), DefaultLimits)
	require.NoError(t, m2.RecoverFromSnapshot(bytes.NewReader(buf.Bytes()), nil))
	for k := range 10 {
		a, _ := scanAll(t, m, []Pred{{Path: "a", Eq: []bson.RawValue{rv(t, k)}}})
		b, index := scanAll(t, m2, []Pred{{Path: "a", Eq: []bson.RawValue{rv(t, k)}}})
		require.Equal(t, "a_1", index)
		require.Equal(t, a, b)
	}
	// a document whose u another holds is refused on the restored replica too
	for id, v := range model {
		if !v.hasU {
			continue
		}
		other := 1000 + id
		res := propose(t, m2, m.applied+1, Command{Op: OpWrite, OpID: opBytes(NewOpID()), NS: ixNS, Items: []Item{{Mode: ModeInsert, Key: key(other), Doc: v.doc(t, other)}}})
		require.Equal(t, []Status{StatusDupKey}, res.Statuses)
		require.Len(t, res.Problems, 1)
		require.Equal(t, "u_1", res.Problems[0].Index)
		require.Equal(t, v.u, res.Problems[0].KeyValue.Lookup("u").StringValue())
		break
	}
}

// TestCreateIndexesAllOrNothing: a unique index over existing duplicates, a clash of names or
// keys, or parallel arrays fail createIndexes and build nothing; dropIndexes removes an index
// and its entries; a dropped collection loses its indexes.
func TestCreateIndexesAllOrNothing(t *testing.T) {
	m := openMachine(t, t.TempDir(), DefaultLimits)
	idx := uint64(0)
	run := func(c Command) Result {
		idx++
		c.OpID, c.NS = opBytes(NewOpID()), ixNS
		return propose(t, m, idx, c)
	}
	mk := func(id int, d bson.D) Item {
		b, err := bson.Marshal(append(bson.D{{Key: "_id", Value: id}}, d...))
		require.NoError(t, err)
		return Item{Mode: ModeInsert, Key: key(id), Doc: b}
	}
	res := run(Command{Op: OpWrite, Items: []Item{
		mk(1, bson.D{{Key: "s", Value: "x"}, {Key: "p", Value: bson.A{1, 2}}, {Key: "q", Value: bson.A{3}}}),
		mk(2, bson.D{{Key: "s", Value: "x"}, {Key: "n", Value: bson.D{{Key: "k", Value: 5}}}}),
	}})
	require.Equal(t, []Status{StatusOK, StatusOK}, res.Statuses)

	res = run(Command{Op: OpCreateIndexes, Indexes: []IndexSpec{
		specOf(t, "n.k_1", false, false, bson.D{{Key: "n.k", Value: 1}}),
		specOf(t, "s_1", true, false, bson.D{{Key: "s", Value: 1}}),
	}})
	require.Equal(t, CodeIndex, res.Code)
	require.Equal(t, "s_1", res.Problems[0].Index)
	require.Equal(t, "x", res.Problems[0].KeyValue.Lookup("s").StringValue())
	specs, err := m.Lookup(IndexesQuery{NS: ixNS})
	require.NoError(t, err)
	require.Empty(t, specs, "nothing was built")

	res = run(Command{Op: OpCreateIndexes, Indexes: []IndexSpec{specOf(t, "p_1_q_1", false, false, bson.D{{Key: "p", Value: 1}, {Key: "q", Value: 1}})}})
	require.Equal(t, CodeIndex, res.Code)
	require.Contains(t, res.Message, "parallel arrays")

	res = run(Command{Op: OpCreateIndexes, Indexes: []IndexSpec{specOf(t, "n.k_-1", false, false, bson.D{{Key: "n.k", Value: -1}})}})
	require.Equal(t, CodeOK, res.Code, res.Message)
	require.Equal(t, 1, res.Built)
	got, index := scanAll(t, m, []Pred{{Path: "n.k", Eq: []bson.RawValue{rv(t, 5.0)}}})
	require.Equal(t, "n.k_-1", index)
	require.Equal(t, map[string]bool{string(key(2)): true}, got)
	res = run(Command{Op: OpCreateIndexes, Indexes: []IndexSpec{specOf(t, "n.k_-1", false, false, bson.D{{Key: "n.k", Value: -1}})}})
	require.Equal(t, CodeOK, res.Code)
	require.Zero(t, res.Built, "the same index again is a no-op")
	res = run(Command{Op: OpCreateIndexes, Indexes: []IndexSpec{specOf(t, "n.k_-1", true, false, bson.D{{Key: "n.k", Value: -1}})}})
	require.Equal(t, CodeIndex, res.Code, "same name, other options")
	res = run(Command{Op: OpCreateIndexes, Indexes: []IndexSpec{specOf(t, "other", false, false, bson.D{{Key: "n.k", Value: -1}})}})
	require.Equal(t, CodeIndex, res.Code, "same key, other name")

	// a compound index with one array field is fine; a write with parallel arrays then fails
	res = run(Command{Op: OpCreateIndexes, Indexes: []IndexSpec{specOf(t, "p_1_s_1", false, false, bson.D{{Key: "p", Value: 1}, {Key: "s", Value: 1}})}})
	require.Equal(t, CodeOK, res.Code, res.Message)
	res = run(Command{Op: OpWrite, Items: []Item{mk(3, bson.D{{Key: "p", Value: bson.A{1}}, {Key: "s", Value: bson.A{"a", "b"}}})}})
	require.Equal(t, []Status{StatusBadKey}, res.Statuses)
	require.Equal(t, "p_1_s_1", res.Problems[0].Index)
	got, _ = scanAll(t, m, []Pred{{Path: "p", Eq: []bson.RawValue{rv(t, 2)}}, {Path: "s", Eq: []bson.RawValue{rv(t, "x")}}})
	require.Equal(t, map[string]bool{string(key(1)): true}, got)

	res = run(Command{Op: OpDropIndexes, Names: []string{"n.k_-1", "nope"}})
	require.Equal(t, int64(1), res.Removed)
	_, index = scanAll(t, m, []Pred{{Path: "n.k", Eq: []bson.RawValue{rv(t, 5)}}})
	require.Equal(t, "", index, "a dropped index is not used")
	p := appendLP(collPrefix(spaceIndex, ixNS), "n.k_-1")
	it := m.db.NewIter(nil)
	n := 0
	for it.SeekGE(p); it.Valid() && bytes.HasPrefix(it.Key(), p); it.Next() {
		n++
	}
	require.NoError(t, it.Close())
	require.Zero(t, n, "its entries are gone")

	run(Command{Op: OpDropCollection})
	specs, err = m.Lookup(IndexesQuery{NS: ixNS})
	require.NoError(t, err)
	require.Empty(t, specs)
	it = m.db.NewIter(nil)
	var left []string
	for it.First(); it.Valid(); it.Next() {
		if it.Key()[0] != spaceMeta {
			left = append(left, hex.EncodeToString(it.Key()))
		}
	}
	require.NoError(t, it.Close())
	sort.Strings(left)
	require.Empty(t, left, "a dropped collection leaves no keys")
}

// FuzzIndexEntries: any document bytes (a proposal carries what a client sent) give index
// entries or an error, never a panic, and the entries are sorted and distinct.
func FuzzIndexEntries(f *testing.F) {
	d, _ := bson.Marshal(bson.D{{Key: "a", Value: bson.A{1, bson.D{{Key: "b", Value: "x"}}}}, {Key: "c", Value: bson.D{{Key: "d", Value: 2.5}}}})
	f.Add([]byte(d))
	f.Add([]byte{5, 0, 0, 0, 0})
	ix, err := compileIndex(ixNS, specOf(f, "i", true, false, bson.D{{Key: "a.b", Value: 1}, {Key: "c.d", Value: -1}}))
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, doc []byte) {
		es, err := ix.entriesOf(doc)
		if err != nil {
			return
		}
		for i := 1; i < len(es); i++ {
			require.Negative(t, bytes.Compare(es[i-1].key, es[i].key))
		}
		for _, e := range es {
			_ = ix.keyValue(e)
		}
	})
}

// TestReplaceFrom: replaceFrom gives a collection another one's documents, counts and index
// entries in one step; the source is left without a key, the target keeps its index specs.
func TestReplaceFrom(t *testing.T) {
	m := openMachine(t, t.TempDir(), DefaultLimits)
	idx := uint64(0)
	staging := NS{Tenant: ixNS.Tenant, DB: ixNS.DB, Coll: "devices\x00out.1"}
	run := func(ns NS, c Command) Result {
		idx++
		c.OpID, c.NS = opBytes(NewOpID()), ns
		return propose(t, m, idx, c)
	}
	spec := specOf(t, "u_1", true, false, bson.D{{Key: "u", Value: 1}})
	items := func(from, n int) []Item {
		var out []Item
		for i := from; i < from+n; i++ {
			out = append(out, Item{Mode: ModeInsert, Key: key(i), Doc: modelValues{hasU: true, u: fmt.Sprintf("u%d", i)}.doc(t, i)})
		}
		return out
	}
	require.Equal(t, CodeOK, run(ixNS, Command{Op: OpCreateIndexes, Indexes: []IndexSpec{spec}}).Code)
	run(ixNS, Command{Op: OpWrite, Items: items(0, 5)})
	require.Equal(t, CodeOK, run(staging, Command{Op: OpCreateIndexes, Indexes: []IndexSpec{spec}}).Code)
	run(staging, Command{Op: OpWrite, Items: items(100, 3)})

	res := run(ixNS, Command{Op: OpReplaceFrom, From: staging.Coll})
	require.Equal(t, CodeOK, res.Code, res.Message)
	require.EqualValues(t, 5, res.Removed)
	got := contents(t, m, ixNS, 2)
	require.Len(t, got, 3)
	for i := 100; i < 103; i++ {
		require.Contains(t, got, string(key(i)))
	}
	st, err := m.Lookup(StatsQuery{NS: ixNS})
	require.NoError(t, err)
	require.EqualValues(t, 3, st.(Stats).Count)
	found, index := scanAll(t, m, []Pred{{Path: "u", Eq: []bson.RawValue{rv(t, "u101")}}})
	require.Equal(t, "u_1", index)
	require.Equal(t, map[string]bool{string(key(101)): true}, found)
	old, _ := scanAll(t, m, []Pred{{Path: "u", Eq: []bson.RawValue{rv(t, "u1")}}})
	require.Empty(t, old, "the old documents' entries are gone")
	require.Equal(t, []Status{StatusDupKey}, run(ixNS, Command{Op: OpWrite, Items: []Item{{Mode: ModeInsert, Key: key(7), Doc: modelValues{hasU: true, u: "u102"}.doc(t, 7)}}}).Statuses)
	it := m.db.NewIter(nil)
	for it.First(); it.Valid(); it.Next() {
		require.NotContains(t, string(it.Key()), "\x00out.1", "a key of the staging collection is left: %x", it.Key())
	}
	require.NoError(t, it.Close())
}
