package index

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage"
)

// fixture is a small index with mixed-type tags and the names of its series.
type fixture struct {
	x     *Index
	m     *model
	names map[storage.SeriesID]string
	ids   map[string]storage.SeriesID
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	x, err := Open(t.TempDir(), Options{})
	require.NoError(t, err)
	t.Cleanup(func() { x.Close() })
	f := &fixture{x: x, m: newModel(), names: map[storage.SeriesID]string{}, ids: map[string]storage.SeriesID{}}
	series := []struct {
		name string
		key  []byte
	}{
		{"a", mkKey(t, "cpu", "host", "a1", "region", "us-east", "dc", 1, "v", "x")},
		{"b", mkKey(t, "cpu", "host", "a2", "region", "us-west", "dc", 2, "v", 5)},
		{"c", mkKey(t, "cpu", "host", "b1", "region", "eu-west", "dc", 3, "v", int32(5))},
		{"d", mkKey(t, "cpu", "host", "b2", "region", "eu-east", "v", 2.5)},
		{"e", mkKey(t, "cpu", "host", "c1", "dc", -4, "v", true)},
		{"f", mkKey(t, "cpu", "region", "us-east")},
		{"g", mkKey(t, "cpu")},
		{"h", mkKey(t, "cpu", "host", "", "dc", 10, "v", "xyz")},
		{"i", mkKey(t, "cpu", "host", "a10", "region", "ap", "dc", 7, "v", -1.5)},
		{"m1", mkKey(t, "mem", "host", "a1", "region", "us-east")},
		{"m2", mkKey(t, "mem", "host", "zz")},
	}
	keys := make([][]byte, len(series))
	for i, s := range series {
		keys[i] = s.key
	}
	ids, err := x.GetOrCreate(keys, nil)
	require.NoError(t, err)
	for i, s := range series {
		f.m.add(t, ids[i], s.key)
		f.names[ids[i]] = s.name
		f.ids[s.name] = ids[i]
	}
	return f
}

func (f *fixture) namesOf(ids []storage.SeriesID) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		out = append(out, f.names[id])
	}
	slices.Sort(out)
	return out
}

func TestSelectOps(t *testing.T) {
	f := newFixture(t)
	re := regexp.MustCompile
	m := func(key string, op Op, v any) Match { return Match{Key: key, Op: op, Value: tv(v)} }
	cases := []struct {
		name string
		e    Expr
		want []string // expected series (hand-written; the model must agree too)
	}{
		{"nil", nil, []string{"a", "b", "c", "d", "e", "f", "g", "h", "i"}},
		{"eq", m("host", OpEq, "a1"), []string{"a"}},
		{"eq empty string", m("host", OpEq, ""), []string{"h"}},
		{"eq missing value", m("host", OpEq, "nope"), nil},
		{"eq missing key", m("nokey", OpEq, "a1"), nil},
		{"eq int64 not int32", m("v", OpEq, 5), []string{"b"}},
		{"eq int32", m("v", OpEq, int32(5)), []string{"c"}},
		{"eq bool", m("v", OpEq, true), []string{"e"}},
		{"ne", m("host", OpNe, "a1"), []string{"b", "c", "d", "e", "f", "g", "h", "i"}},
		{"ne missing key", m("nokey", OpNe, "x"), []string{"a", "b", "c", "d", "e", "f", "g", "h", "i"}},
		{"ne other type", m("v", OpNe, "5"), []string{"a", "b", "c", "d", "e", "f", "g", "h", "i"}},
		{"lt int", m("dc", OpLt, 3), []string{"a", "b", "e"}},
		{"lte int", m("dc", OpLte, 3), []string{"a", "b", "c", "e"}},
		{"gt int", m("dc", OpGt, 3), []string{"h", "i"}},
		{"gte int", m("dc", OpGte, 3), []string{"c", "h", "i"}},
		{"gt int absent value", m("dc", OpGt, 5), []string{"h", "i"}},
		{"lt negative", m("dc", OpLt, 0), []string{"e"}},
		{"range wrong type", m("dc", OpLt, "zzz"), nil},
		{"range int32 only", m("v", OpGte, int32(0)), []string{"c"}},
		{"range float", m("v", OpLt, 0.0), []string{"i"}},
		{"range float gte", m("v", OpGte, -1.5), []string{"d", "i"}},
		{"string lt", m("host", OpLt, "b"), []string{"a", "b", "h", "i"}},
		{"string gte", m("host", OpGte, "b1"), []string{"c", "d", "e"}},
		{"prefix", m("host", OpPrefix, "a"), []string{"a", "b", "i"}},
		{"prefix a1", m("host", OpPrefix, "a1"), []string{"a", "i"}},
		{"prefix empty", m("host", OpPrefix, ""), []string{"a", "b", "c", "d", "e", "h", "i"}},
		{"prefix only strings", m("v", OpPrefix, "x"), []string{"a", "h"}},
		{"prefix none", m("host", OpPrefix, "q"), nil},
		{"regex", Match{Key: "region", Op: OpRegex, Regex: re(`^(us|eu)-west$`)}, []string{"b", "c"}},
		{"regex unanchored", Match{Key: "region", Op: OpRegex, Regex: re(`east`)}, []string{"a", "d", "f"}},
		{"regex only strings", Match{Key: "v", Op: OpRegex, Regex: re(`.*`)}, []string{"a", "h"}},
		{"exists", m("dc", OpExists, nil), []string{"a", "b", "c", "e", "h", "i"}},
		{"not exists", m("dc", OpNotExists, nil), []string{"d", "f", "g"}},
		{"in", Match{Key: "host", Op: OpIn, Values: []storage.TagValue{tv("a1"), tv("c1"), tv("a1"), tv("nope")}}, []string{"a", "e"}},
		{"in mixed types", Match{Key: "v", Op: OpIn, Values: []storage.TagValue{tv(5), tv("x"), tv(int32(7))}}, []string{"a", "b"}},
		{"in empty", Match{Key: "host", Op: OpIn}, nil},
		{"and", And{m("region", OpPrefix, "us"), m("dc", OpGte, 2)}, []string{"b"}},
		{"and empty", And{}, []string{"a", "b", "c", "d", "e", "f", "g", "h", "i"}},
		{"and with not", And{m("host", OpPrefix, "a"), Not{m("dc", OpEq, 1)}}, []string{"b", "i"}},
		{"and only not", And{Not{m("host", OpExists, nil)}}, []string{"f", "g"}},
		{"and disjoint", And{m("host", OpEq, "a1"), m("host", OpEq, "a2")}, nil},
		{"or", Or{m("host", OpEq, "a1"), m("dc", OpEq, 3), m("region", OpEq, "us-east")}, []string{"a", "c", "f"}},
		{"or empty", Or{}, nil},
		{"not", Not{m("region", OpExists, nil)}, []string{"e", "g", "h"}},
		{"not not", Not{Not{m("host", OpEq, "b2")}}, []string{"d"}},
		{"nested", Or{And{m("host", OpPrefix, "b"), m("dc", OpExists, nil)}, Not{Or{m("v", OpExists, nil), m("region", OpExists, nil)}}}, []string{"c", "g"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := f.x.Select("cpu", c.e)
			require.NoError(t, err)
			require.True(t, slices.IsSorted(got))
			require.Equal(t, f.m.selectIDs("cpu", c.e), got, "model")
			want := c.want
			if want == nil {
				want = []string{}
			}
			require.Equal(t, want, f.namesOf(got))
		})
	}
}

func TestSelectTablesAndErrors(t *testing.T) {
	f := newFixture(t)
	got, err := f.x.Select("mem", Match{Key: "host", Op: OpEq, Value: tv("a1")})
	require.NoError(t, err)
	require.Equal(t, []string{"m1"}, f.namesOf(got))
	got, err = f.x.Select("nosuch", nil)
	require.NoError(t, err)
	require.Empty(t, got)
	require.Equal(t, []string{"cpu", "mem"}, f.x.Tables())
	require.Equal(t, []string{"dc", "host", "region", "v"}, f.x.TagKeys("cpu"))
	require.Equal(t, []storage.TagValue{tv(-4), tv(1), tv(2), tv(3), tv(7), tv(10)}, f.x.TagValues("cpu", "dc"))
	// v has mixed types: ordered by type code, then bytes.
	vals := f.x.TagValues("cpu", "v")
	require.Equal(t, []storage.TagValue{tv(-1.5), tv(2.5), tv("x"), tv("xyz"), tv(true), tv(int32(5)), tv(5)}, vals)

	for _, bad := range []Expr{
		Match{Key: "", Op: OpEq},
		Match{Key: "a", Op: 0},
		Match{Key: "a", Op: 99},
		Match{Key: "a", Op: OpRegex},
		And{nil},
		Or{Match{Key: "a", Op: OpEq}, Not{}},
		&Match{Key: "a", Op: OpEq},
	} {
		_, err := f.x.Select("cpu", bad)
		require.Error(t, err, "%#v", bad)
	}
	// The result is owned by the caller: changing it leaves the index intact.
	a, err := f.x.Select("cpu", Match{Key: "host", Op: OpEq, Value: tv("a1")})
	require.NoError(t, err)
	a[0] = 0
	b, err := f.x.Select("cpu", Match{Key: "host", Op: OpEq, Value: tv("a1")})
	require.NoError(t, err)
	require.Equal(t, f.ids["a"], b[0])
}

// randomWorld generates random series with mixed-type tags.
type randomWorld struct {
	r *rand.Rand
}

var (
	rwTables = []string{"t0", "t1", "t2"}
	rwKeys   = []string{"host", "region", "dc", "mixed", "rare"}
)

func (w randomWorld) value(key string) any {
	r := w.r
	switch key {
	case "host":
		return fmt.Sprintf("h%d", r.IntN(40))
	case "region":
		return []string{"us-east", "us-west", "eu-west", "eu", "ap-south", ""}[r.IntN(6)]
	case "dc":
		return r.IntN(20) - 5
	case "rare":
		return fmt.Sprintf("r%d", r.IntN(3))
	}
	switch r.IntN(5) {
	case 0:
		return fmt.Sprintf("s%d", r.IntN(10))
	case 1:
		return r.IntN(10) - 3
	case 2:
		return int32(r.IntN(10) - 3)
	case 3:
		return float64(r.IntN(10)-3) / 2
	}
	return r.IntN(2) == 0
}

func (w randomWorld) key(t testing.TB) []byte {
	var kv []any
	for _, k := range rwKeys {
		p := 0.8
		if k == "rare" {
			p = 0.1
		}
		if w.r.Float64() < p {
			kv = append(kv, k, w.value(k))
		}
	}
	return mkKey(t, rwTables[w.r.IntN(len(rwTables))], kv...)
}

func (w randomWorld) expr(depth int) Expr {
	r := w.r
	if depth > 0 && r.IntN(3) == 0 {
		n := r.IntN(4)
		switch r.IntN(3) {
		case 0:
			e := And{}
			for i := 0; i < n; i++ {
				e = append(e, w.expr(depth-1))
			}
			return e
		case 1:
			e := Or{}
			for i := 0; i < n; i++ {
				e = append(e, w.expr(depth-1))
			}
			return e
		default:
			return Not{w.expr(depth - 1)}
		}
	}
	key := rwKeys[r.IntN(len(rwKeys))]
	if r.IntN(10) == 0 {
		key = "absent"
	}
	op := Op(r.IntN(int(OpIn)) + 1)
	m := Match{Key: key, Op: op, Value: tv(w.value(key))}
	switch op {
	case OpPrefix:
		m.Value = tv([]string{"", "h", "h1", "us", "eu-", "s", "x"}[r.IntN(7)])
	case OpRegex:
		m.Regex = regexp.MustCompile([]string{`^h[0-9]$`, `west`, `^$`, `s[1-3]`, `.`}[r.IntN(5)])
	case OpIn:
		for i := r.IntN(4); i > 0; i-- {
			m.Values = append(m.Values, tv(w.value(key)))
		}
	}
	return m
}

func TestSelectRandom(t *testing.T) {
	dir := t.TempDir()
	x, err := Open(dir, Options{SnapshotThreshold: 4 << 10})
	require.NoError(t, err)
	w := randomWorld{rand.New(rand.NewPCG(1, 2))}
	m := newModel()
	var keys [][]byte
	check := func() {
		for i := 0; i < 300; i++ {
			e := w.expr(3)
			table := rwTables[w.r.IntN(len(rwTables))]
			got, err := x.Select(table, e)
			require.NoError(t, err)
			require.Equal(t, m.selectIDs(table, e), got, "expr %#v", e)
			// Matches on each key agrees with Select
			all, err := x.Select(table, nil)
			require.NoError(t, err)
			var viaMatches []storage.SeriesID
			for _, id := range all {
				k, ok := x.Key(id)
				require.True(t, ok)
				if Matches(e, &k) {
					viaMatches = append(viaMatches, id)
				}
			}
			require.Equal(t, got, viaMatches, "Matches vs Select for %#v", e)
		}
		checkAgainstModel(t, x, m)
	}
	for round := 0; round < 4; round++ {
		// Batches of new and existing keys.
		for b := 0; b < 20; b++ {
			batch := make([][]byte, 0, 50)
			for i := 0; i < 50; i++ {
				if len(keys) > 0 && w.r.IntN(3) == 0 {
					batch = append(batch, keys[w.r.IntN(len(keys))])
				} else {
					batch = append(batch, w.key(t))
				}
			}
			ids, err := x.GetOrCreate(batch, nil)
			require.NoError(t, err)
			for i, k := range batch {
				if old, ok := lookupModel(m, k); ok {
					require.Equal(t, old, ids[i])
				} else {
					m.add(t, ids[i], k)
					keys = append(keys, k)
				}
			}
		}
		check()
		// Delete some series, drop a table sometimes.
		var del []storage.SeriesID
		for id := range m.byID {
			if w.r.IntN(8) == 0 {
				del = append(del, id)
			}
		}
		require.NoError(t, x.DeleteSeries(del))
		for _, id := range del {
			delete(m.byID, id)
		}
		if round == 2 {
			require.NoError(t, x.DropTable("t1"))
			for id, k := range m.byID {
				if k.Table == "t1" {
					delete(m.byID, id)
				}
			}
		}
		check()
		require.NoError(t, x.Sync())
		if round%2 == 1 {
			require.NoError(t, x.Close())
			x, err = Open(dir, Options{SnapshotThreshold: 4 << 10})
			require.NoError(t, err)
			check()
		}
	}
	require.NoError(t, x.Close())
}

func lookupModel(m *model, key []byte) (storage.SeriesID, bool) {
	for id, k := range m.byID {
		if string(k.Marshal(nil)) == string(key) {
			return id, true
		}
	}
	return 0, false
}
