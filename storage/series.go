package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// SeriesID identifies a series inside one vnode: hash24(SeriesKey) << 40 | autoinc40.
type SeriesID uint64

// NewSeriesID composes a SeriesID from the key's 24-bit hash and a 40-bit per-vnode counter.
func NewSeriesID(hash24 uint32, autoinc uint64) SeriesID {
	return SeriesID(uint64(hash24&0xFFFFFF)<<40 | autoinc&(1<<40-1))
}

// Hash24 is the high 24 bits of the id.
func (id SeriesID) Hash24() uint32 { return uint32(uint64(id) >> 40) }

// AutoInc is the low 40 bits of the id.
func (id SeriesID) AutoInc() uint64 { return uint64(id) & (1<<40 - 1) }

// MaxAutoInc is the largest counter a SeriesID can carry.
const MaxAutoInc = 1<<40 - 1

// Tag is one meta value of a series: a key (a dotted leaf path of the metaField) and a typed value.
type Tag struct {
	Key   string
	Value TagValue
}

// TagValue is a typed tag value: the BSON type and the value's canonical bytes (UTF-8 for strings,
// big-endian order-preserving bytes for numbers, see EncodeTagInt and EncodeTagFloat).
type TagValue struct {
	Type FieldType
	Raw  []byte
}

// StringTag returns a string tag value.
func StringTag(s string) TagValue { return TagValue{Type: TypeString, Raw: []byte(s)} }

// Compare orders tag values: by type code first, then by Raw bytes. Numeric encodings are
// order-preserving, so within a type byte order is value order.
func (a TagValue) Compare(b TagValue) int {
	if a.Type != b.Type {
		if a.Type < b.Type {
			return -1
		}
		return 1
	}
	return bytes.Compare(a.Raw, b.Raw)
}

// String is for logs and errors.
func (a TagValue) String() string {
	if a.Type == TypeString {
		return string(a.Raw)
	}
	return fmt.Sprintf("%#02x:%x", uint8(a.Type), a.Raw)
}

// EncodeTagFloat encodes a float64 tag value so byte order equals numeric order (negative
// values have every bit flipped, others only the sign bit; NaN sorts above +Inf).
func EncodeTagFloat(f float64) []byte {
	b := math.Float64bits(f)
	if b>>63 == 1 {
		b = ^b
	} else {
		b |= 1 << 63
	}
	return binary.BigEndian.AppendUint64(nil, b)
}

// DecodeTagFloat reverses EncodeTagFloat.
func DecodeTagFloat(raw []byte) (float64, error) {
	if len(raw) != 8 {
		return 0, fmt.Errorf("float tag value: got %d bytes; want 8", len(raw))
	}
	b := binary.BigEndian.Uint64(raw)
	if b>>63 == 1 {
		b &^= 1 << 63
	} else {
		b = ^b
	}
	return math.Float64frombits(b), nil
}

// EncodeTagInt encodes an integer tag value (int32, int64, datetime) so byte order equals numeric order.
func EncodeTagInt(v int64) []byte {
	return binary.BigEndian.AppendUint64(nil, uint64(v)^(1<<63))
}

// DecodeTagInt reverses EncodeTagInt.
func DecodeTagInt(raw []byte) (int64, error) {
	if len(raw) != 8 {
		return 0, fmt.Errorf("int tag value: got %d bytes; want 8", len(raw))
	}
	return int64(binary.BigEndian.Uint64(raw) ^ (1 << 63)), nil
}

// SeriesKey is a table and its tags sorted by key: the identity of a series.
type SeriesKey struct {
	Table string
	Tags  []Tag
}

// Normalize sorts the tags by key and reports an error for empty or duplicate keys.
func (k *SeriesKey) Normalize() error {
	if k.Table == "" {
		return errors.New("series key: empty table name")
	}
	slices.SortFunc(k.Tags, func(a, b Tag) int { return strings.Compare(a.Key, b.Key) })
	for i := range k.Tags {
		if k.Tags[i].Key == "" {
			return errors.New("series key: empty tag key")
		}
		if i > 0 && k.Tags[i].Key == k.Tags[i-1].Key {
			return fmt.Errorf("series key: duplicate tag key %q", k.Tags[i].Key)
		}
	}
	return nil
}

// checkNormalized reports an error unless k is what Normalize makes: a table name and non-empty tag
// keys in strictly ascending order (so one series has exactly one encoding).
func (k *SeriesKey) checkNormalized() error {
	if k.Table == "" {
		return errors.New("series key: empty table name")
	}
	for i := range k.Tags {
		t := &k.Tags[i]
		if t.Key == "" {
			return errors.New("series key: empty tag key")
		}
		if i > 0 && t.Key <= k.Tags[i-1].Key {
			return fmt.Errorf("series key: tag key %q not after %q (not normalized)", t.Key, k.Tags[i-1].Key)
		}
	}
	for _, t := range k.Tags {
		if !t.Value.Type.Valid() {
			return fmt.Errorf("series key: tag %q has invalid type %#02x", t.Key, uint8(t.Value.Type))
		}
	}
	return nil
}

// ParseSeriesKey decodes an encoded series key and checks everything the index requires of one:
// its length, normalized tags of valid types, and the canonical encoding. Batch.Validate and the
// index share it, so a key that a write accepts is a key the index can store.
func ParseSeriesKey(key []byte) (SeriesKey, error) {
	if len(key) == 0 || len(key) > MaxSeriesKeyLen {
		return SeriesKey{}, fmt.Errorf("series key length %d out of range (1 to %d)", len(key), MaxSeriesKeyLen)
	}
	k, err := UnmarshalSeriesKey(key)
	if err != nil {
		return k, err
	}
	if err := k.checkNormalized(); err != nil {
		return k, err
	}
	var buf [256]byte
	if !bytes.Equal(k.Marshal(buf[:0]), key) {
		return k, errors.New("series key: non-canonical encoding")
	}
	return k, nil
}

// CheckSeriesKey is ParseSeriesKey's verdict without decoding: it walks the key in place and
// allocates nothing for a good key (every write checks the key of every series it holds, at each
// layer it passes). A bad key gets ParseSeriesKey's error.
func CheckSeriesKey(key []byte) error {
	if seriesKeyOK(key) {
		return nil
	}
	if _, err := ParseSeriesKey(key); err != nil {
		return err
	}
	return errors.New("series key: invalid") // not reached while the two agree (FuzzCheckSeriesKey)
}

// seriesKeyOK reports whether ParseSeriesKey accepts key: minimal varints (so the encoding is
// canonical), a table name, non-empty tag keys strictly ascending, valid tag types, no trailing bytes.
func seriesKeyOK(key []byte) bool {
	if len(key) == 0 || len(key) > MaxSeriesKeyLen {
		return false
	}
	table, rest, err := readBytes(key)
	if err != nil || len(table) == 0 {
		return false
	}
	n, m := readUvarint(rest)
	if m <= 0 || n > uint64(len(rest)) {
		return false
	}
	rest = rest[m:]
	var prev []byte
	for i := uint64(0); i < n; i++ {
		k, r, err := readBytes(rest)
		if err != nil || len(k) == 0 || len(r) < 1 || (i > 0 && bytes.Compare(k, prev) <= 0) || !FieldType(r[0]).Valid() {
			return false
		}
		if _, r, err = readBytes(r[1:]); err != nil {
			return false
		}
		prev, rest = k, r
	}
	return len(rest) == 0
}

// Tag returns the value of tag key and whether the series has it.
func (k *SeriesKey) Tag(key string) (TagValue, bool) {
	for _, t := range k.Tags {
		if t.Key == key {
			return t.Value, true
		}
	}
	return TagValue{}, false
}

// Marshal appends the canonical encoding of k (tags must be normalized):
//
//	uvarint(len(table)) table uvarint(ntags) { uvarint(len(key)) key type(1) uvarint(len(raw)) raw }
func (k *SeriesKey) Marshal(dst []byte) []byte {
	dst = appendString(dst, k.Table)
	dst = binary.AppendUvarint(dst, uint64(len(k.Tags)))
	for _, t := range k.Tags {
		dst = appendTag(dst, t)
	}
	return dst
}

// appendTag appends one tag: uvarint(len(key)) key type(1) uvarint(len(raw)) raw.
func appendTag(dst []byte, t Tag) []byte {
	dst = appendString(dst, t.Key)
	dst = append(dst, byte(t.Value.Type))
	dst = binary.AppendUvarint(dst, uint64(len(t.Value.Raw)))
	return append(dst, t.Value.Raw...)
}

// readTag decodes one tag made by appendTag; Raw aliases src.
func readTag(src []byte) (Tag, []byte, error) {
	key, rest, err := readBytes(src)
	if err != nil {
		return Tag{}, nil, fmt.Errorf("key: %w", err)
	}
	if len(rest) < 1 {
		return Tag{}, nil, errors.New("missing type")
	}
	typ := FieldType(rest[0])
	raw, rest, err := readBytes(rest[1:])
	if err != nil {
		return Tag{}, nil, fmt.Errorf("value: %w", err)
	}
	return Tag{Key: string(key), Value: TagValue{Type: typ, Raw: raw}}, rest, nil
}

// MaxSeriesKeyLen bounds an encoded series key; longer keys are rejected on write and on decode.
const MaxSeriesKeyLen = 64 << 10

// UnmarshalSeriesKey decodes a key made by Marshal. The returned key's strings are copies;
// tag Raw slices alias src.
func UnmarshalSeriesKey(src []byte) (SeriesKey, error) {
	var k SeriesKey
	if len(src) > MaxSeriesKeyLen {
		return k, fmt.Errorf("series key too long: got %d bytes; want <= %d", len(src), MaxSeriesKeyLen)
	}
	table, src, err := readBytes(src)
	if err != nil {
		return k, fmt.Errorf("series key table: %w", err)
	}
	k.Table = string(table)
	n, m := readUvarint(src)
	if m <= 0 || n > uint64(len(src)) {
		return k, errors.New("series key: bad tag count")
	}
	src = src[m:]
	k.Tags = make([]Tag, 0, n)
	for i := uint64(0); i < n; i++ {
		t, rest, err := readTag(src)
		if err != nil {
			return k, fmt.Errorf("series key tag %d: %w", i, err)
		}
		k.Tags = append(k.Tags, t)
		src = rest
	}
	if len(src) != 0 {
		return k, fmt.Errorf("series key: %d trailing bytes", len(src))
	}
	return k, nil
}

// HashSeriesKey is the 24-bit hash of an encoded series key: the high 24 bits of 64-bit FNV-1a.
// It is part of the on-disk identity of a series and must never change (pinned by a golden test).
func HashSeriesKey(encoded []byte) uint32 {
	const (
		offset64 = 14695981039346656037
		prime64  = 1099511628211
	)
	h := uint64(offset64)
	for _, c := range encoded {
		h ^= uint64(c)
		h *= prime64
	}
	return uint32(h >> 40)
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// readUvarint is binary.Uvarint that also rejects overlong encodings (a final 0x00 group after
// others), so every decoded value has exactly one encoding and decode-then-encode is the identity.
func readUvarint(src []byte) (uint64, int) {
	v, n := binary.Uvarint(src)
	if n > 1 && src[n-1] == 0 {
		return 0, -n
	}
	return v, n
}

func readBytes(src []byte) (b, rest []byte, err error) {
	n, m := readUvarint(src)
	if m <= 0 {
		return nil, nil, errors.New("bad length")
	}
	if n > uint64(len(src)-m) {
		return nil, nil, fmt.Errorf("length %d past end (%d bytes left)", n, len(src)-m)
	}
	return src[m : m+int(n)], src[m+int(n):], nil
}
