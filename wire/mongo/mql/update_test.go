package mql

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/wire/mongoerr"
)

// TestUpdateOperators: each row is a document, an update and the document MongoDB gives (written
// from MongoDB's update operator documentation), or its error code.
func TestUpdateOperators(t *testing.T) {
	now := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	cases := []struct {
		name, doc, upd, want string
		insert               bool
		code                 int32
	}{
		{"set new and existing", `{"_id": 1, "a": 1}`, `{"$set": {"a": 2, "b.c": "x"}}`, `{"_id": 1, "a": 2, "b": {"c": "x"}}`, false, 0},
		{"set array index", `{"_id": 1, "a": [1, 2]}`, `{"$set": {"a.1": 5, "a.3": 7}}`, `{"_id": 1, "a": [1, 5, null, 7]}`, false, 0},
		{"set through a scalar", `{"_id": 1, "a": 1}`, `{"$set": {"a.b": 2}}`, ``, false, 28},
		{"unset", `{"_id": 1, "a": 1, "b": {"c": 1, "d": 2}}`, `{"$unset": {"a": "", "b.c": 1, "zz": 1}}`, `{"_id": 1, "b": {"d": 2}}`, false, 0},
		{"unset array element", `{"_id": 1, "a": [1, 2]}`, `{"$unset": {"a.0": 1}}`, `{"_id": 1, "a": [null, 2]}`, false, 0},
		{"inc int32 overflow to long", `{"_id": 1, "a": 2147483647}`, `{"$inc": {"a": 1, "n": 5}}`, `{"_id": 1, "a": {"$numberLong": "2147483648"}, "n": 5}`, false, 0},
		{"inc double", `{"_id": 1, "a": 1.5}`, `{"$inc": {"a": 1}}`, `{"_id": 1, "a": 2.5}`, false, 0},
		{"inc non-numeric field", `{"_id": 1, "a": "x"}`, `{"$inc": {"a": 1}}`, ``, false, 14},
		{"inc non-numeric argument", `{"_id": 1}`, `{"$inc": {"a": "1"}}`, ``, false, 14},
		{"mul missing gives zero", `{"_id": 1, "b": 3}`, `{"$mul": {"a": 5, "b": 2}}`, `{"_id": 1, "b": 6, "a": 0}`, false, 0},
		{"min max", `{"_id": 1, "lo": 5, "hi": 5}`, `{"$min": {"lo": 3, "hi": 9}, "$max": {"x": 1}}`, `{"_id": 1, "lo": 3, "hi": 5, "x": 1}`, false, 0},
		{"rename", `{"_id": 1, "a": 1, "b": 2}`, `{"$rename": {"a": "c.d"}}`, `{"_id": 1, "b": 2, "c": {"d": 1}}`, false, 0},
		{"setOnInsert on update", `{"_id": 1}`, `{"$setOnInsert": {"a": 1}}`, `{"_id": 1}`, false, 0},
		{"setOnInsert on insert", `{"_id": 1}`, `{"$setOnInsert": {"a": 1}}`, `{"_id": 1, "a": 1}`, true, 0},
		{"currentDate", `{"_id": 1}`, `{"$currentDate": {"d": true}}`, `{"_id": 1, "d": {"$date": "2024-05-06T07:08:09Z"}}`, false, 0},
		{"push each", `{"_id": 1, "a": [1]}`, `{"$push": {"a": {"$each": [2, 3]}, "b": 9}}`, `{"_id": 1, "a": [1, 2, 3], "b": [9]}`, false, 0},
		{"push to a scalar", `{"_id": 1, "a": 1}`, `{"$push": {"a": 2}}`, ``, false, 2},
		{"addToSet", `{"_id": 1, "a": [1, 2]}`, `{"$addToSet": {"a": {"$each": [2, 3, 3.0]}}}`, `{"_id": 1, "a": [1, 2, 3]}`, false, 0},
		{"pop", `{"_id": 1, "a": [1, 2, 3], "b": [1, 2]}`, `{"$pop": {"a": 1, "b": -1}}`, `{"_id": 1, "a": [1, 2], "b": [2]}`, false, 0},
		{"replacement keeps _id", `{"_id": 1, "a": 1}`, `{"b": 2}`, `{"_id": 1, "b": 2}`, false, 0},
		{"replacement changes _id", `{"_id": 1, "a": 1}`, `{"_id": 2, "b": 2}`, ``, false, 66},
		{"set _id", `{"_id": 1}`, `{"$set": {"_id": 2}}`, ``, false, 66},
		{"pipeline", `{"_id": 1, "a": 2}`, `[{"$set": {"b": {"$multiply": ["$a", 10]}}}, {"$unset": "a"}]`, `{"_id": 1, "b": 20}`, false, 0},
		{"unknown modifier", `{"_id": 1}`, `{"$frob": {"a": 1}}`, ``, false, 9},
		{"conflicting paths", `{"_id": 1}`, `{"$set": {"a.b": 1}, "$inc": {"a": 1}}`, ``, false, 40},
		{"dollar field in a replacement", `{"_id": 1}`, `{"a": 1, "$set": {"b": 1}}`, ``, false, 52},
		{"modifier on a non-document", `{"_id": 1}`, `{"$set": 5}`, ``, false, 9},
		// the array operators, rows from MongoDB's documentation of each
		{"pull in and value", `{"_id": 1, "fruits": ["apples", "pears", "oranges", "grapes", "bananas"], "vegetables": ["carrots", "celery", "squash", "carrots"]}`,
			`{"$pull": {"fruits": {"$in": ["apples", "oranges"]}, "vegetables": "carrots"}}`, `{"_id": 1, "fruits": ["pears", "grapes", "bananas"], "vegetables": ["celery", "squash"]}`, false, 0},
		{"pull condition", `{"_id": 1, "votes": [3, 5, 6, 7, 7, 8]}`, `{"$pull": {"votes": {"$gte": 6}}}`, `{"_id": 1, "votes": [3, 5]}`, false, 0},
		{"pull documents", `{"_id": 1, "results": [{"item": "A", "score": 5}, {"item": "B", "score": 8}]}`, `{"$pull": {"results": {"score": 8, "item": "B"}}}`, `{"_id": 1, "results": [{"item": "A", "score": 5}]}`, false, 0},
		{"pull regex", `{"_id": 1, "a": ["ab", "cd", "ax"]}`, `{"$pull": {"a": {"$regularExpression": {"pattern": "^a", "options": ""}}}}`, `{"_id": 1, "a": ["cd"]}`, false, 0},
		{"pull missing", `{"_id": 1}`, `{"$pull": {"a": 1}}`, `{"_id": 1}`, false, 0},
		{"pull a scalar", `{"_id": 1, "a": 1}`, `{"$pull": {"a": 1}}`, ``, false, 2},
		{"pullAll", `{"_id": 1, "scores": [0, 2, 5, 5, 1, 0]}`, `{"$pullAll": {"scores": [0, 5]}}`, `{"_id": 1, "scores": [2, 1]}`, false, 0},
		{"pullAll not an array", `{"_id": 1, "scores": [0]}`, `{"$pullAll": {"scores": 0}}`, ``, false, 2},
		{"bit and", `{"_id": 1, "expdata": 13}`, `{"$bit": {"expdata": {"and": 10}}}`, `{"_id": 1, "expdata": 8}`, false, 0},
		{"bit or long", `{"_id": 2, "expdata": {"$numberLong": "3"}}`, `{"$bit": {"expdata": {"or": 5}}}`, `{"_id": 2, "expdata": {"$numberLong": "7"}}`, false, 0},
		{"bit xor", `{"_id": 3, "expdata": 1}`, `{"$bit": {"expdata": {"xor": 5}}}`, `{"_id": 3, "expdata": 4}`, false, 0},
		{"bit on a double", `{"_id": 3, "expdata": 1.5}`, `{"$bit": {"expdata": {"xor": 5}}}`, ``, false, 2},
		{"bit bad operator", `{"_id": 3}`, `{"$bit": {"expdata": {"nand": 5}}}`, ``, false, 2},
		{"push sort slice", `{"_id": 5, "quizzes": [{"wk": 1, "score": 10}, {"wk": 2, "score": 8}, {"wk": 3, "score": 5}, {"wk": 4, "score": 6}]}`,
			`{"$push": {"quizzes": {"$each": [{"wk": 5, "score": 8}, {"wk": 6, "score": 7}, {"wk": 7, "score": 6}], "$sort": {"score": -1}, "$slice": 3}}}`,
			`{"_id": 5, "quizzes": [{"wk": 1, "score": 10}, {"wk": 2, "score": 8}, {"wk": 5, "score": 8}]}`, false, 0},
		{"push position", `{"_id": 1, "scores": [100]}`, `{"$push": {"scores": {"$each": [50, 60, 70], "$position": 0}}}`, `{"_id": 1, "scores": [50, 60, 70, 100]}`, false, 0},
		{"push negative position", `{"_id": 1, "scores": [50, 60, 70, 100]}`, `{"$push": {"scores": {"$each": [20, 30], "$position": -2}}}`, `{"_id": 1, "scores": [50, 60, 20, 30, 70, 100]}`, false, 0},
		{"push slice last", `{"_id": 1, "s": [1, 2, 3]}`, `{"$push": {"s": {"$each": [4, 5], "$slice": -3.0}}}`, `{"_id": 1, "s": [3, 4, 5]}`, false, 0},
		{"push sort values", `{"_id": 1, "s": [3, 1]}`, `{"$push": {"s": {"$each": [2], "$sort": -1}}}`, `{"_id": 1, "s": [3, 2, 1]}`, false, 0},
		{"all positional", `{"_id": 1, "grades": [85, 82, 80]}`, `{"$inc": {"grades.$[]": 10}}`, `{"_id": 1, "grades": [95, 92, 90]}`, false, 0},
		{"all positional on missing", `{"_id": 1}`, `{"$inc": {"grades.$[]": 10}}`, ``, false, 2},
		{"rename dynamic", `{"_id": 1, "a": [1]}`, `{"$rename": {"a.$[]": "b"}}`, ``, false, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			u := val(t, c.upd)
			up, err := CompileUpdate(u, now)
			if err == nil {
				var out []byte
				out, err = up.Apply(doc(t, c.doc), c.insert)
				if err == nil {
					require.Zero(t, c.code, "want error %d, got %s", c.code, ej(t, out))
					require.Equal(t, canon(t, c.want), ej(t, out))
					return
				}
			}
			var me *mongoerr.Error
			require.True(t, errors.As(err, &me), "%v", err)
			require.EqualValues(t, c.code, me.Code, "%v", err)
		})
	}
}

func TestUpsertSeed(t *testing.T) {
	for _, c := range []struct{ q, want string }{
		{`{"_id": 5, "a.b": "x", "n": {"$gt": 1}, "e": {"$eq": 2}}`, `{"_id": 5, "a": {"b": "x"}, "e": 2}`},
		{`{"$and": [{"a": 1}, {"b": {"$in": [1]}}], "$or": [{"c": 1}]}`, `{"a": 1}`},
		{`{}`, `{}`},
	} {
		got, err := UpsertSeed(doc(t, c.q))
		require.NoError(t, err)
		require.Equal(t, canon(t, c.want), ej(t, got), c.q)
	}
}

// TestPositionalUpdates: "$", "$[]" and "$[id]" with the statement's query and arrayFilters; rows
// from MongoDB's documentation of the positional operators.
func TestPositionalUpdates(t *testing.T) {
	cases := []struct {
		name, doc, query, upd, filters, want string
		code                                 int32
	}{
		{"filtered element", `{"_id": 3, "grades": [95, 110, 100]}`, `{}`, `{"$set": {"grades.$[element]": 100}}`, `[{"element": {"$gte": 100}}]`, `{"_id": 3, "grades": [95, 100, 100]}`, 0},
		{"filtered documents", `{"_id": 1, "grades": [{"grade": 80, "mean": 75, "std": 6}, {"grade": 85, "mean": 90, "std": 4}, {"grade": 85, "mean": 85, "std": 6}]}`, `{}`,
			`{"$set": {"grades.$[elem].mean": 100}}`, `[{"elem.grade": {"$gte": 85}}]`,
			`{"_id": 1, "grades": [{"grade": 80, "mean": 75, "std": 6}, {"grade": 85, "mean": 100, "std": 4}, {"grade": 85, "mean": 100, "std": 6}]}`, 0},
		{"two filters", `{"_id": 1, "a": [{"b": [1, 2, 3]}, {"b": [4]}]}`, `{}`, `{"$inc": {"a.$[x].b.$[y]": 10}}`, `[{"x.b": 4}, {"y": {"$gte": 2}}]`,
			`{"_id": 1, "a": [{"b": [1, 2, 3]}, {"b": [14]}]}`, 0},
		{"first matched", `{"_id": 1, "grades": [85, 80, 80]}`, `{"_id": 1, "grades": 80}`, `{"$set": {"grades.$": 82}}`, `[]`, `{"_id": 1, "grades": [85, 82, 80]}`, 0},
		{"first matched document", `{"_id": 4, "grades": [{"grade": 80, "std": 8}, {"grade": 85, "std": 5}, {"grade": 85, "std": 8}]}`, `{"_id": 4, "grades.grade": 85}`,
			`{"$set": {"grades.$.std": 6}}`, `[]`, `{"_id": 4, "grades": [{"grade": 80, "std": 8}, {"grade": 85, "std": 6}, {"grade": 85, "std": 8}]}`, 0},
		{"first matched pull", `{"_id": 1, "a": [{"k": 1, "v": [1, 2]}, {"k": 2, "v": [1, 2]}]}`, `{"a.k": 2}`, `{"$pull": {"a.$.v": 1}}`, `[]`,
			`{"_id": 1, "a": [{"k": 1, "v": [1, 2]}, {"k": 2, "v": [2]}]}`, 0},
		{"no match for $", `{"_id": 1, "grades": [85]}`, `{"_id": 1}`, `{"$set": {"grades.$": 1}}`, `[]`, ``, 2},
		{"missing filter", `{"_id": 1, "a": [1]}`, `{}`, `{"$set": {"a.$[x]": 1}}`, `[]`, ``, 2},
		{"unused filter", `{"_id": 1, "a": [1]}`, `{}`, `{"$set": {"a.$[]": 1}}`, `[{"x": 1}]`, ``, 9},
		{"bad identifier", `{"_id": 1, "a": [1]}`, `{}`, `{"$set": {"a.$[X]": 1}}`, `[{"X": 1}]`, ``, 2},
		{"two identifiers in one filter", `{"_id": 1, "a": [1]}`, `{}`, `{"$set": {"a.$[x]": 1}}`, `[{"x": 1, "y": 2}]`, ``, 9},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			filters := val(t, c.filters)
			up, err := CompileUpdateIn(val(t, c.upd), time.Now(), UpdateContext{Query: doc(t, c.query), ArrayFilters: values(filters.Value)})
			if err == nil {
				var out []byte
				out, err = up.Apply(doc(t, c.doc), false)
				if err == nil {
					require.Zero(t, c.code, "want error %d, got %s", c.code, ej(t, out))
					require.Equal(t, canon(t, c.want), ej(t, out))
					return
				}
			}
			var me *mongoerr.Error
			require.True(t, errors.As(err, &me), "%v", err)
			require.EqualValues(t, c.code, me.Code, "%v", err)
		})
	}
}
