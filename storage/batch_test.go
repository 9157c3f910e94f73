package storage_test

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand"
	"reflect"
	"strings"
	"testing"
	"testing/quick"

	"github.com/stretchr/testify/require"

	"github.com/chronogo/chronogo/storage"
)

var allTypes = []storage.FieldType{storage.TypeDouble, storage.TypeString, storage.TypeDocument, storage.TypeArray,
	storage.TypeBinary, storage.TypeObjectID, storage.TypeBool, storage.TypeDateTime, storage.TypeNull,
	storage.TypeInt32, storage.TypeTimestamp, storage.TypeInt64, storage.TypeDecimal128}

func mustKey(t testing.TB, table string, kv ...string) []byte {
	t.Helper()
	k := storage.SeriesKey{Table: table}
	for i := 0; i+1 < len(kv); i += 2 {
		k.Tags = append(k.Tags, storage.Tag{Key: kv[i], Value: storage.StringTag(kv[i+1])})
	}
	require.NoError(t, k.Normalize())
	return k.Marshal(nil)
}

// batchCases are valid batches covering every field type, Rows subsets, empty strings and odd floats.
func batchCases(t testing.TB) map[string]*storage.Batch {
	k1, k2 := mustKey(t, "cpu", "host", "a"), mustKey(t, "mem")
	nan1 := math.Float64frombits(0x7ff8000000000001)
	nan2 := math.Float64frombits(0xfff0000000000abc) // a signalling NaN with the sign bit set
	return map[string]*storage.Batch{
		"empty":     {},
		"no fields": {Version: 1, Series: []storage.SeriesRows{{Key: k1, Times: []int64{5}}}},
		"floats": {Version: 1 << 40, Series: []storage.SeriesRows{{Key: k1, Times: []int64{3, 1, 2, 2, -7},
			Fields: []storage.FieldColumn{{Name: "v", Values: storage.Values{Type: storage.TypeDouble,
				Floats: []float64{nan1, nan2, math.Copysign(0, -1), math.Inf(1), math.SmallestNonzeroFloat64}}}}}}},
		"all types with rows": {Version: 7, Series: []storage.SeriesRows{
			{Key: k1, Times: []int64{10, 20, 30, math.MinInt64, math.MaxInt64}, Fields: []storage.FieldColumn{
				{Name: "i", Rows: []uint32{0, 4}, Values: storage.Values{Type: storage.TypeInt64, Ints: []int64{math.MinInt64, math.MaxInt64}}},
				{Name: "i", Rows: []uint32{1}, Values: storage.Values{Type: storage.TypeInt32, Ints: []int64{-5}}},
				{Name: "d", Values: storage.Values{Type: storage.TypeDateTime, Ints: []int64{1, 2, 3, 4, 5}}},
				{Name: "ts", Rows: []uint32{}, Values: storage.Values{Type: storage.TypeTimestamp}},
				{Name: "b", Rows: []uint32{0, 1, 2}, Values: storage.Values{Type: storage.TypeBool, Bools: []bool{true, false, true}}},
				{Name: "s", Rows: []uint32{2, 3}, Values: storage.Values{Type: storage.TypeString, Bytes: [][]byte{{}, []byte("héllo")}}},
				{Name: "doc", Rows: []uint32{4}, Values: storage.Values{Type: storage.TypeDocument, Bytes: [][]byte{{5, 0, 0, 0, 0}}}},
				{Name: "arr", Rows: []uint32{0}, Values: storage.Values{Type: storage.TypeArray, Bytes: [][]byte{{5, 0, 0, 0, 0}}}},
				{Name: "bin", Rows: []uint32{1}, Values: storage.Values{Type: storage.TypeBinary, Bytes: [][]byte{{0, 1, 2}}}},
				{Name: "oid", Rows: []uint32{3}, Values: storage.Values{Type: storage.TypeObjectID, Bytes: [][]byte{bytes.Repeat([]byte{0xab}, 12)}}},
				{Name: "null", Rows: []uint32{0, 1}, Values: storage.Values{Type: storage.TypeNull, Bytes: [][]byte{{}, {}}}},
				{Name: "dec", Rows: []uint32{2}, Values: storage.Values{Type: storage.TypeDecimal128, Bytes: [][]byte{make([]byte, 16)}}},
			}},
			{Key: k2, Times: []int64{1 << 62}, Fields: []storage.FieldColumn{
				{Name: strings.Repeat("n", storage.MaxFieldNameLen), Values: storage.Values{Type: storage.TypeDouble, Floats: []float64{-1.5}}},
			}},
		}},
		"large row index": {Version: 2, Series: []storage.SeriesRows{{Key: k2, Times: make([]int64, 300),
			Fields: []storage.FieldColumn{{Name: "x", Rows: []uint32{0, 128, 299}, Values: storage.Values{Type: storage.TypeInt64, Ints: []int64{1, 2, 3}}}}}}},
	}
}

// canonBatch turns a batch into comparable plain data: floats as bits, nil and empty slices alike.
type canonField struct {
	Name  string
	Type  storage.FieldType
	Rows  []uint32
	HasRx bool
	Vals  []string
}
type canonSeries struct {
	Key    []byte
	Times  []int64
	Fields []canonField
}
type canonBatch struct {
	Version uint64
	Series  []canonSeries
}

func canon(b *storage.Batch) canonBatch {
	c := canonBatch{Version: b.Version}
	for _, s := range b.Series {
		cs := canonSeries{Key: append([]byte{}, s.Key...), Times: append([]int64{}, s.Times...)}
		for _, f := range s.Fields {
			cf := canonField{Name: f.Name, Type: f.Values.Type, Rows: append([]uint32{}, f.Rows...), HasRx: f.Rows != nil, Vals: []string{}}
			for i := range f.Values.Len() {
				var v []byte
				switch f.Values.Type.Class() {
				case storage.ClassFloat:
					v = binary.LittleEndian.AppendUint64(nil, math.Float64bits(f.Values.Floats[i]))
				case storage.ClassInt:
					v = binary.LittleEndian.AppendUint64(nil, uint64(f.Values.Ints[i]))
				case storage.ClassBool:
					if f.Values.Bools[i] {
						v = []byte{1}
					} else {
						v = []byte{0}
					}
				case storage.ClassBytes:
					v = f.Values.Bytes[i]
				}
				cf.Vals = append(cf.Vals, string(v))
			}
			cs.Fields = append(cs.Fields, cf)
		}
		c.Series = append(c.Series, cs)
	}
	return c
}

func TestBatchRoundTripTable(t *testing.T) {
	for name, b := range batchCases(t) {
		t.Run(name, func(t *testing.T) {
			require.NoError(t, b.Validate())
			enc := storage.AppendBatch(nil, b)
			got, err := storage.DecodeBatch(enc)
			require.NoError(t, err)
			require.Equal(t, canon(b), canon(got))
			require.Equal(t, enc, storage.AppendBatch(nil, got))
			require.Equal(t, append([]byte{9, 9}, enc...), storage.AppendBatch([]byte{9, 9}, b), "AppendBatch appends")
			require.Equal(t, b.NumValues(), got.NumValues())
			// Every strict prefix and any trailing byte is an error.
			for i := range enc {
				_, err := storage.DecodeBatch(enc[:i])
				require.Error(t, err, "prefix %d", i)
			}
			_, err = storage.DecodeBatch(append(enc, 0))
			require.Error(t, err)
		})
	}
}

// TestBatchEncodingLayout checks the byte layout against a hand-written encoding (docs/format/batch.md).
func TestBatchEncodingLayout(t *testing.T) {
	key := []byte{1, 't', 0}
	b := &storage.Batch{Version: 300, Series: []storage.SeriesRows{{Key: key, Times: []int64{1, -1},
		Fields: []storage.FieldColumn{
			{Name: "f", Values: storage.Values{Type: storage.TypeDouble, Floats: []float64{1, 2}}},
			{Name: "s", Rows: []uint32{1}, Values: storage.Values{Type: storage.TypeString, Bytes: [][]byte{[]byte("ab")}}},
			{Name: "b", Rows: []uint32{0, 1}, Values: storage.Values{Type: storage.TypeBool, Bools: []bool{false, true}}},
		}}}}
	want := []byte{
		0xac, 0x02, // version 300
		1,            // nseries
		3, 1, 't', 0, // key
		2,                      // nrows
		1, 0, 0, 0, 0, 0, 0, 0, // time 1
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // time -1
		3,                  // nfields
		1, 'f', 0x01, 0, 2, // name, type, hasRows=0, nvalues
		0, 0, 0, 0, 0, 0, 0xf0, 0x3f, // 1.0
		0, 0, 0, 0, 0, 0, 0, 0x40, // 2.0
		1, 's', 0x02, 1, 1, // name, type, hasRows=1, nvalues
		1,           // row delta 1
		2, 'a', 'b', // value
		1, 'b', 0x08, 1, 2,
		0, 1, // row deltas 0, 1
		0, 1, // false, true
	}
	require.Equal(t, want, storage.AppendBatch(nil, b))
}

// randBatch is a random valid batch for testing/quick.
type randBatch struct{ B *storage.Batch }

func genBatch(r *rand.Rand) *storage.Batch {
	b := &storage.Batch{Version: r.Uint64() >> uint(r.Intn(64))}
	for range r.Intn(4) {
		nrows := 1 + r.Intn(8)
		k := genKey(r)
		s := storage.SeriesRows{Key: k.Marshal(nil), Times: make([]int64, nrows)}
		for i := range s.Times {
			s.Times[i] = r.Int63n(10) - 5 // duplicates and negatives
			if r.Intn(8) == 0 {
				s.Times[i] = int64(r.Uint64())
			}
		}
		seen := map[string]bool{}
		for range r.Intn(5) {
			c := storage.FieldColumn{Name: string([]byte{'a' + byte(r.Intn(3))}), Values: storage.Values{Type: allTypes[r.Intn(len(allTypes))]}}
			if seen[c.Name+string(rune(c.Values.Type))] {
				continue
			}
			seen[c.Name+string(rune(c.Values.Type))] = true
			n := nrows
			if r.Intn(2) == 0 {
				c.Rows = []uint32{}
				for i := range nrows {
					if r.Intn(2) == 0 {
						c.Rows = append(c.Rows, uint32(i))
					}
				}
				n = len(c.Rows)
			}
			for range n {
				switch c.Values.Type.Class() {
				case storage.ClassFloat:
					var f float64
					switch r.Intn(3) {
					case 0:
						f = math.Float64frombits(r.Uint64()) // often NaN payloads, infinities, subnormals
					case 1:
						f = math.Float64frombits(0x7ff0000000000000 | r.Uint64()&0x800fffffffffffff | 1) // NaN
					default:
						f = r.NormFloat64()
					}
					c.Values.Floats = append(c.Values.Floats, f)
				case storage.ClassInt:
					c.Values.Ints = append(c.Values.Ints, int64(r.Uint64()))
				case storage.ClassBool:
					c.Values.Bools = append(c.Values.Bools, r.Intn(2) == 0)
				case storage.ClassBytes:
					c.Values.Bytes = append(c.Values.Bytes, randBytes(r, 10))
				}
			}
			s.Fields = append(s.Fields, c)
		}
		b.Series = append(b.Series, s)
	}
	return b
}

func (randBatch) Generate(r *rand.Rand, _ int) reflect.Value {
	return reflect.ValueOf(randBatch{genBatch(r)})
}

func TestBatchRoundTripQuick(t *testing.T) {
	f := func(rb randBatch) bool {
		if rb.B.Validate() != nil {
			return false
		}
		enc := storage.AppendBatch(nil, rb.B)
		got, err := storage.DecodeBatch(enc)
		if err != nil {
			t.Log(err)
			return false
		}
		clone := rb.B.Clone()
		return reflect.DeepEqual(canon(rb.B), canon(got)) && bytes.Equal(enc, storage.AppendBatch(nil, got)) &&
			reflect.DeepEqual(canon(clone), canon(rb.B))
	}
	require.NoError(t, quick.Check(f, &quick.Config{MaxCount: 500, Rand: rand.New(rand.NewSource(5))}))
}

func TestBatchNumValuesMinMaxTime(t *testing.T) {
	b := batchCases(t)["all types with rows"]
	require.Equal(t, 2+1+5+0+3+2+1+1+1+1+2+1+1, b.NumValues())
	lo, hi := b.MinMaxTime()
	require.Equal(t, int64(math.MinInt64), lo)
	require.Equal(t, int64(math.MaxInt64), hi)
	lo, hi = (&storage.Batch{}).MinMaxTime()
	require.Zero(t, lo)
	require.Zero(t, hi)
	lo, hi = batchCases(t)["floats"].MinMaxTime()
	require.Equal(t, [2]int64{-7, 3}, [2]int64{lo, hi})

	// Clone is deep.
	c := b.Clone()
	c.Series[0].Times[0] = 99
	c.Series[0].Fields[5].Values.Bytes[1][0] = 'X'
	c.Series[0].Fields[0].Rows[0] = 3
	require.Equal(t, int64(10), b.Series[0].Times[0])
	require.Equal(t, byte('h'), b.Series[0].Fields[5].Values.Bytes[1][0])
	require.Equal(t, uint32(0), b.Series[0].Fields[0].Rows[0])
}

func marshal(k storage.SeriesKey) []byte { return k.Marshal(nil) }

func TestBatchValidateErrors(t *testing.T) {
	key := mustKey(t, "t", "a", "1")
	ints := func(v ...int64) storage.Values { return storage.Values{Type: storage.TypeInt64, Ints: v} }
	one := func(f ...storage.FieldColumn) *storage.Batch {
		return &storage.Batch{Series: []storage.SeriesRows{{Key: key, Times: []int64{1, 2, 3}, Fields: f}}}
	}
	withKey := func(k []byte) *storage.Batch {
		return &storage.Batch{Series: []storage.SeriesRows{{Key: k, Times: []int64{1}}}}
	}
	unsorted := storage.SeriesKey{Table: "t", Tags: []storage.Tag{{Key: "b"}, {Key: "a"}}}
	dupTag := storage.SeriesKey{Table: "t", Tags: []storage.Tag{{Key: "a"}, {Key: "a"}}}
	emptyTag := storage.SeriesKey{Table: "t", Tags: []storage.Tag{{Key: ""}}}
	noTable := storage.SeriesKey{Tags: []storage.Tag{{Key: "a"}}}
	longKey := storage.SeriesKey{Table: strings.Repeat("x", storage.MaxSeriesKeyLen)}
	// What a MinKey meta value used to become: a key the index refuses after the WAL has it.
	badTagType := storage.SeriesKey{Table: "t", Tags: []storage.Tag{{Key: "m", Value: storage.TagValue{Type: 0xff}}}}
	nestedBadType := storage.SeriesKey{Table: "t", Tags: []storage.Tag{{Key: "a", Value: storage.StringTag("x")}, {Key: "m.x", Value: storage.TagValue{Type: 0x06, Raw: []byte{1}}}}}

	for _, c := range []struct {
		name string
		b    *storage.Batch
		want string
	}{
		{"empty key", withKey(nil), "key length 0"},
		{"key too long", withKey(marshal(longKey)), "out of range"},
		{"undecodable key", withKey([]byte{5, 'a'}), "series key table"},
		{"key trailing bytes", withKey(append(mustKey(t, "t"), 0)), "trailing"},
		{"key unsorted tags", withKey(marshal(unsorted)), "not normalized"},
		{"key duplicate tags", withKey(marshal(dupTag)), "not normalized"},
		{"key empty tag key", withKey(marshal(emptyTag)), "empty tag key"},
		{"key empty table", withKey(marshal(noTable)), "empty table"},
		{"tag of invalid type", withKey(marshal(badTagType)), `tag "m" has invalid type 0xff`},
		{"nested tag of invalid type", withKey(marshal(nestedBadType)), `tag "m.x" has invalid type 0x06`},
		{"no rows", &storage.Batch{Series: []storage.SeriesRows{{Key: key}}}, "no rows"},
		{"empty field name", one(storage.FieldColumn{Values: ints(1, 2, 3)}), "name length 0"},
		{"field name too long", one(storage.FieldColumn{Name: strings.Repeat("n", storage.MaxFieldNameLen+1), Values: ints(1, 2, 3)}), "name length 1025"},
		{"type 0", one(storage.FieldColumn{Name: "f", Values: storage.Values{Type: 0}}), "unsupported type"},
		{"type 0x06", one(storage.FieldColumn{Name: "f", Values: storage.Values{Type: 0x06}}), "unsupported type"},
		{"type 0xff", one(storage.FieldColumn{Name: "f", Values: storage.Values{Type: 0xff}}), "unsupported type"},
		{"too few values", one(storage.FieldColumn{Name: "f", Values: ints(1, 2)}), "got 2 values; want 3"},
		{"too many values", one(storage.FieldColumn{Name: "f", Values: ints(1, 2, 3, 4)}), "got 4 values; want 3"},
		{"values in the wrong class", one(storage.FieldColumn{Name: "f", Values: storage.Values{Type: storage.TypeDouble, Ints: []int64{1, 2, 3}}}), "got 0 values; want 3"},
		{"rows count mismatch", one(storage.FieldColumn{Name: "f", Rows: []uint32{0, 1}, Values: ints(1)}), "got 2 row indexes for 1 values"},
		{"row out of range", one(storage.FieldColumn{Name: "f", Rows: []uint32{0, 3}, Values: ints(1, 2)}), "bad row index 3 at 1"},
		{"row repeated", one(storage.FieldColumn{Name: "f", Rows: []uint32{1, 1}, Values: ints(1, 2)}), "bad row index 1 at 1"},
		{"row descending", one(storage.FieldColumn{Name: "f", Rows: []uint32{2, 0}, Values: ints(1, 2)}), "bad row index 0 at 1"},
		{"value too long", one(storage.FieldColumn{Name: "f", Rows: []uint32{1}, Values: storage.Values{Type: storage.TypeString, Bytes: [][]byte{make([]byte, storage.MaxValueLen+1)}}}), "too long"},
		{"field twice", one(storage.FieldColumn{Name: "f", Values: ints(1, 2, 3)}, storage.FieldColumn{Name: "g", Rows: []uint32{}, Values: ints()},
			storage.FieldColumn{Name: "f", Rows: []uint32{0}, Values: ints(1)}), "appears twice"},
		{"second series bad", &storage.Batch{Series: []storage.SeriesRows{{Key: key, Times: []int64{1}}, {Key: key}}}, "series 1: no rows"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.b.Validate()
			require.Error(t, err)
			require.Contains(t, err.Error(), c.want)
			// A batch that fails Validate never decodes.
			_, err = storage.DecodeBatch(storage.AppendBatch(nil, c.b))
			require.Error(t, err)
		})
	}

	// Valid edge cases.
	for name, b := range map[string]*storage.Batch{
		"same name, other type": one(storage.FieldColumn{Name: "f", Values: ints(1, 2, 3)},
			storage.FieldColumn{Name: "f", Rows: []uint32{2}, Values: storage.Values{Type: storage.TypeString, Bytes: [][]byte{nil}}}),
		"value of max length": one(storage.FieldColumn{Name: "f", Rows: []uint32{0}, Values: storage.Values{Type: storage.TypeBinary, Bytes: [][]byte{make([]byte, storage.MaxValueLen)}}}),
		"empty rows subset":   one(storage.FieldColumn{Name: "f", Rows: []uint32{}, Values: ints()}),
		"no series":           {Version: 3},
	} {
		require.NoError(t, b.Validate(), name)
	}
}

// decodeErrorCases are malformed encodings with the reason they fail.
func decodeErrorCases(t testing.TB) map[string][]byte {
	key := mustKey(t, "t")
	head := func(nfields byte) []byte {
		b := []byte{1, 1, byte(len(key))}
		b = append(b, key...)
		b = append(b, 1, 0, 0, 0, 0, 0, 0, 0, 0) // one row at time 0
		return append(b, nfields)
	}
	field := func(typ, hasRows byte, rest ...byte) []byte {
		return append(append(head(1), 1, 'f', typ, hasRows), rest...)
	}
	return map[string][]byte{
		"empty":              {},
		"huge series count":  {1, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"huge row count":     append([]byte{1, 1, byte(len(key))}, append(append([]byte{}, key...), 0xff, 0xff, 0xff, 0xff, 0x0f)...),
		"huge field count":   append(head(0xff)[:len(head(0))-1], 0xff, 0xff, 0x03),
		"bad row flag":       field(0x12, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0),
		"bad bool":           field(0x08, 0, 1, 2),
		"unsupported type":   field(0x06, 0, 1, 0),
		"row index overflow": field(0x12, 1, 1, 0xff, 0xff, 0xff, 0xff, 0x1f, 0, 0, 0, 0, 0, 0, 0, 0),
		"row out of range":   field(0x12, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0),
		"value count wrong":  field(0x12, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
		"huge value length":  field(0x02, 0, 1, 0xff, 0xff, 0xff, 0xff, 0x0f),
		"overlong version":   {0x80, 0x00, 0},
		"overlong count":     {0, 0x80, 0x00},
		"overflow uvarint":   bytes.Repeat([]byte{0xff}, 11),
		"bad key":            {0, 1, 2, 9, 9, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0},
		"trailing":           {0, 0, 0},
		"no rows":            append(append([]byte{0, 1, byte(len(key))}, key...), 0, 0),
	}
}

func TestDecodeBatchErrors(t *testing.T) {
	for name, b := range decodeErrorCases(t) {
		t.Run(name, func(t *testing.T) {
			_, err := storage.DecodeBatch(b)
			require.Error(t, err)
		})
	}
	// The helper's framing is right: a well-formed int field with the same head decodes.
	key := mustKey(t, "t")
	ok := append([]byte{1, 1, byte(len(key))}, key...)
	ok = append(ok, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 'f', 0x12, 0, 1, 7, 0, 0, 0, 0, 0, 0, 0)
	got, err := storage.DecodeBatch(ok)
	require.NoError(t, err)
	require.Equal(t, []int64{7}, got.Series[0].Fields[0].Values.Ints)
}

func FuzzDecodeBatch(f *testing.F) {
	for _, b := range batchCases(f) {
		if b.NumValues() < 1000 {
			f.Add(storage.AppendBatch(nil, b))
		}
	}
	for _, b := range decodeErrorCases(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := storage.DecodeBatch(data)
		if err != nil {
			return
		}
		require.NoError(t, b.Validate())
		require.Equal(t, data, storage.AppendBatch(nil, b), "decode then encode must be the identity")
	})
}
