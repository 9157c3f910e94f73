package tsdoc

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/storage"
)

// TestSeriesKeyMemo: the memo gives every command the key a fresh derivation gives (a model:
// FlattenMeta, Normalize, Marshal here), separately per collection name and metaField, and stays
// within its bound.
func TestSeriesKeyMemo(t *testing.T) {
	want := func(c *meta.Collection, m bson.D) []byte {
		raw := mustRaw(t, bson.D{{Key: "v", Value: m}})
		tags, err := FlattenMeta(nil, c.MetaField, raw.Lookup("v"))
		require.NoError(t, err)
		sk := storage.SeriesKey{Table: c.Name, Tags: tags}
		require.NoError(t, sk.Normalize())
		return sk.Marshal(nil)
	}
	colls := []*meta.Collection{
		{Name: "cpu", TimeField: "t", MetaField: "tags"},
		{Name: "mem", TimeField: "t", MetaField: "tags"},
		{Name: "cpu", TimeField: "t", MetaField: "m"}, // same name, another metaField
	}
	now := time.UnixMilli(1_700_000_000_000)
	for round := range 3 { // later rounds hit the memo
		for _, c := range colls {
			b := NewBuilder(c)
			for h := range 5 {
				m := bson.D{{Key: "host", Value: fmt.Sprintf("h%d", h)}, {Key: "rack", Value: int32(h % 2)}}
				require.NoError(t, b.Add(mustRaw(t, bson.D{{Key: "t", Value: now}, {Key: c.MetaField, Value: m}, {Key: "v", Value: int64(round)}})))
				require.Equal(t, want(c, m), b.Batch().Series[h].Key, "round %d %s/%s h%d", round, c.Name, c.MetaField, h)
			}
		}
	}
	// the bound: a memo past keyMemoBytes starts over
	var m keyMemo
	m.m = map[string][]byte{}
	big := make([]byte, 1<<20)
	for i := range 20 {
		m.put(append([]byte{byte(i)}, big[:100]...), big)
		require.LessOrEqual(t, m.bytes, keyMemoBytes)
	}
	require.Less(t, len(m.m), 20)
}
