package tsdoc

import (
	"encoding/binary"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/chronogo/chronogo/storage"
)

// CheckMeta reports, without allocating on success, why a document's meta value cannot become a
// series key: a leaf of a BSON type storage does not keep (MinKey, MaxKey, regex, undefined,
// DBPointer, JavaScript, CodeWithScope, Symbol), or a key longer than storage allows. table is the
// collection's name, as the key holds it. Inserts call it per document, before anything is written.
func CheckMeta(table, metaField string, v bson.RawValue) error {
	n, err := metaKeyLen(len(metaField), bsonValue(v))
	if err != nil {
		err.path = metaField + err.path
		return err
	}
	if n += uvarintLen(len(table)) + len(table) + binary.MaxVarintLen32; n > storage.MaxSeriesKeyLen {
		return fmt.Errorf("the value of metaField '%s' is too large: %d bytes as a series key; ChronoGo allows at most %d", metaField, n, storage.MaxSeriesKeyLen)
	}
	return nil
}

// metaError names the dotted path of the bad leaf, built while the recursion unwinds.
type metaError struct {
	path string
	typ  bson.Type
	msg  string
}

func (e *metaError) Error() string {
	if e.msg != "" {
		return fmt.Sprintf("metaField '%s': %s", e.path, e.msg)
	}
	return fmt.Sprintf("metaField '%s' holds a value of BSON type %s, which ChronoGo does not store in a time-series collection", e.path, TypeAlias(e.typ))
}

// TypeAlias is MongoDB's name of a BSON type (as $type takes it) for the types storage does not
// keep, and the driver's name for the others.
func TypeAlias(t bson.Type) string {
	switch t {
	case bson.TypeMinKey:
		return "minKey"
	case bson.TypeMaxKey:
		return "maxKey"
	case bson.TypeRegex:
		return "regex"
	case bson.TypeUndefined:
		return "undefined"
	case bson.TypeDBPointer:
		return "dbPointer"
	case bson.TypeJavaScript:
		return "javascript"
	case bson.TypeCodeWithScope:
		return "javascriptWithScope"
	case bson.TypeSymbol:
		return "symbol"
	}
	return t.String()
}

// metaKeyLen returns the bytes that the tags of v (whose dotted name is pathLen bytes long) take in
// a series key: uvarint(len(key)) key type uvarint(len(raw)) raw per leaf, as FlattenMeta makes them.
func metaKeyLen(pathLen int, v bsoncore.Value) (int, *metaError) {
	if v.Type == bsoncore.TypeEmbeddedDocument {
		doc, ok := v.DocumentOK()
		if !ok || len(doc) < 5 {
			return 0, &metaError{msg: "not a valid BSON document"}
		}
		total, leaves := 0, 0
		for rest := doc[4 : len(doc)-1]; len(rest) > 0; leaves++ {
			e, r, ok := bsoncore.ReadElement(rest)
			if !ok {
				return 0, &metaError{msg: "malformed BSON element"}
			}
			rest = r
			key := e.KeyBytes()
			n, err := metaKeyLen(pathLen+1+len(key), e.Value())
			if err != nil {
				err.path = "." + string(key) + err.path
				return 0, err
			}
			total += n
		}
		if leaves > 0 {
			return total, nil
		}
	}
	if !storage.FieldType(v.Type).Valid() {
		return 0, &metaError{typ: bson.Type(v.Type)}
	}
	raw := len(v.Data)
	switch bson.Type(v.Type) {
	case bson.TypeString:
		raw -= 5 // length prefix and NUL
	case bson.TypeBoolean:
		raw = 1
	case bson.TypeInt32:
		raw = 8
	}
	return uvarintLen(pathLen) + pathLen + 1 + uvarintLen(raw) + raw, nil
}

func uvarintLen(n int) int {
	var b [binary.MaxVarintLen64]byte
	return binary.PutUvarint(b[:], uint64(n))
}

func bsonValue(v bson.RawValue) bsoncore.Value {
	return bsoncore.Value{Type: bsoncore.Type(v.Type), Data: v.Value}
}
