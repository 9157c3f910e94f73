package mql

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// doc parses relaxed extended JSON into a BSON document.
func doc(t testing.TB, js string) bson.Raw {
	t.Helper()
	var d bson.Raw
	require.NoError(t, bson.UnmarshalExtJSON([]byte(js), false, &d), js)
	return d
}

// val parses {"v": <js>} and returns the value.
func val(t testing.TB, js string) bson.RawValue {
	t.Helper()
	return doc(t, `{"v": `+js+`}`).Lookup("v")
}

func ej(t testing.TB, d bson.Raw) string {
	t.Helper()
	b, err := bson.MarshalExtJSON(d, true, false)
	require.NoError(t, err)
	return string(b)
}

// canon converts relaxed extended JSON to canonical extended JSON (types become visible).
func canon(t testing.TB, js string) string {
	t.Helper()
	return ej(t, doc(t, js))
}

func ejv(t testing.TB, v bson.RawValue) string {
	t.Helper()
	if v.Type == 0 {
		return "<missing>"
	}
	b := newBuilder(16)
	b.add("v", v)
	return ej(t, b.finish())
}

// runPipeline runs stages (JSON array elements) over input docs and returns output JSON docs.
func runPipeline(t testing.TB, stages []string, input []string, o PipelineOptions) ([]string, error) {
	t.Helper()
	var raw []bson.Raw
	for _, s := range stages {
		raw = append(raw, doc(t, s))
	}
	p, err := CompilePipeline(raw, o)
	if err != nil {
		return nil, err
	}
	var out []string
	err = p.Run(func(yield func(bson.Raw) error) error {
		for _, in := range input {
			if err := yield(doc(t, in)); err != nil {
				return err
			}
		}
		return nil
	}, func(d bson.Raw) error {
		out = append(out, ej(t, d))
		return nil
	})
	return out, err
}
