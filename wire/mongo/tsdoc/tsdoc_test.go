package tsdoc

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/storage"
)

func mustRaw(t *testing.T, d bson.D) bson.Raw {
	t.Helper()
	b, err := bson.Marshal(d)
	require.NoError(t, err)
	return b
}

// roundTrip pushes docs through a batch and back, grouping the batch's columns like a scan would.
func roundTrip(t *testing.T, c *meta.Collection, docs []bson.Raw) []bson.Raw {
	t.Helper()
	b := NewBuilder(c)
	for _, d := range docs {
		require.NoError(t, b.Add(d))
	}
	batch := b.Batch()
	require.NoError(t, batch.Validate())
	// decode through the WAL encoding too: what the engine stores is what comes back
	batch, err := storage.DecodeBatch(storage.AppendBatch(nil, batch))
	require.NoError(t, err)
	var out []bson.Raw
	for _, s := range batch.Series {
		key, err := storage.UnmarshalSeriesKey(s.Key)
		require.NoError(t, err)
		var cols []Column
		for _, f := range s.Fields {
			col := Column{Field: f.Name, Values: storage.Values{Type: f.Values.Type}}
			for i := 0; i < f.Values.Len(); i++ {
				col.Times = append(col.Times, s.Times[f.RowAt(i)])
				col.Values.AppendFrom(&f.Values, i)
			}
			cols = append(cols, col)
		}
		require.NoError(t, Documents(c, key, cols, func(d bson.Raw) error {
			out = append(out, append(bson.Raw(nil), d...))
			return nil
		}))
	}
	return out
}

func TestRoundTripKeepsValuesAndTypes(t *testing.T) {
	c := &meta.Collection{Name: "sensors", TimeField: "timestamp", MetaField: "tags"}
	ts := time.Date(2023, 3, 9, 12, 0, 0, 0, time.UTC)
	oid := bson.NewObjectID()
	docs := []bson.D{
		{{Key: "_id", Value: oid}, {Key: "timestamp", Value: bson.NewDateTimeFromTime(ts)},
			{Key: "tags", Value: bson.D{{Key: "device_id", Value: "dev001"}, {Key: "location", Value: "room1"}, {Key: "pos", Value: bson.D{{Key: "x", Value: int32(3)}, {Key: "y", Value: 2.5}}}}},
			{Key: "humidity", Value: 60.1}, {Key: "n32", Value: int32(7)}, {Key: "n64", Value: int64(1) << 40},
			{Key: "ok", Value: true}, {Key: "s", Value: ""}, {Key: "sub", Value: bson.D{{Key: "b", Value: 1}, {Key: "a", Value: bson.A{1, "x"}}}},
			{Key: "when", Value: bson.NewDateTimeFromTime(ts.Add(-time.Hour))}, {Key: "z", Value: nil}},
		{{Key: "timestamp", Value: bson.NewDateTimeFromTime(ts.Add(time.Second))},
			{Key: "tags", Value: bson.D{{Key: "device_id", Value: "dev001"}, {Key: "location", Value: "room1"}, {Key: "pos", Value: bson.D{{Key: "x", Value: int32(3)}, {Key: "y", Value: 2.5}}}}},
			{Key: "humidity", Value: int32(61)}},
		{{Key: "timestamp", Value: bson.NewDateTimeFromTime(time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC))}, {Key: "tags", Value: "scalar"}, {Key: "v", Value: 1.0}},
		{{Key: "timestamp", Value: bson.NewDateTimeFromTime(ts)}, {Key: "v", Value: 2.0}},
		{{Key: "timestamp", Value: bson.NewDateTimeFromTime(ts)}, {Key: "tags", Value: bson.D{}}, {Key: "v", Value: 3.0}},
	}
	var raws []bson.Raw
	for _, d := range docs {
		raws = append(raws, mustRaw(t, d))
	}
	got := roundTrip(t, c, raws)
	require.Len(t, got, len(docs))
	// Compare as maps of field -> (type, value bytes): field order within the document is not kept.
	want := map[string]bool{}
	for _, d := range raws {
		want[canon(t, d)] = true
	}
	for _, d := range got {
		if id := d.Lookup("_id"); id.Type == bson.TypeObjectID && id.ObjectID() != oid {
			// a row stored without _id gets a synthetic one from its time: drop it to compare
			require.Equal(t, uint32(d.Lookup("timestamp").Time().Unix()), uint32(id.ObjectID().Timestamp().Unix()))
			d = withoutField(t, d, "_id")
		}
		require.True(t, want[canon(t, d)], "unexpected document %s", d)
	}
}

func withoutField(t *testing.T, d bson.Raw, name string) bson.Raw {
	els, err := d.Elements()
	require.NoError(t, err)
	var out bson.D
	for _, e := range els {
		if e.Key() != name {
			out = append(out, bson.E{Key: e.Key(), Value: e.Value()})
		}
	}
	return mustRaw(t, out)
}

// TestSyntheticID: the same point always gets the same _id; another series, second or
// sub-second part gets another one; the ObjectId's timestamp is the point's second.
func TestSyntheticID(t *testing.T) {
	ts := time.Date(2024, 5, 1, 12, 0, 0, 123_456_789, time.UTC).UnixNano()
	a := SyntheticID(ts, 42)
	require.Equal(t, a, SyntheticID(ts, 42))
	require.Equal(t, int64(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC).Unix()), a.Timestamp().Unix())
	for _, other := range []bson.ObjectID{SyntheticID(ts, 1<<40), SyntheticID(ts+1_000_000_000, 42), SyntheticID(ts+1000, 42)} {
		require.NotEqual(t, a, other)
	}
	old := SyntheticID(time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano(), 1)
	require.Equal(t, uint32(time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC).Unix()), binary.BigEndian.Uint32(old[:4]),
		"times before 1970 wrap like the seconds of any ObjectId")
}

// canon renders a document with its top-level fields sorted, keeping BSON types and exact bytes.
func canon(t *testing.T, d bson.Raw) string {
	els, err := d.Elements()
	require.NoError(t, err)
	m := map[string]string{}
	var keys []string
	for _, e := range els {
		v := e.Value()
		m[e.Key()] = v.Type.String() + ":" + string(v.Value)
		keys = append(keys, e.Key())
	}
	out := ""
	for _, k := range sortedKeys(m) {
		out += k + "=" + m[k] + ";"
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	for i := range ks {
		for j := i + 1; j < len(ks); j++ {
			if ks[j] < ks[i] {
				ks[i], ks[j] = ks[j], ks[i]
			}
		}
	}
	return ks
}

func TestBadTime(t *testing.T) {
	c := &meta.Collection{Name: "m", TimeField: "t"}
	b := NewBuilder(c)
	for _, d := range []bson.D{{{Key: "x", Value: 1}}, {{Key: "t", Value: "2020-01-01"}}, {{Key: "t", Value: int64(5)}}} {
		require.ErrorIs(t, b.Add(mustRaw(t, d)), ErrBadTime)
	}
	require.Equal(t, 0, b.Len())
}

// TestSyntheticIDFollowsTheCollection: a row stored without _id gets the same _id whatever
// table its collection keeps its points in (a collection a $out filled, the same one restored).
func TestSyntheticIDFollowsTheCollection(t *testing.T) {
	ids := func(c *meta.Collection) []bson.ObjectID {
		key := storage.SeriesKey{Table: c.TableName(), Tags: []storage.Tag{{Key: "tags.host", Value: storage.StringTag("a")}}}
		cols := []Column{{Field: "v", Times: []int64{1e9, 2e9}, Values: storage.Values{Type: storage.TypeDouble, Floats: []float64{1, 2}}}}
		var out []bson.ObjectID
		require.NoError(t, Documents(c, key, cols, func(d bson.Raw) error {
			out = append(out, d.Lookup("_id").ObjectID())
			return nil
		}))
		return out
	}
	c := &meta.Collection{Name: "lp", TimeField: "time", MetaField: "tags"}
	moved := *c
	moved.Table = "lp$out.00000000000000ab"
	other := *c
	other.Name = "lp2"
	require.Len(t, ids(c), 2)
	require.Equal(t, ids(c), ids(&moved))
	require.NotEqual(t, ids(c), ids(&other), "another collection's rows get other ids")
}
