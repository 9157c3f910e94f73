package mongo

import (
	"math"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/wire/mongoerr"
)

// Helpers reading typed command fields with MongoDB's IDL error messages.

// typeNames are the BSON type aliases MongoDB prints in errors.
var typeNames = map[bson.Type]string{
	bson.TypeDouble: "double", bson.TypeString: "string", bson.TypeEmbeddedDocument: "object",
	bson.TypeArray: "array", bson.TypeBinary: "binData", bson.TypeUndefined: "undefined",
	bson.TypeObjectID: "objectId", bson.TypeBoolean: "bool", bson.TypeDateTime: "date",
	bson.TypeNull: "null", bson.TypeRegex: "regex", bson.TypeDBPointer: "dbPointer",
	bson.TypeJavaScript: "javascript", bson.TypeSymbol: "symbol", bson.TypeCodeWithScope: "javascriptWithScope",
	bson.TypeInt32: "int", bson.TypeTimestamp: "timestamp", bson.TypeInt64: "long",
	bson.TypeDecimal128: "decimal", bson.TypeMinKey: "minKey", bson.TypeMaxKey: "maxKey",
}

func typeName(t bson.Type) string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return t.String()
}

// typeErr is the 14 TypeMismatch error of IDL parsing for field (a dotted "cmd.field" path).
func typeErr(field string, got bson.Type, want string) error {
	if strings.HasPrefix(want, "[") {
		return mongoerr.New(mongoerr.TypeMismatch, "BSON field '%s' is the wrong type '%s', expected types '%s'", field, typeName(got), want)
	}
	return mongoerr.New(mongoerr.TypeMismatch, "BSON field '%s' is the wrong type '%s', expected type '%s'", field, typeName(got), want)
}

const numberTypes = "[long, int, decimal, double]"

// lookup returns the value of key and whether it is present.
func lookup(doc bson.Raw, key string) (bson.RawValue, bool) {
	v, err := doc.LookupErr(key)
	return v, err == nil
}

// isNumber reports whether v holds a numeric BSON type.
func isNumber(v bson.RawValue) bool {
	switch v.Type {
	case bson.TypeInt32, bson.TypeInt64, bson.TypeDouble, bson.TypeDecimal128:
		return true
	}
	return false
}

// asInt64 converts a numeric value, truncating doubles and rounding decimals half to even.
func asInt64(v bson.RawValue) (int64, bool) {
	switch v.Type {
	case bson.TypeInt32:
		return int64(v.Int32()), true
	case bson.TypeInt64:
		return v.Int64(), true
	case bson.TypeDouble:
		f := v.Double()
		if math.IsNaN(f) {
			return 0, false
		}
		if f >= math.MaxInt64 {
			return math.MaxInt64, true
		}
		if f <= math.MinInt64 {
			return math.MinInt64, true
		}
		return int64(f), true
	case bson.TypeDecimal128:
		return decimalToInt64(v.Decimal128())
	}
	return 0, false
}

// optInt64 reads an optional numeric field of command cmd.
func optInt64(doc bson.Raw, cmd, key string) (int64, bool, error) {
	v, ok := lookup(doc, key)
	if !ok || v.Type == bson.TypeNull {
		return 0, false, nil
	}
	n, ok := asInt64(v)
	if !ok {
		return 0, false, typeErr(cmd+"."+key, v.Type, numberTypes)
	}
	return n, true, nil
}

// optBool reads an optional boolean field; numbers count as their truth value, like MongoDB.
func optBool(doc bson.Raw, cmd, key string, def bool) (bool, error) {
	v, ok := lookup(doc, key)
	if !ok || v.Type == bson.TypeNull {
		return def, nil
	}
	if v.Type == bson.TypeBoolean {
		return v.Boolean(), nil
	}
	if n, ok := asInt64(v); ok && isNumber(v) {
		return n != 0 || (v.Type == bson.TypeDouble && v.Double() != 0), nil
	}
	return false, typeErr(cmd+"."+key, v.Type, "bool")
}

// optDoc reads an optional document field (nil when absent).
func optDoc(doc bson.Raw, cmd, key string) (bson.Raw, error) {
	v, ok := lookup(doc, key)
	if !ok || v.Type == bson.TypeNull {
		return nil, nil
	}
	d, ok := v.DocumentOK()
	if !ok {
		return nil, typeErr(cmd+"."+key, v.Type, "object")
	}
	return d, nil
}

// optArray reads an optional array field as its element values.
func optArray(doc bson.Raw, cmd, key string) ([]bson.RawValue, bool, error) {
	v, ok := lookup(doc, key)
	if !ok {
		return nil, false, nil
	}
	a, ok := v.ArrayOK()
	if !ok {
		return nil, true, typeErr(cmd+"."+key, v.Type, "array")
	}
	vals, err := a.Values()
	if err != nil {
		return nil, true, mongoerr.New(mongoerr.InvalidBSON, "%s.%s: %v", cmd, key, err)
	}
	return vals, true, nil
}

// optString reads an optional string field.
func optString(doc bson.Raw, cmd, key string) (string, bool, error) {
	v, ok := lookup(doc, key)
	if !ok {
		return "", false, nil
	}
	s, ok := v.StringValueOK()
	if !ok {
		return "", true, typeErr(cmd+"."+key, v.Type, "string")
	}
	return s, true, nil
}

// collectionName returns the collection a command names in its first field.
func (r *request) collectionName() (string, error) {
	v := r.doc.Index(0).Value()
	name, ok := v.StringValueOK()
	if !ok {
		return "", mongoerr.New(mongoerr.InvalidNamespace, "collection name has invalid type %s", typeName(v.Type))
	}
	if err := validCollName(r.db, name); err != nil {
		return "", err
	}
	return name, nil
}

// validDBName checks a database name the way mongod does (meta.ValidDatabaseName).
func validDBName(db string) error {
	if err := meta.ValidDatabaseName(db); err != nil {
		return mongoerr.New(mongoerr.InvalidNamespace, "%s", err.Error())
	}
	return nil
}

// validCollName checks a collection name (meta.ValidCollectionName).
func validCollName(db, name string) error {
	if err := meta.ValidCollectionName(db, name); err != nil {
		return mongoerr.New(mongoerr.InvalidNamespace, "%s", err.Error())
	}
	return nil
}

// genericFields are accepted by every command and ignored.
var genericFields = map[string]bool{
	"$db": true, "lsid": true, "$clusterTime": true, "txnNumber": true, "autocommit": true,
	"startTransaction": true, "$readPreference": true, "readConcern": true, "writeConcern": true,
	"apiVersion": true, "apiStrict": true, "apiDeprecationErrors": true, "comment": true,
	"maxTimeMS": true, "$audit": true, "$client": true, "mayBypassWriteBlocking": true,
	"$configServerState": true, "$gleStats": true, "$topologyTime": true, "$configTime": true,
}
