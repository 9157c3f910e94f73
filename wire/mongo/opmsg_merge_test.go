package mongo

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// mergeReference is OpMsg.Command as the bsoncore builders write it: the model the sized, in-place
// merge must match byte for byte.
func mergeReference(m *OpMsg) []byte {
	elems, _ := m.Body.Elements()
	b := bsoncore.NewDocumentBuilder()
	for _, e := range elems {
		b.AppendValue(e.Key(), bsoncore.Value{Type: bsoncore.Type(e.Value().Type), Data: e.Value().Value})
	}
	for _, s := range m.Sequences {
		ab := bsoncore.NewArrayBuilder()
		for _, d := range s.Docs {
			ab.AppendDocument(d)
		}
		b.AppendArray(s.Identifier, ab.Build())
	}
	return b.Build()
}

func TestOpMsgCommandMerge(t *testing.T) {
	doc := func(i int) []byte {
		d, err := bson.Marshal(bson.D{{Key: "ts", Value: bson.DateTime(i)}, {Key: "v", Value: float64(i)}, {Key: "tag", Value: fmt.Sprint("h", i%7)}})
		require.NoError(t, err)
		return d
	}
	docs := func(n int) []bson.Raw {
		out := make([]bson.Raw, n)
		for i := range out {
			out[i] = doc(i)
		}
		return out
	}
	body, err := bson.Marshal(bson.D{{Key: "insert", Value: "m"}, {Key: "ordered", Value: false}, {Key: "$db", Value: "db1"}})
	require.NoError(t, err)
	for _, c := range []struct {
		name string
		seqs []DocSequence
	}{
		{"none", nil},
		{"one doc", []DocSequence{{Identifier: "documents", Docs: docs(1)}}},
		{"empty", []DocSequence{{Identifier: "documents"}}},
		{"1000 docs (4-digit keys)", []DocSequence{{Identifier: "documents", Docs: docs(1000)}}},
		{"two sequences", []DocSequence{{Identifier: "updates", Docs: docs(11)}, {Identifier: "deletes", Docs: docs(10)}}},
	} {
		m := &OpMsg{Body: body, Sequences: c.seqs}
		got, err := m.Command()
		require.NoError(t, err, c.name)
		require.Equal(t, mergeReference(m), []byte(got), c.name)
		require.NoError(t, got.Validate(), c.name)
	}
	dup := &OpMsg{Body: body, Sequences: []DocSequence{{Identifier: "insert", Docs: docs(1)}}}
	_, err = dup.Command()
	require.ErrorContains(t, err, "both in the body and a document sequence")
	for i, want := range map[int]int{0: 1, 9: 1, 10: 2, 999: 3, 1000: 4, 123456: 6} {
		require.Equal(t, want, decimalLen(i), "%d", i)
	}
}
