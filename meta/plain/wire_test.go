package plain

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
)

func rawOf(t testing.TB, v any) bson.RawValue {
	typ, b, err := bson.MarshalValue(v)
	require.NoError(t, err)
	return bson.RawValue{Type: typ, Value: b}
}

func TestWireQueriesRoundTrip(t *testing.T) {
	ns := NS{Tenant: "t", DB: "d", Coll: "c"}
	queries := []any{
		GetQuery{NS: ns, Key: []byte{1, 2}},
		ScanQuery{NS: ns, Limit: 10, MaxBytes: 1 << 20},
		ScanQuery{NS: ns, After: []byte("k"), Limit: 1, MaxBytes: 5, Preds: []Pred{
			{Path: "a.b", Eq: []bson.RawValue{rawOf(t, int32(1)), rawOf(t, "x")}},
			{Path: "v", Lo: rawOf(t, 2.5)},
			{Path: "w", Lo: rawOf(t, int64(1)), Hi: rawOf(t, bson.D{{Key: "x", Value: bson.A{1, nil}}})},
		}},
		IndexesQuery{NS: ns},
		StatsQuery{NS: ns},
		DBStatsQuery{Tenant: "t", DB: "d"},
		AppliedQuery{},
	}
	for _, q := range queries {
		b, err := EncodeQuery(q)
		require.NoError(t, err)
		got, err := DecodeQuery(b)
		require.NoError(t, err)
		require.Equal(t, q, got)
	}
	_, err := EncodeQuery(struct{}{})
	require.Error(t, err)

	doc, _ := bson.Marshal(bson.D{{Key: "_id", Value: 1}})
	answers := []any{
		GetResult{},
		GetResult{Doc: Doc{Key: []byte{9}, Rev: 7, Doc: doc}, Found: true},
		ScanPage{Docs: []Doc{{Key: []byte{1}, Pos: []byte{1, 0}, Rev: 3, Doc: doc}, {Key: []byte{2}, Rev: 1 << 40, Doc: doc}}, More: true, Index: "a_1"},
		ScanPage{Docs: []Doc{}},
		[]IndexSpec{{Name: "a_1", Key: bson.Raw(doc), Unique: true}},
		[]IndexSpec{},
		Stats{Count: 3, Bytes: 99},
		map[string]Stats{"c": {Count: 1, Bytes: 2}},
		map[string]Stats{},
		uint64(12345),
	}
	for _, a := range answers {
		b, err := EncodeAnswer(a)
		require.NoError(t, err)
		got, err := DecodeAnswer(b)
		require.NoError(t, err)
		require.Equal(t, a, got)
	}
}

func TestWireRefusals(t *testing.T) {
	for _, b := range [][]byte{nil, {0}, {2, 5, 0, 0, 0, 0}, {wireVersion, 5, 0, 0, 0, 0}} {
		_, err := DecodeQuery(b)
		require.Error(t, err, "%x", b)
		_, err = DecodeAnswer(b)
		require.Error(t, err, "%x", b)
	}
	unknown, _ := bson.Marshal(bson.D{{Key: "k", Value: "drop"}})
	_, err := DecodeQuery(append([]byte{wireVersion}, unknown...))
	require.ErrorContains(t, err, "unknown kind")
	// a value whose bytes are not of its type
	bad, _ := bson.Marshal(wireQuery{K: kindScan, Preds: []wirePred{{Path: "a", Lo: wireValue{T: int32(bson.TypeInt64), V: []byte{1}}}}})
	_, err = DecodeQuery(append([]byte{wireVersion}, bad...))
	require.ErrorContains(t, err, "lo")
	neg, _ := bson.Marshal(wireQuery{K: kindScan, Limit: -1})
	_, err = DecodeQuery(append([]byte{wireVersion}, neg...))
	require.Error(t, err)
}

func FuzzDecodeQuery(f *testing.F) {
	for _, q := range []any{GetQuery{Key: []byte{1}}, ScanQuery{Limit: 3, Preds: []Pred{{Path: "a", Eq: []bson.RawValue{rawOf(f, "s")}}}}, AppliedQuery{}} {
		b, _ := EncodeQuery(q)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		q, err := DecodeQuery(b)
		if err != nil {
			return
		}
		again, err := EncodeQuery(q)
		require.NoError(t, err)
		q2, err := DecodeQuery(again)
		require.NoError(t, err)
		require.Equal(t, q, q2)
	})
}

func FuzzDecodeAnswer(f *testing.F) {
	for _, a := range []any{GetResult{Found: true, Doc: Doc{Key: []byte{1}, Doc: []byte{5, 0, 0, 0, 0}}}, ScanPage{More: true}, uint64(3)} {
		b, _ := EncodeAnswer(a)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := DecodeAnswer(b)
		if err != nil {
			return
		}
		again, err := EncodeAnswer(a)
		require.NoError(t, err)
		_, err = DecodeAnswer(again)
		require.NoError(t, err)
	})
}
