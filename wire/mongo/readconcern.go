package mongo

import (
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/chronogo/chronogo/wire/mongoerr"
)

// readConcernLevels are the levels mongod knows. Every one is accepted; a read returns what one
// replica of each replica set holds (the node's own first), which is "local" (README: read and
// write concerns). On a standalone node that is every acknowledged write.
var readConcernLevels = map[string]bool{"local": true, "majority": true, "linearizable": true, "available": true, "snapshot": true}

// checkReadConcern refuses a malformed readConcern with mongod's codes and messages
// (repl/read_concern_args.cpp): not an object (FailedToParse), an unknown level (FailedToParse), a
// level or time of the wrong type (TypeMismatch), an unknown option or a combination mongod
// refuses (InvalidOptions).
func checkReadConcern(cmd bson.Raw) error {
	v, ok := lookup(cmd, "readConcern")
	if !ok {
		return nil
	}
	doc, ok := v.DocumentOK()
	if !ok {
		return mongoerr.New(mongoerr.FailedToParse, "readConcern field should be an object")
	}
	elems, err := doc.Elements()
	if err != nil {
		return mongoerr.New(mongoerr.InvalidBSON, "readConcern: %v", err)
	}
	level := "local"
	var afterClusterTime, atClusterTime, afterOpTime bool
	for _, e := range elems {
		val := e.Value()
		switch k := e.Key(); k {
		case "level":
			s, ok := val.StringValueOK()
			if !ok {
				return mongoerr.New(mongoerr.TypeMismatch, "\"level\" had the wrong type. Expected string, found %s", typeName(val.Type))
			}
			if !readConcernLevels[s] {
				return mongoerr.New(mongoerr.FailedToParse, "readConcern.level must be either 'local', 'majority', 'linearizable', 'available', or 'snapshot'")
			}
			level = s
		case "afterClusterTime", "atClusterTime":
			if val.Type != bson.TypeTimestamp {
				return mongoerr.New(mongoerr.TypeMismatch, "\"%s\" had the wrong type. Expected timestamp, found %s", k, typeName(val.Type))
			}
			if t, i := val.Timestamp(); t == 0 && i == 0 {
				return mongoerr.New(mongoerr.InvalidOptions, "%s cannot be a null timestamp", k)
			}
			afterClusterTime = afterClusterTime || k == "afterClusterTime"
			atClusterTime = atClusterTime || k == "atClusterTime"
		case "afterOpTime":
			afterOpTime = true
		case "provenance", "allowTransactionTableSnapshot":
		default:
			return mongoerr.New(mongoerr.InvalidOptions, "Unrecognized option in readConcern: %s", k)
		}
	}
	switch {
	case afterClusterTime && afterOpTime:
		return mongoerr.New(mongoerr.InvalidOptions, "Can not specify both afterClusterTime and afterOpTime")
	case afterClusterTime && atClusterTime:
		return mongoerr.New(mongoerr.InvalidOptions, "Specifying a timestamp for readConcern snapshot in a causally consistent session is not allowed. See https://docs.mongodb.com/manual/core/read-isolation-consistency-recency/#causal-consistency")
	case afterClusterTime && level != "majority" && level != "local" && level != "snapshot":
		return mongoerr.New(mongoerr.InvalidOptions, "afterClusterTime field can be set only if level is equal to majority, local, or snapshot")
	case atClusterTime && level != "snapshot":
		return mongoerr.New(mongoerr.InvalidOptions, "atClusterTime field can be set only if level is equal to snapshot")
	}
	return nil
}
