package tsdoc

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// FuzzNextElement: NextElement reads what bsoncore reads, element by element, on any input (values
// that bsoncore finds malformed it returns as they are: callers validate documents first).
func FuzzNextElement(f *testing.F) {
	doc, err := bson.Marshal(bson.D{
		{Key: "_id", Value: bson.NewObjectID()}, {Key: "t", Value: bson.DateTime(5)},
		{Key: "m", Value: bson.D{{Key: "host", Value: "a"}}}, {Key: "v", Value: 1.5}, {Key: "", Value: int32(2)},
		{Key: "s", Value: "text"}, {Key: "b", Value: true}, {Key: "n", Value: nil}, {Key: "a", Value: bson.A{1, "x"}},
	})
	require.NoError(f, err)
	f.Add(doc[4:])
	f.Add([]byte{})
	f.Add([]byte{0x10, 'k', 0, 1, 2})
	f.Fuzz(func(t *testing.T, body []byte) {
		for rest := body; len(rest) > 0; {
			typ, key, val, r, ok := NextElement(rest)
			e, r2, ok2 := bsoncore.ReadElement(rest)
			require.Equal(t, ok2, ok)
			if !ok {
				require.Equal(t, rest, r)
				return
			}
			require.Equal(t, r2, r)
			require.Equal(t, bsoncore.Type(e[0]), typ)
			require.Equal(t, e.Key(), string(key))
			require.True(t, bytes.Equal(e[len(key)+2:], val), "value %x vs element %x", val, e)
			if v, err := e.ValueErr(); err == nil {
				require.True(t, bytes.Equal(v.Data, val), "value %x vs %x", v.Data, val)
			}
			rest = r
		}
	})
}
