package mql

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/wire/mongoerr"
)

// lookupOpts serves collection "devices" from docs (JSON) and counts the reads.
func lookupOpts(t *testing.T, docs []string, reads *int) PipelineOptions {
	return PipelineOptions{Lookup: func(coll string, out func(bson.Raw) error) error {
		*reads++
		if coll != "devices" {
			return nil
		}
		for _, d := range docs {
			if err := out(doc(t, d)); err != nil {
				return err
			}
		}
		return nil
	}}
}

// TestLookupEqualityModel: random readings and devices with scalar, array, null and missing join
// fields; $lookup's result for each reading is computed here by a plain scan of the devices
// (MongoDB's rule: a local value, or each element of a local array, equals a foreign value or an
// element of a foreign array; missing equals null), and the collection is read once per run.
func TestLookupEqualityModel(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	// values as Go numbers or nil (null) or "missing"; arrays of them
	gen := func() any {
		switch r.IntN(6) {
		case 0:
			return "missing"
		case 1:
			return nil
		case 2:
			return []any{r.IntN(5), r.IntN(5)}
		default:
			return r.IntN(5)
		}
	}
	js := func(id int, field string, v any) string {
		switch x := v.(type) {
		case string:
			return fmt.Sprintf(`{"_id": %d}`, id)
		case nil:
			return fmt.Sprintf(`{"_id": %d, "%s": null}`, id, field)
		case []any:
			return fmt.Sprintf(`{"_id": %d, "%s": [%d, %d.0]}`, id, field, x[0], x[1])
		default:
			return fmt.Sprintf(`{"_id": %d, "%s": {"$numberLong": "%d"}}`, id, field, x)
		}
	}
	// scalars a value stands for: numbers and null (missing is null)
	scalars := func(v any) []any {
		switch x := v.(type) {
		case string:
			return []any{nil}
		case []any:
			return x
		}
		return []any{v}
	}
	var devs, reads []string
	var devVals, readVals []any
	for i := range 12 {
		v := gen()
		devs, devVals = append(devs, js(i, "code", v)), append(devVals, v)
	}
	for i := range 30 {
		v := gen()
		reads, readVals = append(reads, js(100+i, "dev", v)), append(readVals, v)
	}
	n := 0
	got, err := runPipeline(t, []string{`{"$lookup": {"from": "devices", "localField": "dev", "foreignField": "code", "as": "d"}}`}, reads, lookupOpts(t, devs, &n))
	require.NoError(t, err)
	require.Equal(t, 1, n, "the other collection is read once")
	require.Len(t, got, len(reads))
	for i, rv := range readVals {
		var want []string
		for j, dv := range devVals {
			hit := false
			locals := scalars(rv)
			if arr, ok := rv.([]any); ok {
				locals = arr
			}
			foreign := scalars(dv)
			for _, l := range locals {
				for _, f := range foreign {
					if l == f {
						hit = true
					}
				}
			}
			if hit {
				want = append(want, ej(t, doc(t, devs[j])))
			}
		}
		d := doc(t, got[i]).Lookup("d").Array()
		vals, _ := d.Values()
		var gotDocs []string
		for _, v := range vals {
			gotDocs = append(gotDocs, ej(t, v.Document()))
		}
		require.Equal(t, want, gotDocs, "reading %s", reads[i])
	}
}

func TestLookupForms(t *testing.T) {
	devs := []string{`{"_id": "d1", "site": "a", "floor": 1}`, `{"_id": "d2", "site": "b", "floor": 2}`, `{"_id": "d3", "site": "a", "floor": 3}`}
	input := []string{`{"dev": "d1", "min": 2}`, `{"dev": "d3", "min": 2}`, `{"dev": "zz", "min": 0}`}
	cases := []struct {
		name  string
		stage string
		want  []string
	}{
		{"let and pipeline", `{"$lookup": {"from": "devices", "let": {"d": "$dev", "m": "$min"}, "pipeline": [{"$match": {"$expr": {"$and": [{"$eq": ["$_id", "$$d"]}, {"$gte": ["$floor", "$$m"]}]}}}, {"$project": {"_id": 0, "site": 1}}], "as": "info"}}`,
			[]string{`{"dev":"d1","min":2,"info":[]}`, `{"dev":"d3","min":2,"info":[{"site":"a"}]}`, `{"dev":"zz","min":0,"info":[]}`}},
		{"equality and pipeline", `{"$lookup": {"from": "devices", "localField": "dev", "foreignField": "_id", "pipeline": [{"$project": {"_id": 0, "floor": 1}}], "as": "x.y"}}`,
			[]string{`{"dev":"d1","min":2,"x":{"y":[{"floor":1}]}}`, `{"dev":"d3","min":2,"x":{"y":[{"floor":3}]}}`, `{"dev":"zz","min":0,"x":{"y":[]}}`}},
		{"uncorrelated pipeline", `{"$lookup": {"from": "devices", "pipeline": [{"$group": {"_id": null, "n": {"$sum": 1}}}], "as": "all"}}`,
			[]string{`{"dev":"d1","min":2,"all":[{"_id":null,"n":3}]}`, `{"dev":"d3","min":2,"all":[{"_id":null,"n":3}]}`, `{"dev":"zz","min":0,"all":[{"_id":null,"n":3}]}`}},
		{"missing collection", `{"$lookup": {"from": "nothing", "localField": "dev", "foreignField": "_id", "as": "d"}}`,
			[]string{`{"dev":"d1","min":2,"d":[]}`, `{"dev":"d3","min":2,"d":[]}`, `{"dev":"zz","min":0,"d":[]}`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := 0
			got, err := runPipeline(t, []string{c.stage}, input, lookupOpts(t, devs, &n))
			require.NoError(t, err)
			for i := range got {
				got[i] = compact(t, got[i])
			}
			require.Equal(t, c.want, got)
		})
	}
}

// compact is canonical extended JSON turned relaxed for readable expectations.
func compact(t *testing.T, js string) string {
	b, err := bson.MarshalExtJSON(doc(t, js), false, false)
	require.NoError(t, err)
	return strings.ReplaceAll(string(b), " ", "")
}

func TestLookupErrors(t *testing.T) {
	for _, c := range []struct {
		stage string
		code  int32
	}{
		{`{"$lookup": {"from": "devices", "localField": "a", "foreignField": "b"}}`, 9},
		{`{"$lookup": {"localField": "a", "foreignField": "b", "as": "x"}}`, 9},
		{`{"$lookup": {"from": "devices", "localField": "a", "as": "x"}}`, 9},
		{`{"$lookup": {"from": "devices", "as": "x"}}`, 9},
		{`{"$lookup": {"from": "devices", "let": {"a": 1}, "localField": "a", "foreignField": "b", "as": "x"}}`, 9},
		{`{"$lookup": {"from": "devices", "pipeline": [{"$out": "x"}], "as": "x"}}`, 51047},
		{`{"$lookup": {"from": "devices", "pipeline": [{"$match": {"$expr": "$$nope"}}], "as": "x"}}`, 17276},
		{`{"$lookup": {"from": 1, "localField": "a", "foreignField": "b", "as": "x"}}`, 9},
		{`{"$lookup": {"from": "devices", "localField": "a", "foreignField": "b", "as": "x", "bogus": 1}}`, 9},
		{`{"$lookup": "devices"}`, 9},
	} {
		_, err := CompilePipeline([]bson.Raw{doc(t, c.stage)}, PipelineOptions{})
		var me *mongoerr.Error
		require.True(t, errors.As(err, &me), "%s: %v", c.stage, err)
		require.EqualValues(t, c.code, me.Code, c.stage)
	}
}
