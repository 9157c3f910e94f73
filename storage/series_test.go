package storage_test

import (
	"bytes"
	"encoding/binary"
	"hash/fnv"
	"math"
	"math/rand"
	"reflect"
	"testing"
	"testing/quick"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage"
)

// keyCases are series keys used by the table tests and as fuzz seeds.
func keyCases() []storage.SeriesKey {
	return []storage.SeriesKey{
		{Table: "t"},
		{Table: "cpu", Tags: []storage.Tag{
			{Key: "hostname", Value: storage.StringTag("host_0")},
			{Key: "region", Value: storage.StringTag("us-west-1")},
		}},
		{Table: "m", Tags: []storage.Tag{{Key: "id", Value: storage.TagValue{Type: storage.TypeInt64, Raw: storage.EncodeTagInt(42)}}}},
		{Table: "empty values", Tags: []storage.Tag{
			{Key: "a", Value: storage.StringTag("")},
			{Key: "b", Value: storage.TagValue{Type: storage.TypeNull, Raw: []byte{}}},
		}},
		{Table: "unicode ✓", Tags: []storage.Tag{{Key: "meta.sensor.id", Value: storage.StringTag("Ωμέγα")}}},
		{Table: string(bytes.Repeat([]byte{'x'}, 300)), Tags: []storage.Tag{{Key: "k", Value: storage.StringTag(string(bytes.Repeat([]byte{0xff}, 200)))}}},
	}
}

// normKey makes nil and empty slices compare equal.
func normKey(k storage.SeriesKey) storage.SeriesKey {
	out := storage.SeriesKey{Table: k.Table}
	for _, t := range k.Tags {
		out.Tags = append(out.Tags, storage.Tag{Key: t.Key, Value: storage.TagValue{Type: t.Value.Type, Raw: append([]byte{}, t.Value.Raw...)}})
	}
	return out
}

// modelKeyEncoding writes the documented encoding independently of SeriesKey.Marshal.
func modelKeyEncoding(k storage.SeriesKey) []byte {
	var b []byte
	str := func(s []byte) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	str([]byte(k.Table))
	b = binary.AppendUvarint(b, uint64(len(k.Tags)))
	for _, t := range k.Tags {
		str([]byte(t.Key))
		b = append(b, byte(t.Value.Type))
		str(t.Value.Raw)
	}
	return b
}

func TestSeriesKeyRoundTripTable(t *testing.T) {
	for _, k := range keyCases() {
		enc := k.Marshal(nil)
		require.Equal(t, modelKeyEncoding(k), enc)
		got, err := storage.UnmarshalSeriesKey(enc)
		require.NoError(t, err)
		require.Equal(t, normKey(k), normKey(got))
		// Marshal appends.
		require.Equal(t, append([]byte("prefix"), enc...), k.Marshal([]byte("prefix")))
	}
}

// randKey is a random normalized series key for testing/quick.
type randKey struct{ K storage.SeriesKey }

var tagTypes = []storage.FieldType{storage.TypeString, storage.TypeInt64, storage.TypeInt32, storage.TypeDateTime,
	storage.TypeDouble, storage.TypeBool, storage.TypeObjectID, storage.TypeNull}

func randBytes(r *rand.Rand, max int) []byte {
	b := make([]byte, r.Intn(max+1))
	r.Read(b)
	return b
}

func genKey(r *rand.Rand) storage.SeriesKey {
	k := storage.SeriesKey{Table: "t" + string(randBytes(r, 12))}
	n := r.Intn(6)
	seen := map[string]bool{}
	for range n {
		key := "k" + string(randBytes(r, 6))
		if seen[key] {
			continue
		}
		seen[key] = true
		typ := tagTypes[r.Intn(len(tagTypes))]
		var raw []byte
		switch typ {
		case storage.TypeInt64, storage.TypeInt32, storage.TypeDateTime:
			raw = storage.EncodeTagInt(r.Int63() - r.Int63())
		default:
			raw = randBytes(r, 20)
		}
		k.Tags = append(k.Tags, storage.Tag{Key: key, Value: storage.TagValue{Type: typ, Raw: raw}})
	}
	if err := k.Normalize(); err != nil {
		panic(err)
	}
	return k
}

func (randKey) Generate(r *rand.Rand, _ int) reflect.Value {
	return reflect.ValueOf(randKey{genKey(r)})
}

func TestSeriesKeyRoundTripQuick(t *testing.T) {
	f := func(rk randKey) bool {
		enc := rk.K.Marshal(nil)
		if !bytes.Equal(enc, modelKeyEncoding(rk.K)) {
			return false
		}
		got, err := storage.UnmarshalSeriesKey(enc)
		return err == nil && reflect.DeepEqual(normKey(rk.K), normKey(got)) && bytes.Equal(got.Marshal(nil), enc)
	}
	require.NoError(t, quick.Check(f, &quick.Config{MaxCount: 500, Rand: rand.New(rand.NewSource(1))}))
}

func keyErrorCases() map[string][]byte {
	good := marshal(keyCases()[1])
	return map[string][]byte{
		"empty":             {},
		"table past end":    {5, 'a', 'b'},
		"no tag count":      {1, 'a'},
		"tag count too big": {1, 'a', 200, 1},
		"missing tag type":  {1, 'a', 1, 1, 'k'},
		"tag value short":   {1, 'a', 1, 1, 'k', 2, 3, 'x'},
		"trailing bytes":    append(append([]byte{}, good...), 0),
		"truncated":         good[:len(good)-1],
		"overlong length":   {0x81, 0x00, 'a', 0},
		"overlong count":    {1, 'a', 0x80, 0x00},
		"bad uvarint":       bytes.Repeat([]byte{0xff}, 11),
		"too long":          make([]byte, storage.MaxSeriesKeyLen+1),
	}
}

func TestUnmarshalSeriesKeyErrors(t *testing.T) {
	for name, b := range keyErrorCases() {
		t.Run(name, func(t *testing.T) {
			_, err := storage.UnmarshalSeriesKey(b)
			require.Error(t, err)
		})
	}
	// Every strict prefix of a valid key is an error.
	for _, k := range keyCases() {
		enc := k.Marshal(nil)
		for i := range enc {
			_, err := storage.UnmarshalSeriesKey(enc[:i])
			require.Error(t, err, "prefix %d of %x", i, enc)
		}
	}
}

func FuzzUnmarshalSeriesKey(f *testing.F) {
	for _, k := range keyCases() {
		f.Add(k.Marshal(nil))
	}
	for _, b := range keyErrorCases() {
		if len(b) < 1024 {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := storage.UnmarshalSeriesKey(b)
		if err != nil {
			return
		}
		require.Equal(t, b, k.Marshal(nil), "decode then encode must be the identity")
	})
}

func TestNormalize(t *testing.T) {
	k := storage.SeriesKey{Table: "t", Tags: []storage.Tag{{Key: "b"}, {Key: "a"}, {Key: "c"}}}
	require.NoError(t, k.Normalize())
	require.Equal(t, []string{"a", "b", "c"}, []string{k.Tags[0].Key, k.Tags[1].Key, k.Tags[2].Key})
	v, ok := k.Tag("b")
	require.True(t, ok)
	require.Equal(t, storage.TagValue{}, v)
	_, ok = k.Tag("zz")
	require.False(t, ok)

	for name, k := range map[string]storage.SeriesKey{
		"empty table": {Tags: []storage.Tag{{Key: "a"}}},
		"empty key":   {Table: "t", Tags: []storage.Tag{{Key: "a"}, {Key: ""}}},
		"duplicate":   {Table: "t", Tags: []storage.Tag{{Key: "a"}, {Key: "b"}, {Key: "a"}}},
	} {
		require.Error(t, k.Normalize(), name)
	}
}

// TestHashSeriesKeyGolden pins the on-disk series hash: the high 24 bits of 64-bit FNV-1a, computed here
// with hash/fnv and also hard-coded, so a change to either the key encoding or the hash fails.
func TestHashSeriesKeyGolden(t *testing.T) {
	ks := keyCases()
	for _, c := range []struct {
		enc  []byte
		want uint32
	}{
		{ks[1].Marshal(nil), 0xc7321d},
		{ks[0].Marshal(nil), 0xd1391f},
		{ks[2].Marshal(nil), 0x8dfab7},
		{nil, 0xcbf29c},
	} {
		h := fnv.New64a()
		_, _ = h.Write(c.enc)
		require.Equal(t, uint32(h.Sum64()>>40), c.want, "independent FNV-1a of %x", c.enc)
		require.Equal(t, c.want, storage.HashSeriesKey(c.enc), "HashSeriesKey(%x)", c.enc)
	}
	require.Equal(t, "036370750208686f73746e616d650206686f73745f3006726567696f6e020975732d776573742d31",
		hexString(ks[1].Marshal(nil)))

	// Random keys agree with hash/fnv too.
	r := rand.New(rand.NewSource(2))
	for range 200 {
		b := randBytes(r, 100)
		h := fnv.New64a()
		_, _ = h.Write(b)
		require.Equal(t, uint32(h.Sum64()>>40), storage.HashSeriesKey(b))
		require.Less(t, storage.HashSeriesKey(b), uint32(1<<24))
	}
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

func TestSeriesIDLayout(t *testing.T) {
	for _, c := range []struct {
		hash    uint32
		autoinc uint64
		want    uint64
	}{
		{0, 0, 0},
		{1, 0, 1 << 40},
		{0, 1, 1},
		{0xFFFFFF, storage.MaxAutoInc, math.MaxUint64},
		{0xABCDEF, 0x12_3456_789A, 0xABCDEF_12_3456_789A},
		{0xFF_ABCDEF, 0, 0xABCDEF << 40}, // hash bits above 24 are dropped
		{0x000001, 1<<40 | 5, 1<<40 | 5}, // autoinc bits above 40 are dropped
		{0x800000, 1<<40 - 2, 0x8000_00FF_FFFF_FFFE},
	} {
		id := storage.NewSeriesID(c.hash, c.autoinc)
		require.Equal(t, storage.SeriesID(c.want), id, "NewSeriesID(%#x, %#x)", c.hash, c.autoinc)
		require.Equal(t, uint32(c.want>>40), id.Hash24())
		require.Equal(t, c.want&(1<<40-1), id.AutoInc())
		require.Less(t, id.Hash24(), uint32(1<<24))
	}
	require.Equal(t, uint64(1<<40-1), uint64(storage.MaxAutoInc))
	f := func(h uint32, a uint64) bool {
		id := storage.NewSeriesID(h, a)
		return id.Hash24() == h&0xFFFFFF && id.AutoInc() == a&(1<<40-1) &&
			uint64(id) == uint64(h&0xFFFFFF)<<40|a&(1<<40-1)
	}
	require.NoError(t, quick.Check(f, &quick.Config{MaxCount: 1000, Rand: rand.New(rand.NewSource(3))}))
}

func TestEncodeTagIntOrder(t *testing.T) {
	edges := []int64{math.MinInt64, math.MinInt64 + 1, -1 << 32, -256, -1, 0, 1, 255, 256, 1 << 32, math.MaxInt64 - 1, math.MaxInt64}
	for i, a := range edges {
		ea := storage.EncodeTagInt(a)
		require.Len(t, ea, 8)
		d, err := storage.DecodeTagInt(ea)
		require.NoError(t, err)
		require.Equal(t, a, d)
		for _, b := range edges[i+1:] {
			require.Negative(t, bytes.Compare(ea, storage.EncodeTagInt(b)), "%d < %d", a, b)
		}
	}
	require.Equal(t, []byte{0x80, 0, 0, 0, 0, 0, 0, 0}, storage.EncodeTagInt(0))
	require.Equal(t, []byte{0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, storage.EncodeTagInt(-1))
	f := func(a, b int64) bool {
		ea, eb := storage.EncodeTagInt(a), storage.EncodeTagInt(b)
		da, err := storage.DecodeTagInt(ea)
		return err == nil && da == a && (a < b) == (bytes.Compare(ea, eb) < 0) && (a == b) == bytes.Equal(ea, eb)
	}
	require.NoError(t, quick.Check(f, &quick.Config{MaxCount: 2000, Rand: rand.New(rand.NewSource(4))}))
	for _, n := range []int{0, 7, 9} {
		_, err := storage.DecodeTagInt(make([]byte, n))
		require.Error(t, err)
	}
	// TagValue.Compare: type first, then bytes.
	a := storage.TagValue{Type: storage.TypeInt64, Raw: storage.EncodeTagInt(-5)}
	b := storage.TagValue{Type: storage.TypeInt64, Raw: storage.EncodeTagInt(3)}
	s := storage.StringTag("")
	require.Equal(t, -1, a.Compare(b))
	require.Equal(t, 1, b.Compare(a))
	require.Equal(t, 0, a.Compare(a))
	require.Equal(t, -1, s.Compare(a), "string (0x02) sorts before int64 (0x12)")
	require.Equal(t, 1, a.Compare(s))
}

// FuzzCheckSeriesKey: the in-place check accepts exactly the keys that ParseSeriesKey accepts
// (ParseSeriesKey is the reference: it decodes, checks and re-encodes).
func FuzzCheckSeriesKey(f *testing.F) {
	for _, k := range keyCases() {
		f.Add(k.Marshal(nil))
	}
	for _, b := range keyErrorCases() {
		if len(b) < 1024 {
			f.Add(b)
		}
	}
	f.Add([]byte{1, 't', 2, 1, 'a', 0x10, 0, 1, 'a', 0x10, 0}) // duplicate tag key
	f.Add([]byte{1, 't', 2, 1, 'b', 0x10, 0, 1, 'a', 0x10, 0}) // tags out of order
	f.Add([]byte{0x81, 0x00, 't'})                             // non-minimal varint
	f.Fuzz(func(t *testing.T, b []byte) {
		_, want := storage.ParseSeriesKey(b)
		got := storage.CheckSeriesKey(b)
		require.Equal(t, want == nil, got == nil, "ParseSeriesKey: %v, CheckSeriesKey: %v", want, got)
		if want != nil {
			require.Equal(t, want.Error(), got.Error())
		}
	})
}

// TestCheckSeriesKeyAllocatesNothing: the write path checks every series key of every batch.
func TestCheckSeriesKeyAllocatesNothing(t *testing.T) {
	k := storage.SeriesKey{Table: "cpu", Tags: []storage.Tag{{Key: "tags.host", Value: storage.StringTag("h1")}, {Key: "tags.region", Value: storage.StringTag("eu")}}}
	enc := k.Marshal(nil)
	require.Zero(t, testing.AllocsPerRun(100, func() { _ = storage.CheckSeriesKey(enc) }))
}
