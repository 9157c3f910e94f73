package mql

import (
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/wire/mongoerr"
)

// MongoDB error codes used here that mongoerr does not name.
const (
	codeProjectionPathCollision mongoerr.Code = 31250
	codeExclusionInInclusion    mongoerr.Code = 31254
	codeInclusionInExclusion    mongoerr.Code = 31253
	codeSortNotNumber           mongoerr.Code = 15974
	codeSortBadOrder            mongoerr.Code = 15975
	codeSortEmpty               mongoerr.Code = 15976
	codeInvalidPipelineOperator mongoerr.Code = 168
	codeConversionFailure       mongoerr.Code = 241
	codeTypeMismatch                          = mongoerr.TypeMismatch
	codeBadValue                              = mongoerr.BadValue
	codeFailedToParse                         = mongoerr.FailedToParse
)

func errf(code mongoerr.Code, format string, args ...any) error {
	return mongoerr.New(code, format, args...)
}

// typeName is the MongoDB alias of a BSON type, as used in error messages and $type.
func typeName(t bson.Type) string {
	switch t {
	case 0:
		return "missing"
	case bson.TypeDouble:
		return "double"
	case bson.TypeString:
		return "string"
	case bson.TypeEmbeddedDocument:
		return "object"
	case bson.TypeArray:
		return "array"
	case bson.TypeBinary:
		return "binData"
	case bson.TypeUndefined:
		return "undefined"
	case bson.TypeObjectID:
		return "objectId"
	case bson.TypeBoolean:
		return "bool"
	case bson.TypeDateTime:
		return "date"
	case bson.TypeNull:
		return "null"
	case bson.TypeRegex:
		return "regex"
	case bson.TypeDBPointer:
		return "dbPointer"
	case bson.TypeJavaScript:
		return "javascript"
	case bson.TypeSymbol:
		return "symbol"
	case bson.TypeCodeWithScope:
		return "javascriptWithScope"
	case bson.TypeInt32:
		return "int"
	case bson.TypeTimestamp:
		return "timestamp"
	case bson.TypeInt64:
		return "long"
	case bson.TypeDecimal128:
		return "decimal"
	case bson.TypeMinKey:
		return "minKey"
	case bson.TypeMaxKey:
		return "maxKey"
	}
	return fmt.Sprintf("type%d", int(t))
}

// recoverErr turns a panic from malformed BSON into an error.
func recoverErr(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("mql: malformed BSON: %v", r)
	}
}

var errStop = errors.New("mql: stop")

// validDoc checks a document given by a client.
func validDoc(what string, d bson.Raw) error {
	if err := d.Validate(); err != nil {
		return errf(codeFailedToParse, "%s is not valid BSON: %v", what, err)
	}
	return nil
}
