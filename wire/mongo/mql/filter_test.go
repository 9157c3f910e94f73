package mql

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/wire/mongoerr"
)

func TestFilterMatch(t *testing.T) {
	cases := []struct {
		filter, doc string
		want        bool
	}{
		{`{}`, `{"a": 1}`, true},
		{`{"a": 1}`, `{"a": 1}`, true},
		{`{"a": 1}`, `{"a": {"$numberLong": "1"}}`, true},
		{`{"a": 1}`, `{"a": 1.0}`, true},
		{`{"a": {"$numberDecimal": "1.0"}}`, `{"a": 1}`, true},
		{`{"a": 1}`, `{"a": "1"}`, false},
		{`{"a": 1}`, `{"a": [3, 1]}`, true},
		{`{"a": [3, 1]}`, `{"a": [3, 1]}`, true},
		{`{"a": [1, 3]}`, `{"a": [3, 1]}`, false},
		{`{"a": null}`, `{}`, true},
		{`{"a": null}`, `{"a": null}`, true},
		{`{"a": null}`, `{"a": 0}`, false},
		{`{"a": {"$exists": false}}`, `{"a": null}`, false},
		{`{"a": {"$exists": true}}`, `{"a": null}`, true},
		{`{"a.b": 2}`, `{"a": {"b": 2}}`, true},
		{`{"a.b": 2}`, `{"a": [{"b": 1}, {"b": 2}]}`, true},
		{`{"a.b": null}`, `{"a": [{"b": 1}, {"c": 2}]}`, true},
		{`{"a.1": 5}`, `{"a": [4, 5]}`, true},
		{`{"a": {"$gt": 1}}`, `{"a": "b"}`, false},
		{`{"a": {"$gt": "a"}}`, `{"a": "b"}`, true},
		{`{"a": {"$gt": 1}}`, `{"a": [0, 2]}`, true},
		{`{"a": {"$gt": 1, "$lt": 2}}`, `{"a": [0, 3]}`, true},
		{`{"a": {"$elemMatch": {"$gt": 1, "$lt": 2}}}`, `{"a": [0, 3]}`, false},
		{`{"a": {"$elemMatch": {"$gt": 1, "$lt": 4}}}`, `{"a": [0, 3]}`, true},
		{`{"a": {"$elemMatch": {"x": 1, "y": 2}}}`, `{"a": [{"x": 1, "y": 2}]}`, true},
		{`{"a": {"$elemMatch": {"x": 1, "y": 2}}}`, `{"a": [{"x": 1}, {"y": 2}]}`, false},
		{`{"a": {"$gte": null}}`, `{}`, true},
		{`{"a": {"$lt": null}}`, `{}`, false},
		{`{"a": {"$ne": 1}}`, `{}`, true},
		{`{"a": {"$ne": 1}}`, `{"a": [1, 2]}`, false},
		{`{"a": {"$in": [1, "x"]}}`, `{"a": "x"}`, true},
		{`{"a": {"$in": [null]}}`, `{}`, true},
		{`{"a": {"$in": [{"$regularExpression": {"pattern": "^x", "options": ""}}]}}`, `{"a": "xy"}`, true},
		{`{"a": {"$nin": [1, 2]}}`, `{"a": 3}`, true},
		{`{"a": {"$nin": [1, 2]}}`, `{"a": 2.0}`, false},
		{`{"a": {"$type": "string"}}`, `{"a": "s"}`, true},
		{`{"a": {"$type": "number"}}`, `{"a": {"$numberLong": "5"}}`, true},
		{`{"a": {"$type": 16}}`, `{"a": {"$numberLong": "5"}}`, false},
		{`{"a": {"$type": "array"}}`, `{"a": []}`, true},
		{`{"a": {"$type": ["null", "int"]}}`, `{"a": [null]}`, true},
		{`{"a": {"$size": 2}}`, `{"a": [1, [2, 3]]}`, true},
		{`{"a": {"$size": 1}}`, `{"a": [1, [2, 3]]}`, false},
		{`{"a": {"$mod": [4, 1]}}`, `{"a": 9}`, true},
		{`{"a": {"$mod": [4, 1]}}`, `{"a": 9.9}`, true},
		{`{"a": {"$mod": [4, 1]}}`, `{"a": 10}`, false},
		{`{"a": {"$all": [1, 2]}}`, `{"a": [2, 3, 1]}`, true},
		{`{"a": {"$all": [1, 4]}}`, `{"a": [2, 3, 1]}`, false},
		{`{"a": {"$all": []}}`, `{"a": [1]}`, false},
		{`{"a": {"$regex": "^ab", "$options": "i"}}`, `{"a": "ABc"}`, true},
		{`{"a": {"$regex": "^ab"}}`, `{"a": "ABc"}`, false},
		{`{"a": {"$regularExpression": {"pattern": "b", "options": ""}}}`, `{"a": ["x", "abc"]}`, true},
		{`{"a": {"$not": {"$gt": 5}}}`, `{"a": 3}`, true},
		{`{"a": {"$not": {"$gt": 5}}}`, `{}`, true},
		{`{"a": {"$not": {"$regularExpression": {"pattern": "^x", "options": ""}}}}`, `{"a": "xa"}`, false},
		{`{"$or": [{"a": 1}, {"b": 2}]}`, `{"b": 2}`, true},
		{`{"$and": [{"a": 1}, {"b": 2}]}`, `{"b": 2}`, false},
		{`{"$nor": [{"a": 1}, {"b": 2}]}`, `{"c": 2}`, true},
		{`{"$expr": {"$gt": ["$a", "$b"]}}`, `{"a": 3, "b": 2}`, true},
		{`{"$expr": {"$gt": ["$a", "$b"]}}`, `{"a": 1, "b": 2}`, false},
		{`{"t": {"$gte": {"$date": "2023-03-09T00:00:00Z"}, "$lt": {"$date": "2023-03-10T00:00:00Z"}}}`, `{"t": {"$date": "2023-03-09T12:00:00Z"}}`, true},
		{`{"t": {"$gte": {"$date": "2023-03-09T00:00:00Z"}}}`, `{"t": "2023-03-09"}`, false},
		{`{"a": {"b": 1}}`, `{"a": {"b": 1}}`, true},
		{`{"a": {"b": 1}}`, `{"a": {"b": 1, "c": 2}}`, false},
		{`{"a": {"$eq": {"$numberDouble": "NaN"}}}`, `{"a": {"$numberDouble": "NaN"}}`, true},
		{`{"a": {"$lt": 5}}`, `{"a": {"$numberDouble": "NaN"}}`, false},
		{`{"a": {"$gt": {"$minKey": 1}}}`, `{"a": "x"}`, true},
		{`{"a": {"$lt": {"$numberLong": "9007199254740993"}}}`, `{"a": 9007199254740992.0}`, true},
		{`{"a": {"$eq": {"$numberLong": "9007199254740993"}}}`, `{"a": 9007199254740992.0}`, false},
		{`{"$comment": "x", "a": 1}`, `{"a": 1}`, true},
	}
	for _, c := range cases {
		f, err := CompileFilter(doc(t, c.filter))
		require.NoError(t, err, c.filter)
		got, err := f.Match(doc(t, c.doc))
		require.NoError(t, err)
		require.Equal(t, c.want, got, "%s on %s", c.filter, c.doc)
	}
}

func TestFilterNilMatchesAll(t *testing.T) {
	f, err := CompileFilter(nil)
	require.NoError(t, err)
	ok, err := f.Match(doc(t, `{"x": 1}`))
	require.NoError(t, err)
	require.True(t, ok)
}

func TestFilterErrors(t *testing.T) {
	cases := []struct {
		filter string
		code   mongoerr.Code
		msg    string
	}{
		{`{"a": {"$foo": 1}}`, mongoerr.BadValue, "unknown operator: $foo"},
		{`{"$foo": 1}`, mongoerr.BadValue, "unknown top level operator: $foo"},
		{`{"$or": []}`, mongoerr.BadValue, "$and/$or/$nor must be a nonempty array"},
		{`{"$or": [1]}`, mongoerr.BadValue, "$or/$and/$nor entries need to be full objects"},
		{`{"a": {"$in": 1}}`, mongoerr.BadValue, "$in needs an array"},
		{`{"a": {"$mod": [0, 1]}}`, mongoerr.BadValue, "divisor cannot be 0"},
		{`{"a": {"$type": "foo"}}`, mongoerr.BadValue, "Unknown type name alias: foo"},
		{`{"a": {"$options": "i"}}`, mongoerr.BadValue, "$options needs a $regex"},
		{`{"$expr": {"$foo": 1}}`, codeInvalidPipelineOperator, "Unrecognized expression '$foo'"},
	}
	for _, c := range cases {
		_, err := CompileFilter(doc(t, c.filter))
		var me *mongoerr.Error
		require.True(t, errors.As(err, &me), "%s: %v", c.filter, err)
		require.Equal(t, c.code, me.Code, c.filter)
		require.Equal(t, c.msg, me.Msg, c.filter)
	}
}

func FuzzCompileFilter(f *testing.F) {
	for _, s := range []string{`{"a": 1}`, `{"a": {"$gt": 1, "$in": [1, "x"]}}`, `{"$or": [{"a.b": {"$elemMatch": {"c": 1}}}]}`,
		`{"$expr": {"$add": ["$a", 1]}}`, `{"a": {"$not": {"$regex": "x"}}}`} {
		var d []byte
		d = doc(f, s)
		f.Add(d)
	}
	target := doc(f, `{"a": [1, {"b": "x"}], "c": {"d": 2.5}, "t": {"$date": "2023-01-01T00:00:00Z"}}`)
	f.Fuzz(func(t *testing.T, b []byte) {
		flt, err := CompileFilter(b)
		if err != nil {
			return
		}
		_, _ = flt.Match(target)
		_, _ = ExtractPushdown(b, "t", "c")
	})
}
