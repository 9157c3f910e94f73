package mql

import (
	"cmp"
	"errors"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/wire/mongoerr"
)

func TestProjection(t *testing.T) {
	src := `{"_id": 1, "a": 1, "b": {"c": 2, "d": 3}, "e": [{"c": 4, "d": 5}, 6]}`
	cases := []struct{ proj, want string }{
		{`{}`, src},
		{`{"a": 1}`, `{"_id":1,"a":1}`},
		{`{"a": true, "_id": 0}`, `{"a":1}`},
		{`{"b.c": 1}`, `{"_id":1,"b":{"c":2}}`},
		{`{"e.d": 1}`, `{"_id":1,"e":[{"d":5}]}`},
		{`{"b": {"d": 1}}`, `{"_id":1,"b":{"d":3}}`},
		{`{"a": 0}`, `{"_id":1,"b":{"c":2,"d":3},"e":[{"c":4,"d":5},6]}`},
		{`{"b.c": 0, "e.c": 0, "_id": 0}`, `{"a":1,"b":{"d":3},"e":[{"d":5},6]}`},
		{`{"_id": 0}`, `{"a":1,"b":{"c":2,"d":3},"e":[{"c":4,"d":5},6]}`},
		{`{"x": "$b.c", "a": 1}`, `{"_id":1,"a":1,"x":2}`},
		{`{"x": {"$add": ["$a", 10]}, "_id": 0}`, `{"x":11}`},
	}
	for _, c := range cases {
		p, err := CompileProjection(doc(t, c.proj))
		require.NoError(t, err, c.proj)
		out, err := p.Apply(doc(t, src))
		require.NoError(t, err)
		require.JSONEq(t, canon(t, c.want), ej(t, out), c.proj)
	}
}

func TestProjectionErrors(t *testing.T) {
	cases := []struct {
		proj string
		code mongoerr.Code
	}{
		{`{"a": 1, "b": 0}`, 31254},
		{`{"a": 0, "b": 1}`, 31253},
		{`{"a": 1, "a.b": 1}`, 31250},
		{`{"a": {"$slice": 1}}`, mongoerr.BadValue},
	}
	for _, c := range cases {
		_, err := CompileProjection(doc(t, c.proj))
		var me *mongoerr.Error
		require.True(t, errors.As(err, &me), c.proj)
		require.Equal(t, c.code, me.Code, c.proj)
	}
}

func TestCompareValuesOrder(t *testing.T) {
	// Ascending in MongoDB's order; equal neighbours are marked by same group.
	ordered := []struct {
		js    string
		group int
	}{
		{`{"$minKey": 1}`, 0}, {`null`, 1}, {`{"$numberDouble": "NaN"}`, 2}, {`-1.5`, 3},
		{`{"$numberLong": "-1"}`, 4}, {`1`, 5}, {`1.0`, 5}, {`{"$numberDecimal": "1.00"}`, 5},
		{`{"$numberLong": "9007199254740993"}`, 6}, {`"a"`, 7}, {`"b"`, 8}, {`{}`, 9}, {`{"a": 1}`, 10},
		{`[]`, 11}, {`[1]`, 12}, {`{"$binary": {"base64": "AA==", "subType": "00"}}`, 13},
		{`{"$oid": "000000000000000000000001"}`, 14}, {`false`, 15}, {`true`, 16},
		{`{"$date": "1969-01-01T00:00:00Z"}`, 17}, {`{"$date": "2023-01-01T00:00:00Z"}`, 18},
		{`{"$timestamp": {"t": 1, "i": 1}}`, 19}, {`{"$regularExpression": {"pattern": "a", "options": ""}}`, 20},
		{`{"$maxKey": 1}`, 21},
	}
	for i, a := range ordered {
		for j, b := range ordered {
			want := cmp.Compare(a.group, b.group)
			require.Equal(t, want, CompareValues(val(t, a.js), val(t, b.js)), "%s vs %s (%d,%d)", a.js, b.js, i, j)
		}
	}
	require.Equal(t, -1, CompareValues(missing, vNull()))
}

func TestSort(t *testing.T) {
	docs := []string{
		`{"i": 0, "a": "x"}`, `{"i": 1, "a": 2}`, `{"i": 2}`, `{"i": 3, "a": [5, 1]}`,
		`{"i": 4, "a": null}`, `{"i": 5, "a": {"$numberLong": "3"}}`, `{"i": 6, "a": []}`,
	}
	order := func(spec string) []int32 {
		s, err := CompileSort(doc(t, spec))
		require.NoError(t, err)
		var ds []bson.Raw
		for _, d := range docs {
			ds = append(ds, doc(t, d))
		}
		slices.SortStableFunc(ds, s.Compare)
		var out []int32
		for _, d := range ds {
			out = append(out, d.Lookup("i").Int32())
		}
		return out
	}
	// [] < null == missing < 1 (min of [5,1]) < 2 < 3 < "x"
	require.Equal(t, []int32{6, 2, 4, 3, 1, 5, 0}, order(`{"a": 1}`))
	// desc: "x" > 5 (max of [5,1]) > 3 > 2 > null == missing > []
	require.Equal(t, []int32{0, 3, 5, 1, 2, 4, 6}, order(`{"a": -1}`))
	require.Equal(t, []int32{6, 5, 4, 3, 2, 1, 0}, order(`{"i": -1, "a": 1}`))

	for spec, code := range map[string]mongoerr.Code{`{"a": "x"}`: 15974, `{"a": 2}`: 15975} {
		_, err := CompileSort(doc(t, spec))
		var me *mongoerr.Error
		require.True(t, errors.As(err, &me))
		require.Equal(t, code, me.Code)
	}
}
