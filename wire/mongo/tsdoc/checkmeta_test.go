package tsdoc

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/storage"
)

func rawOf(t *testing.T, v any) bson.RawValue {
	t.Helper()
	if v == nil {
		return bson.RawValue{Type: bson.TypeNull}
	}
	typ, data, err := bson.MarshalValue(v)
	require.NoError(t, err)
	return bson.RawValue{Type: typ, Value: data}
}

// TestCheckMetaRefusesWhatStorageCannotKeep: every BSON type storage does not keep, at the top and
// nested, is refused with the dotted path and the type name; stored types pass.
func TestCheckMetaRefusesWhatStorageCannotKeep(t *testing.T) {
	odd := []struct {
		name string
		v    any
	}{
		{"minKey", bson.MinKey{}},
		{"maxKey", bson.MaxKey{}},
		{"regex", bson.Regex{Pattern: "a.*", Options: "i"}},
		{"undefined", bson.Undefined{}},
		{"dbPointer", bson.DBPointer{DB: "x", Pointer: bson.NewObjectID()}},
		{"javascript", bson.JavaScript("f()")},
		{"javascriptWithScope", bson.CodeWithScope{Code: "f()", Scope: bson.D{{Key: "a", Value: 1}}}},
		{"symbol", bson.Symbol("s")},
	}
	for _, c := range odd {
		t.Run(c.name, func(t *testing.T) {
			err := CheckMeta("m", "tags", rawOf(t, c.v))
			require.EqualError(t, err, "metaField 'tags' holds a value of BSON type "+c.name+", which ChronoGo does not store in a time-series collection")
			nested := bson.D{{Key: "ok", Value: "x"}, {Key: "deep", Value: bson.D{{Key: "er", Value: c.v}}}}
			err = CheckMeta("m", "tags", rawOf(t, nested))
			require.EqualError(t, err, "metaField 'tags.deep.er' holds a value of BSON type "+c.name+", which ChronoGo does not store in a time-series collection")
			_, ferr := FlattenMeta(nil, "tags", rawOf(t, nested))
			require.Error(t, ferr, "FlattenMeta must refuse it too (updates use it)")
		})
	}
	for _, v := range []any{"s", int32(1), int64(2), 1.5, true, nil, bson.NewObjectID(), bson.D{}, bson.A{bson.MinKey{}},
		bson.D{{Key: "a", Value: bson.D{{Key: "b", Value: bson.Binary{Data: []byte{1}}}}}}, bson.DateTime(5)} {
		require.NoError(t, CheckMeta("m", "tags", rawOf(t, v)), "%#v", v)
	}
}

// TestCheckMetaSizeMatchesTheKey: the size CheckMeta computes without building the key bounds the
// real key's size (built as the insert path builds it) within the 5 bytes it reserves for the tag
// count, so it refuses exactly the meta values whose key storage would refuse.
func TestCheckMetaSizeMatchesTheKey(t *testing.T) {
	for _, v := range []any{
		"short", strings.Repeat("x", 300), int32(-7), 2.5, false, nil, bson.D{},
		bson.D{{Key: "loc", Value: "room1"}, {Key: "id", Value: int64(9)}, {Key: "sub", Value: bson.D{{Key: "a", Value: bson.A{1, "x"}}, {Key: "e", Value: bson.D{}}}}},
	} {
		raw := rawOf(t, v)
		n, merr := metaKeyLen(len("tags"), bsonValue(raw))
		require.Nil(t, merr)
		tags, err := FlattenMeta(nil, "tags", raw)
		require.NoError(t, err)
		sk := storage.SeriesKey{Table: "coll", Tags: tags}
		require.NoError(t, sk.Normalize())
		real := len(sk.Marshal(nil))
		est := n + uvarintLen(len("coll")) + len("coll")
		require.LessOrEqual(t, real, est+5, "%#v", v)
		require.GreaterOrEqual(t, real, est+1, "%#v", v)
	}
	// At the limit.
	big := strings.Repeat("x", storage.MaxSeriesKeyLen)
	require.ErrorContains(t, CheckMeta("m", "tags", rawOf(t, big)), "too large")
	require.NoError(t, CheckMeta("m", "tags", rawOf(t, big[:storage.MaxSeriesKeyLen-40])))
}
