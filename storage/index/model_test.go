package index

import (
	"bytes"
	"math"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage"
)

// mkKey encodes a series key from table and alternating tag key / value pairs.
func mkKey(t testing.TB, table string, kv ...any) []byte {
	t.Helper()
	k := storage.SeriesKey{Table: table}
	for i := 0; i < len(kv); i += 2 {
		k.Tags = append(k.Tags, storage.Tag{Key: kv[i].(string), Value: tv(kv[i+1])})
	}
	require.NoError(t, k.Normalize())
	return k.Marshal(nil)
}

// tv makes a tag value: string -> TypeString, int -> TypeInt64, int32 -> TypeInt32, float64 -> TypeDouble,
// bool -> TypeBool, TagValue as is.
func tv(v any) storage.TagValue {
	switch v := v.(type) {
	case string:
		return storage.StringTag(v)
	case int:
		return storage.TagValue{Type: storage.TypeInt64, Raw: storage.EncodeTagInt(int64(v))}
	case int32:
		return storage.TagValue{Type: storage.TypeInt32, Raw: storage.EncodeTagInt(int64(v))}
	case float64:
		// order-preserving float encoding, written here independently of the storage package
		b := math.Float64bits(v)
		if v < 0 {
			b = ^b
		} else {
			b |= 1 << 63
		}
		return storage.TagValue{Type: storage.TypeDouble, Raw: []byte{byte(b >> 56), byte(b >> 48), byte(b >> 40), byte(b >> 32), byte(b >> 24), byte(b >> 16), byte(b >> 8), byte(b)}}
	case bool:
		if v {
			return storage.TagValue{Type: storage.TypeBool, Raw: []byte{1}}
		}
		return storage.TagValue{Type: storage.TypeBool, Raw: []byte{0}}
	case storage.TagValue:
		return v
	case nil:
		return storage.TagValue{}
	}
	panic("tv: unsupported type")
}

// model is a brute-force index: the list of live series with their decoded keys.
type model struct {
	byID map[storage.SeriesID]storage.SeriesKey
}

func newModel() *model { return &model{byID: map[storage.SeriesID]storage.SeriesKey{}} }

func (m *model) add(t testing.TB, id storage.SeriesID, key []byte) {
	k, err := storage.UnmarshalSeriesKey(bytes.Clone(key))
	require.NoError(t, err)
	m.byID[id] = k
}

// eval evaluates e on one series key directly.
func evalModel(k *storage.SeriesKey, e Expr) bool {
	switch e := e.(type) {
	case Match:
		v, has := k.Tag(e.Key)
		switch e.Op {
		case OpEq:
			return has && v.Type == e.Value.Type && bytes.Equal(v.Raw, e.Value.Raw)
		case OpNe:
			return !(has && v.Type == e.Value.Type && bytes.Equal(v.Raw, e.Value.Raw))
		case OpLt, OpLte, OpGt, OpGte:
			if !has || v.Type != e.Value.Type {
				return false
			}
			c := bytes.Compare(v.Raw, e.Value.Raw)
			switch e.Op {
			case OpLt:
				return c < 0
			case OpLte:
				return c <= 0
			case OpGt:
				return c > 0
			}
			return c >= 0
		case OpPrefix:
			return has && v.Type == storage.TypeString && bytes.HasPrefix(v.Raw, e.Value.Raw)
		case OpRegex:
			return has && v.Type == storage.TypeString && e.Regex.Match(v.Raw)
		case OpExists:
			return has
		case OpNotExists:
			return !has
		case OpIn:
			for _, w := range e.Values {
				if has && v.Type == w.Type && bytes.Equal(v.Raw, w.Raw) {
					return true
				}
			}
			return false
		}
		panic("bad op")
	case And:
		for _, c := range e {
			if !evalModel(k, c) {
				return false
			}
		}
		return true
	case Or:
		for _, c := range e {
			if evalModel(k, c) {
				return true
			}
		}
		return false
	case Not:
		return !evalModel(k, e.E)
	}
	panic("bad expr")
}

func (m *model) selectIDs(table string, e Expr) []storage.SeriesID {
	var out []storage.SeriesID
	for id, k := range m.byID {
		if k.Table == table && (e == nil || evalModel(&k, e)) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

func (m *model) tagValues(table, key string) []storage.TagValue {
	var out []storage.TagValue
	for _, k := range m.byID {
		if k.Table != table {
			continue
		}
		if v, ok := k.Tag(key); ok {
			out = append(out, v)
		}
	}
	slices.SortFunc(out, func(a, b storage.TagValue) int {
		if a.Type != b.Type {
			return int(a.Type) - int(b.Type)
		}
		return bytes.Compare(a.Raw, b.Raw)
	})
	return slices.CompactFunc(out, func(a, b storage.TagValue) bool { return a.Type == b.Type && bytes.Equal(a.Raw, b.Raw) })
}

func (m *model) tables() []string {
	set := map[string]bool{}
	for _, k := range m.byID {
		set[k.Table] = true
	}
	var out []string
	for t := range set {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

func (m *model) tagKeys(table string) []string {
	set := map[string]bool{}
	for _, k := range m.byID {
		if k.Table == table {
			for _, t := range k.Tags {
				set[t.Key] = true
			}
		}
	}
	var out []string
	for t := range set {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// checkAgainstModel compares every read API of x with the model.
func checkAgainstModel(t *testing.T, x *Index, m *model) {
	t.Helper()
	require.Equal(t, len(m.byID), x.Len())
	tables := m.tables()
	got := x.Tables()
	if len(tables) == 0 {
		require.Empty(t, got)
	} else {
		require.Equal(t, tables, got)
	}
	for id, k := range m.byID {
		gk, ok := x.Key(id)
		require.True(t, ok, "Key(%#x)", uint64(id))
		require.Equal(t, k.Table, gk.Table)
		require.Equal(t, len(k.Tags), len(gk.Tags))
		for i := range k.Tags {
			require.Equal(t, k.Tags[i].Key, gk.Tags[i].Key)
			require.Zero(t, k.Tags[i].Value.Compare(gk.Tags[i].Value))
		}
		lid, ok := x.Lookup(k.Marshal(nil))
		require.True(t, ok)
		require.Equal(t, id, lid)
	}
	for _, table := range tables {
		all, err := x.Select(table, nil)
		require.NoError(t, err)
		require.Equal(t, m.selectIDs(table, nil), all)
		keys := m.tagKeys(table)
		require.Equal(t, keys, x.TagKeys(table))
		for _, key := range keys {
			want := m.tagValues(table, key)
			gotv := x.TagValues(table, key)
			require.Equal(t, len(want), len(gotv), "TagValues(%s, %s)", table, key)
			for i := range want {
				require.Zero(t, want[i].Compare(gotv[i]), "TagValues(%s, %s)[%d]", table, key, i)
			}
		}
	}
}
