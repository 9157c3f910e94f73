package tsdoc

import (
	"bytes"

	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
)

// NextElement reads the first element of body (a document's elements, after its length): its
// type, key and value bytes, and what follows it. It parses the element once, where
// bsoncore.Element's KeyBytes and Value each parse it again. The value is not validated beyond its
// length: documents come validated (decodeOpMsg).
func NextElement(body []byte) (t bsoncore.Type, key, val, rest []byte, ok bool) {
	e, rest, ok := bsoncore.ReadElement(body)
	if !ok {
		return 0, nil, nil, body, false
	}
	end := bytes.IndexByte(e[1:], 0) + 1 // ReadElement found the terminator
	return bsoncore.Type(e[0]), e[1:end], e[end+1:], rest, true
}
