package plain

import (
	"encoding/binary"
)

// Key spaces of the pebble database (see meta/docs/plain.md).
const (
	spaceMeta  byte = 0x00 // spaceMeta + "applied": the last applied Raft index
	spaceDocs  byte = 0x01 // spaceDocs + namespace + document key: revision, op id, document
	spaceStats byte = 0x02 // spaceStats + namespace: count and bytes of a collection

	spaceIndexSpecs byte = 0x03 // spaceIndexSpecs + namespace + lp(index name): IndexSpec as BSON
	spaceIndex      byte = 0x04 // spaceIndex + namespace + lp(index name) + index key + document key: document key
)

// appliedKey holds the index of the last applied entry, written with every update.
var appliedKey = []byte{spaceMeta, 'a', 'p', 'p', 'l', 'i', 'e', 'd'}

// NS names a collection: its tenant, database and name.
type NS struct {
	Tenant string `bson:"tenant"`
	DB     string `bson:"db"`
	Coll   string `bson:"coll"`
}

// appendLP appends s with a uvarint length prefix, so that no encoded name is a prefix of another.
func appendLP(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// dbPrefix is the prefix of every key of space in database db of tenant.
func dbPrefix(space byte, tenant, db string) []byte {
	return appendLP(appendLP([]byte{space}, tenant), db)
}

// collPrefix is the prefix of every key of space in collection ns.
func collPrefix(space byte, ns NS) []byte {
	return appendLP(dbPrefix(space, ns.Tenant, ns.DB), ns.Coll)
}

// docKey is the key of the document with key k in ns.
func docKey(ns NS, k []byte) []byte {
	return append(collPrefix(spaceDocs, ns), k...)
}

// prefixEnd is the smallest key greater than every key with prefix p.
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil // every byte 0xff: no upper bound
}

// A stored document value: revision (8 bytes, big endian: the Raft index that wrote it), the op id
// of the command that wrote it (16 bytes), then the document.
const valueHeader = 8 + 16

func encodeValue(rev uint64, op OpID, doc []byte) []byte {
	v := make([]byte, 0, valueHeader+len(doc))
	v = binary.BigEndian.AppendUint64(v, rev)
	v = append(v, op[:]...)
	return append(v, doc...)
}

// decodeValue splits a stored value; ok is false when it is shorter than its header.
func decodeValue(v []byte) (rev uint64, op OpID, doc []byte, ok bool) {
	if len(v) < valueHeader {
		return 0, op, nil, false
	}
	copy(op[:], v[8:valueHeader])
	return binary.BigEndian.Uint64(v), op, v[valueHeader:], true
}

// Stats are a collection's document count and document bytes.
type Stats struct {
	Count int64 `bson:"count"`
	Bytes int64 `bson:"bytes"`
}

func encodeStats(s Stats) []byte {
	b := binary.BigEndian.AppendUint64(nil, uint64(s.Count))
	return binary.BigEndian.AppendUint64(b, uint64(s.Bytes))
}

func decodeStats(v []byte) (Stats, bool) {
	if len(v) != 16 {
		return Stats{}, false
	}
	return Stats{Count: int64(binary.BigEndian.Uint64(v)), Bytes: int64(binary.BigEndian.Uint64(v[8:]))}, true
}
