package mongo

import (
	"bytes"
	"encoding/binary"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// validSample has a value of every type a client may send.
func validSample(t testing.TB) []byte {
	dec, err := bson.ParseDecimal128("12.5")
	require.NoError(t, err)
	doc, err := bson.Marshal(bson.D{
		{Key: "_id", Value: bson.NewObjectID()}, {Key: "d", Value: 1.5}, {Key: "s", Value: "text"}, {Key: "e", Value: ""},
		{Key: "doc", Value: bson.D{{Key: "a", Value: bson.A{int32(1), "x", bson.D{{Key: "deep", Value: true}}}}}},
		{Key: "bin", Value: bson.Binary{Subtype: 0, Data: []byte{1, 2}}}, {Key: "u", Value: bson.Undefined{}},
		{Key: "b", Value: false}, {Key: "t", Value: bson.DateTime(5)}, {Key: "n", Value: nil},
		{Key: "re", Value: bson.Regex{Pattern: "a.*", Options: "i"}}, {Key: "js", Value: bson.JavaScript("f()")},
		{Key: "sym", Value: bson.Symbol("s")}, {Key: "cws", Value: bson.CodeWithScope{Code: "g()", Scope: bson.D{{Key: "x", Value: 1}}}},
		{Key: "i", Value: int32(3)}, {Key: "ts", Value: bson.Timestamp{T: 1, I: 2}}, {Key: "l", Value: int64(4)},
		{Key: "dec", Value: dec}, {Key: "min", Value: bson.MinKey{}}, {Key: "max", Value: bson.MaxKey{}},
	})
	require.NoError(t, err)
	return doc
}

func TestValidDoc(t *testing.T) {
	good := validSample(t)
	require.NoError(t, validDoc(good))
	at := func(key string) int { // offset of the value of key in good
		i := bytes.Index(good, append([]byte(key), 0))
		require.Positive(t, i, key)
		return i + len(key) + 1
	}
	cases := map[string]func(d []byte) []byte{
		"length too large":       func(d []byte) []byte { binary.LittleEndian.PutUint32(d, uint32(len(d)+1)); return d },
		"no terminator":          func(d []byte) []byte { d[len(d)-1] = 1; return d },
		"string length":          func(d []byte) []byte { binary.LittleEndian.PutUint32(d[at("s"):], 6); return d },
		"string without NUL":     func(d []byte) []byte { d[at("s")+4+4] = 'x'; return d },
		"empty string length 0":  func(d []byte) []byte { binary.LittleEndian.PutUint32(d[at("e"):], 0); return d },
		"boolean 2":              func(d []byte) []byte { d[at("b")] = 2; return d },
		"nested length":          func(d []byte) []byte { binary.LittleEndian.PutUint32(d[at("doc"):], 4); return d },
		"nested string":          func(d []byte) []byte { i := bytes.Index(d, []byte("x\x00\x03")); d[i-4] = 9; return d },
		"unknown type":           func(d []byte) []byte { d[at("l")-3] = 0x55; return d },
		"nested array no NUL":    func(d []byte) []byte { i := bytes.Index(d, []byte("deep")); d[i+4+1+1+1] = 7; return d },
		"code with scope length": func(d []byte) []byte { binary.LittleEndian.PutUint32(d[at("cws"):], 3); return d },
	}
	for name, corrupt := range cases {
		t.Run(name, func(t *testing.T) {
			require.Error(t, validDoc(corrupt(slices.Clone(good))))
		})
	}
	deep := func(n int) []byte {
		v := bsoncore.NewDocumentBuilder().AppendInt32("x", 1).Build()
		for range n {
			v = bsoncore.NewDocumentBuilder().AppendDocument("x", v).Build()
		}
		return v
	}
	require.NoError(t, validDoc(deep(maxBSONDepth)))
	require.Error(t, validDoc(deep(maxBSONDepth+1)))
}

// FuzzValidDoc: whatever validDoc accepts, bsoncore reads whole, to the deepest document, and
// every string in it ends in its NUL.
func FuzzValidDoc(f *testing.F) {
	f.Add(validSample(f))
	f.Add([]byte{5, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, doc []byte) {
		if validDoc(doc) != nil {
			return
		}
		require.NoError(t, bsoncore.Document(doc).Validate())
		var walk func(d bsoncore.Document)
		walk = func(d bsoncore.Document) {
			elems, err := d.Elements()
			require.NoError(t, err)
			for _, e := range elems {
				v, err := e.ValueErr()
				require.NoError(t, err)
				switch v.Type {
				case bsoncore.TypeEmbeddedDocument, bsoncore.TypeArray:
					walk(bsoncore.Document(v.Data))
				case bsoncore.TypeString:
					require.Equal(t, byte(0), v.Data[len(v.Data)-1])
				}
			}
		}
		walk(doc)
	})
}
