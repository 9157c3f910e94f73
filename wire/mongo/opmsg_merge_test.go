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

// TestInsertDocumentsUnmerged: an insert whose documents are its only sequence is handled without
// merging; every other shape is merged, and the documents the handler reads are the same as the
// merged array's.
func TestInsertDocumentsUnmerged(t *testing.T) {
	marshal := func(d bson.D) bson.Raw {
		b, err := bson.Marshal(d)
		require.NoError(t, err)
		return b
	}
	docs := []bson.Raw{marshal(bson.D{{Key: "t", Value: bson.DateTime(1)}}), marshal(bson.D{{Key: "t", Value: bson.DateTime(2)}})}
	insert := marshal(bson.D{{Key: "insert", Value: "m"}, {Key: "$db", Value: "db1"}})
	update := marshal(bson.D{{Key: "update", Value: "m"}, {Key: "$db", Value: "db1"}})
	both := marshal(bson.D{{Key: "insert", Value: "m"}, {Key: "documents", Value: bson.A{}}, {Key: "$db", Value: "db1"}})
	cases := []struct {
		name      string
		m         OpMsg
		unmerged  bool
		wantCount int
	}{
		{"insert with documents", OpMsg{Body: insert, Sequences: []DocSequence{{Identifier: "documents", Docs: docs}}}, true, 2},
		{"insert, empty sequence", OpMsg{Body: insert, Sequences: []DocSequence{{Identifier: "documents"}}}, true, 0},
		{"other identifier", OpMsg{Body: insert, Sequences: []DocSequence{{Identifier: "updates", Docs: docs}}}, false, 0},
		{"two sequences", OpMsg{Body: insert, Sequences: []DocSequence{{Identifier: "documents", Docs: docs}, {Identifier: "x"}}}, false, 0},
		{"not an insert", OpMsg{Body: update, Sequences: []DocSequence{{Identifier: "documents", Docs: docs}}}, false, 0},
		{"documents in body and sequence", OpMsg{Body: both, Sequences: []DocSequence{{Identifier: "documents", Docs: docs}}}, false, 0},
		{"no sequence", OpMsg{Body: insert}, false, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body, got, ok := c.m.insertDocuments()
			require.Equal(t, c.unmerged, ok)
			if !ok {
				return
			}
			require.Equal(t, c.m.Body, body)
			require.NotNil(t, got)
			require.Len(t, got, c.wantCount)
			// The handler's view equals the merged command's documents array.
			req := &request{doc: body, docs: got}
			vals, err := req.insertDocs()
			require.NoError(t, err)
			merged, err := c.m.Command()
			require.NoError(t, err)
			want, ok, err := optArray(merged, "insert", "documents")
			require.NoError(t, err)
			require.True(t, ok)
			require.Equal(t, len(want), len(vals))
			for i := range want {
				require.Equal(t, want[i].Type, vals[i].Type)
				require.Equal(t, []byte(want[i].Value), []byte(vals[i].Value))
			}
		})
	}
	_, err := (&OpMsg{Body: both, Sequences: []DocSequence{{Identifier: "documents", Docs: docs}}}).Command()
	require.Error(t, err, "documents in the body and a sequence stay a protocol error")
}
