package mongo

import (
	"encoding/binary"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// OpQuery is a decoded legacy OP_QUERY. ChronoGo only answers the handshake commands
// (isMaster, ismaster, hello) sent this way on "<db>.$cmd".
type OpQuery struct {
	Flags              int32
	FullCollectionName string
	NumberToSkip       int32
	NumberToReturn     int32
	Query              bson.Raw
	ReturnFieldsSel    bson.Raw // optional
}

// decodeOpQuery decodes the body of an OP_QUERY.
func decodeOpQuery(body []byte) (*OpQuery, error) {
	if len(body) < 4 {
		return nil, protocolErr("OP_QUERY of %d bytes is too short", len(body))
	}
	q := &OpQuery{Flags: int32(binary.LittleEndian.Uint32(body))}
	name, rest, err := readCString(body[4:], "OP_QUERY fullCollectionName")
	if err != nil {
		return nil, err
	}
	q.FullCollectionName = name
	if len(rest) < 8 {
		return nil, protocolErr("OP_QUERY is truncated after the collection name")
	}
	q.NumberToSkip = int32(binary.LittleEndian.Uint32(rest))
	q.NumberToReturn = int32(binary.LittleEndian.Uint32(rest[4:]))
	if q.Query, rest, err = readDoc(rest[8:], "OP_QUERY query"); err != nil {
		return nil, err
	}
	if len(rest) > 0 {
		if q.ReturnFieldsSel, rest, err = readDoc(rest, "OP_QUERY returnFieldsSelector"); err != nil {
			return nil, err
		}
		if len(rest) > 0 {
			return nil, protocolErr("OP_QUERY has %d trailing bytes", len(rest))
		}
	}
	return q, nil
}

// commandDB returns the database of a "<db>.$cmd" namespace, or false for any other namespace.
func (q *OpQuery) commandDB() (string, bool) {
	db, ok := strings.CutSuffix(q.FullCollectionName, ".$cmd")
	return db, ok && db != ""
}
