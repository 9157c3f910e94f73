package mongo

import (
	"encoding/binary"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/chronogo/chronogo/wire/mongo/tsdoc"
)

// maxBSONDepth is how deeply documents and arrays may nest, as MongoDB allows.
const maxBSONDepth = 100

// validDoc checks a BSON document as MongoDB does before it uses one: its length and terminator,
// every element, strings that end in their NUL, and nested documents and arrays to maxBSONDepth.
// bsoncore's Validate checks neither string terminators nor nested documents.
func validDoc(doc []byte) error {
	return validDocAt(doc, 0)
}

func validDocAt(doc []byte, depth int) error {
	if depth > maxBSONDepth {
		return fmt.Errorf("nested deeper than %d levels", maxBSONDepth)
	}
	if len(doc) < 5 || int(int32(binary.LittleEndian.Uint32(doc))) != len(doc) || doc[len(doc)-1] != 0 {
		return errors.New("bad document length or terminator")
	}
	for rest := doc[4 : len(doc)-1]; len(rest) > 0; {
		t, k, v, r, ok := tsdoc.NextElement(rest)
		if !ok {
			return errors.New("malformed element")
		}
		rest = r
		if err := validValue(t, v, depth); err != nil {
			return fmt.Errorf("field '%s': %w", k, err)
		}
	}
	return nil
}

// validValue checks the value of an element already read (so its length fits): the fixed-size
// types need nothing more.
func validValue(t bsoncore.Type, v []byte, depth int) error {
	switch t {
	case bsoncore.TypeDouble, bsoncore.TypeInt32, bsoncore.TypeInt64, bsoncore.TypeDateTime, bsoncore.TypeTimestamp,
		bsoncore.TypeObjectID, bsoncore.TypeNull, bsoncore.TypeDecimal128,
		bsoncore.TypeUndefined, bsoncore.TypeMinKey, bsoncore.TypeMaxKey:
		return nil
	case bsoncore.TypeBoolean:
		if v[0] > 1 {
			return errors.New("boolean is neither 0 nor 1")
		}
		return nil
	case bsoncore.TypeString, bsoncore.TypeJavaScript, bsoncore.TypeSymbol:
		return validString(v)
	case bsoncore.TypeEmbeddedDocument, bsoncore.TypeArray:
		return validDocAt(v, depth+1)
	}
	return bsoncore.Value{Type: t, Data: v}.Validate()
}

// validString checks a BSON string: an int32 length of at least 1 counting the NUL that ends it.
func validString(v []byte) error {
	if len(v) < 5 || int(int32(binary.LittleEndian.Uint32(v))) != len(v)-4 || v[len(v)-1] != 0 {
		return errors.New("bad string length or terminator")
	}
	return nil
}
