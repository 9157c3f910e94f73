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
