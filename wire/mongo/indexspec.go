package mongo

import (
	"bytes"
	"fmt"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/wire/mongoerr"
)

// parseIndexSpec validates one createIndexes entry for a time-series collection and returns it
// as stored: the key document and the remaining options (without key, name and v).
func parseIndexSpec(c *meta.Collection, v bson.RawValue) (meta.Index, error) {
	spec, ok := v.DocumentOK()
	if !ok {
		return meta.Index{}, typeErr("createIndexes.indexes", v.Type, "object")
	}
	keyVal, ok := lookup(spec, "key")
	if !ok {
		return meta.Index{}, mongoerr.New(mongoerr.IDLFailedToParse, "BSON field 'createIndexes.indexes.key' is missing but a required field")
	}
	key, ok := keyVal.DocumentOK()
	if !ok {
		return meta.Index{}, typeErr("createIndexes.indexes.key", keyVal.Type, "object")
	}
	elems, err := key.Elements()
	if err != nil || len(elems) == 0 {
		return meta.Index{}, mongoerr.New(mongoerr.CannotCreateIndex, "Index keys cannot be an empty field.")
	}
	var nameParts []string
	for _, e := range elems {
		if err := checkIndexKey(c, key, e); err != nil {
			return meta.Index{}, err
		}
		nameParts = append(nameParts, e.Key(), rawValueString(e.Value()))
	}
	idx := meta.Index{Name: strings.Join(nameParts, "_"), Key: append([]byte(nil), key...)}
	opts := bsoncore.NewDocumentBuilder()
	hasOpts := false
	optElems, _ := spec.Elements()
	for _, e := range optElems {
		switch e.Key() {
		case "key", "v":
		case "name":
			name, ok := e.Value().StringValueOK()
			if !ok {
				return meta.Index{}, typeErr("createIndexes.indexes.name", e.Value().Type, "string")
			}
			if name == "" {
				return meta.Index{}, mongoerr.New(mongoerr.CannotCreateIndex, "The index name cannot be empty")
			}
			idx.Name = name
		case "unique":
			on, ok := truthy(e.Value())
			if !ok {
				return meta.Index{}, typeErr("createIndexes.indexes.unique", e.Value().Type, "bool")
			}
			if on && !c.Plain() {
				return meta.Index{}, mongoerr.New(mongoerr.InvalidOptions, "Unique indexes are not supported on time-series collections")
			}
			if on {
				opts.AppendBoolean("unique", true)
				hasOpts = true
			}
		case "sparse":
			on, ok := truthy(e.Value())
			if !ok {
				return meta.Index{}, typeErr("createIndexes.indexes.sparse", e.Value().Type, "bool")
			}
			opts.AppendBoolean("sparse", on)
			hasOpts = true
		case "expireAfterSeconds":
			if c.Plain() {
				return meta.Index{}, mongoerr.New(mongoerr.CannotCreateIndex, "TTL indexes are not supported on ChronoGo's plain collections (time-series collections expire with expireAfterSeconds)")
			}
			return meta.Index{}, mongoerr.New(mongoerr.InvalidOptions, "TTL indexes are not supported on time-series collections")
		case "partialFilterExpression", "collation", "wildcardProjection", "weights", "default_language", "language_override", "textIndexVersion", "2dsphereIndexVersion", "bits", "min", "max", "hidden":
			if c.Plain() && e.Key() != "hidden" {
				return meta.Index{}, mongoerr.New(mongoerr.CannotCreateIndex, "the index option '%s' is not supported on ChronoGo's plain collections", e.Key())
			}
			opts.AppendValue(e.Key(), bsoncore.Value{Type: bsoncore.Type(e.Value().Type), Data: e.Value().Value})
			hasOpts = true
		default:
			opts.AppendValue(e.Key(), bsoncore.Value{Type: bsoncore.Type(e.Value().Type), Data: e.Value().Value})
			hasOpts = true
		}
	}
	if hasOpts {
		idx.Options = opts.Build()
	}
	return idx, nil
}

// checkIndexKey validates one key component: ascending/descending numbers and 2dsphere/hashed
// on any field; text and 2d cannot index time series.
func checkIndexKey(c *meta.Collection, key bson.Raw, e bson.RawElement) error {
	v := e.Value()
	if s, ok := v.StringValueOK(); ok && c.Plain() {
		return mongoerr.New(mongoerr.CannotCreateIndex, "ChronoGo's plain collections have ascending (1) and descending (-1) indexes only, not '%s'", s)
	}
	if strings.Contains(e.Key(), "$**") && c.Plain() {
		return mongoerr.New(mongoerr.CannotCreateIndex, "ChronoGo's plain collections have no wildcard indexes")
	}
	if s, ok := v.StringValueOK(); ok {
		switch s {
		case "2dsphere", "hashed":
			return nil
		case "text":
			return mongoerr.New(mongoerr.InvalidOptions, "Text indexes are not supported on time-series collections")
		}
		return mongoerr.New(mongoerr.CannotCreateIndex,
			"BadValue: Invalid index spec for time-series collection: %s. Indexes of type '%s' are not supported on time-series collections", key.String(), s)
	}
	if n, ok := asInt64(v); !ok || !isNumber(v) || (n == 0 && rawValueString(v) == "0") {
		return mongoerr.New(mongoerr.CannotCreateIndex, "Values in the index key pattern can only be non-zero numbers or strings, got %s", v.String())
	}
	if strings.Contains(e.Key(), "$") {
		return mongoerr.New(mongoerr.CannotCreateIndex,
			"BadValue: Invalid index spec for time-series collection: %s", key.String())
	}
	return nil
}

// rawValueString formats a key value the way MongoDB builds default index names (1, -1, 2dsphere).
func rawValueString(v bson.RawValue) string {
	switch v.Type {
	case bson.TypeString:
		return v.StringValue()
	case bson.TypeInt32:
		return fmt.Sprint(v.Int32())
	case bson.TypeInt64:
		return fmt.Sprint(v.Int64())
	case bson.TypeDouble:
		return fmt.Sprint(v.Double())
	}
	return v.String()
}

// sameIndexKey compares two key documents byte for byte.
func sameIndexKey(a, b []byte) bool { return bytes.Equal(a, b) }

// truthy reads a boolean option given as a bool or a number (0 is false).
func truthy(v bson.RawValue) (bool, bool) {
	if b, ok := v.BooleanOK(); ok {
		return b, true
	}
	if isNumber(v) {
		return rawValueString(v) != "0", true
	}
	return false, false
}
