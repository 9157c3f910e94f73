package storage_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage"
)

// The model: a meta value as nested maps (map[string]any for documents, strings for leaves),
// updated the way MongoDB's $set/$unset update documents, then flattened independently.

func modelSet(doc map[string]any, path []string, v any) error {
	for i, p := range path[:len(path)-1] {
		next, ok := doc[p]
		if !ok {
			m := map[string]any{}
			doc[p] = m
			doc = m
			continue
		}
		m, ok := next.(map[string]any)
		if !ok {
			return fmt.Errorf("scalar at %s", strings.Join(path[:i+1], "."))
		}
		doc = m
	}
	doc[path[len(path)-1]] = v
	return nil
}

func modelUnset(doc map[string]any, path []string) {
	for _, p := range path[:len(path)-1] {
		m, ok := doc[p].(map[string]any)
		if !ok {
			return
		}
		doc = m
	}
	delete(doc, path[len(path)-1])
}

func modelFlatten(dst []storage.Tag, prefix string, v any) []storage.Tag {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 0 {
			return append(dst, storage.Tag{Key: prefix, Value: storage.TagValue{Type: storage.TypeDocument, Raw: []byte{5, 0, 0, 0, 0}}})
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			dst = modelFlatten(dst, prefix+"."+k, x[k])
		}
		return dst
	case string:
		return append(dst, storage.Tag{Key: prefix, Value: storage.StringTag(x)})
	}
	panic(v)
}

func modelCopy(v any) any {
	if m, ok := v.(map[string]any); ok {
		out := map[string]any{}
		for k, x := range m {
			out[k] = modelCopy(x)
		}
		return out
	}
	return v
}

func keyOf(meta any) storage.SeriesKey {
	k := storage.SeriesKey{Table: "t"}
	if meta != nil {
		k.Tags = modelFlatten(nil, "m", meta)
	}
	require.NoError(nil, k.Normalize())
	return k
}

// setOp builds a TagOp setting path (below the meta field "m") to v.
func setOp(path string, v any) storage.TagOp {
	return storage.TagOp{Path: path, Tags: modelFlatten(nil, path, v)}
}

func TestTagUpdateTable(t *testing.T) {
	doc := func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	cases := []struct {
		name    string
		meta    any // nil: no meta
		ops     []storage.TagOp
		want    any
		changed bool
		err     string
	}{
		{"set new leaf", doc("a", "1"), []storage.TagOp{setOp("m.b", "2")}, doc("a", "1", "b", "2"), true, ""},
		{"overwrite leaf", doc("a", "1"), []storage.TagOp{setOp("m.a", "2")}, doc("a", "2"), true, ""},
		{"same value", doc("a", "1"), []storage.TagOp{setOp("m.a", "1")}, doc("a", "1"), false, ""},
		{"replace whole meta", doc("a", "1", "b", doc("c", "2")), []storage.TagOp{setOp("m", doc("z", "9"))}, doc("z", "9"), true, ""},
		{"replace doc by scalar", doc("a", doc("x", "1", "y", "2")), []storage.TagOp{setOp("m.a", "s")}, doc("a", "s"), true, ""},
		{"deep create", doc("a", "1"), []storage.TagOp{setOp("m.b.c.d", "2")}, doc("a", "1", "b", doc("c", doc("d", "2"))), true, ""},
		{"fill empty doc", doc("a", doc()), []storage.TagOp{setOp("m.a.b", "2")}, doc("a", doc("b", "2")), true, ""},
		{"scalar in the way", doc("a", "1"), []storage.TagOp{setOp("m.a.b", "2")}, nil, false, "Cannot create field 'b' in element {a: \"1\"}"},
		{"unset leaf", doc("a", "1", "b", "2"), []storage.TagOp{{Path: "m.a", Unset: true}}, doc("b", "2"), true, ""},
		{"unset last leaf keeps {}", doc("a", doc("b", "1")), []storage.TagOp{{Path: "m.a.b", Unset: true}}, doc("a", doc()), true, ""},
		{"unset only field", doc("a", "1"), []storage.TagOp{{Path: "m.a", Unset: true}}, doc(), true, ""},
		{"unset missing", doc("a", "1"), []storage.TagOp{{Path: "m.zz", Unset: true}}, doc("a", "1"), false, ""},
		{"unset through scalar", doc("a", "1"), []storage.TagOp{{Path: "m.a.b", Unset: true}}, doc("a", "1"), false, ""},
		{"unset subtree", doc("a", doc("b", "1", "c", "2"), "d", "3"), []storage.TagOp{{Path: "m.a", Unset: true}}, doc("d", "3"), true, ""},
		{"unset whole meta", doc("a", "1"), []storage.TagOp{{Path: "m", Unset: true}}, nil, true, ""},
		{"set on no meta", nil, []storage.TagOp{setOp("m.a", "1")}, doc("a", "1"), true, ""},
		{"two ops", doc("a", "1"), []storage.TagOp{setOp("m.b", "2"), {Path: "m.a", Unset: true}}, doc("b", "2"), true, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := &storage.TagUpdate{Ops: tc.ops}
			got, changed, err := u.Apply(keyOf(tc.meta))
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				var pe *storage.PathConflictError
				require.ErrorAs(t, err, &pe)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.changed, changed)
			require.Equal(t, keyOf(tc.want), got)
			// the encoding round-trips to the same behaviour
			dec, err := storage.UnmarshalTagUpdate(u.Marshal(nil))
			require.NoError(t, err)
			got2, changed2, err := dec.Apply(keyOf(tc.meta))
			require.NoError(t, err)
			require.Equal(t, got, got2)
			require.Equal(t, changed, changed2)
		})
	}
}

// TestTagUpdateModel applies random set/unset sequences to random meta documents and compares
// with the nested-map model.
func TestTagUpdateModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	names := []string{"a", "b", "c"}
	var randDoc func(depth int) map[string]any
	randDoc = func(depth int) map[string]any {
		m := map[string]any{}
		for _, n := range names {
			switch r := rng.IntN(4); {
			case r == 0 && depth < 2:
				m[n] = randDoc(depth + 1)
			case r <= 2:
				m[n] = fmt.Sprint(rng.IntN(3))
			}
		}
		return m
	}
	randPath := func() []string {
		p := []string{}
		for range 1 + rng.IntN(3) {
			p = append(p, names[rng.IntN(len(names))])
		}
		return p
	}
	for i := range 3000 {
		meta := randDoc(0)
		model := modelCopy(meta).(map[string]any)
		var ops []storage.TagOp
		conflict := false
		for range 1 + rng.IntN(3) {
			p := randPath()
			path := "m." + strings.Join(p, ".")
			if rng.IntN(3) == 0 {
				ops = append(ops, storage.TagOp{Path: path, Unset: true})
				modelUnset(model, p)
				continue
			}
			var v any = fmt.Sprint(rng.IntN(3))
			if rng.IntN(3) == 0 {
				v = randDoc(1)
			}
			ops = append(ops, setOp(path, v))
			if err := modelSet(model, p, modelCopy(v)); err != nil {
				conflict = true
				break
			}
		}
		u := &storage.TagUpdate{Ops: ops}
		before := keyOf(meta)
		got, changed, err := u.Apply(before)
		if conflict {
			require.Error(t, err, "case %d", i)
			continue
		}
		require.NoError(t, err, "case %d", i)
		want := keyOf(model)
		require.Equal(t, want, got, "case %d: %v", i, ops)
		require.Equal(t, !slices.EqualFunc(before.Tags, want.Tags, func(a, b storage.Tag) bool {
			return a.Key == b.Key && a.Value.Compare(b.Value) == 0
		}), changed, "case %d", i)
	}
}

// TestPathConflictMessage: MongoDB's wording and value rendering for a field inside a scalar.
func TestPathConflictMessage(t *testing.T) {
	cases := map[string]storage.TagValue{
		`"x y"`: storage.StringTag("x y"),
		"-5":    {Type: storage.TypeInt32, Raw: storage.EncodeTagInt(-5)},
		"2.5":   {Type: storage.TypeDouble, Raw: storage.EncodeTagFloat(2.5)},
		"true":  {Type: storage.TypeBool, Raw: []byte{1}},
		"null":  {Type: storage.TypeNull},
	}
	for want, v := range cases {
		u := &storage.TagUpdate{Ops: []storage.TagOp{setOp("m.a.b.c", "1")}}
		_, _, err := u.Apply(storage.SeriesKey{Table: "t", Tags: []storage.Tag{{Key: "m.a", Value: v}}})
		require.EqualError(t, err, "Cannot create field 'b' in element {a: "+want+"}")
	}
}

func TestUnmarshalTagUpdateRejects(t *testing.T) {
	good := (&storage.TagUpdate{Ops: []storage.TagOp{setOp("m.a", "1"), {Path: "m.b", Unset: true}}}).Marshal(nil)
	for name, b := range map[string][]byte{
		"empty":          nil,
		"bad version":    {2, 0},
		"truncated":      good[:len(good)-1],
		"trailing":       append(slices.Clone(good), 0),
		"bad flags":      {1, 1, 7, 1, 'm', 0},
		"empty path":     {1, 1, 0, 0, 0},
		"tag outside":    (&storage.TagUpdate{Ops: []storage.TagOp{{Path: "m.a", Tags: []storage.Tag{{Key: "m.b", Value: storage.StringTag("x")}}}}}).Marshal(nil),
		"unset with tag": (&storage.TagUpdate{Ops: []storage.TagOp{{Path: "m.a", Unset: true, Tags: []storage.Tag{{Key: "m.a", Value: storage.StringTag("x")}}}}}).Marshal(nil),
		"huge count":     {1, 0xff, 0xff, 0xff, 0xff, 0x0f},
	} {
		_, err := storage.UnmarshalTagUpdate(b)
		require.Error(t, err, name)
	}
}

func FuzzUnmarshalTagUpdate(f *testing.F) {
	f.Add((&storage.TagUpdate{Ops: []storage.TagOp{setOp("m.a", "1"), {Path: "m.b", Unset: true}}}).Marshal(nil))
	f.Add([]byte{1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		u, err := storage.UnmarshalTagUpdate(b)
		if err != nil {
			return
		}
		again, err := storage.UnmarshalTagUpdate(u.Marshal(nil))
		require.NoError(t, err)
		require.Equal(t, u.Marshal(nil), again.Marshal(nil))
		_, _, _ = u.Apply(storage.SeriesKey{Table: "t", Tags: []storage.Tag{{Key: "m.a", Value: storage.StringTag("x")}}})
	})
}
