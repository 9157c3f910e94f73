package mongo

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"strconv"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/chronogo/chronogo/wire/mongoerr"
)

// OP_MSG flag bits.
const (
	FlagChecksumPresent uint32 = 1 << 0
	FlagMoreToCome      uint32 = 1 << 1
	FlagExhaustAllowed  uint32 = 1 << 16
	// bits 0..15 are required: a parser must reject unknown ones
	requiredFlagBits = 0xffff
	knownFlagBits    = FlagChecksumPresent | FlagMoreToCome | FlagExhaustAllowed
)

// castagnoli is the CRC32C table of OP_MSG checksums.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// DocSequence is an OP_MSG kind 1 section: documents that belong to the array field Identifier.
type DocSequence struct {
	Identifier string
	Docs       []bson.Raw
}

// OpMsg is a decoded OP_MSG.
type OpMsg struct {
	Flags     uint32
	Body      bson.Raw
	Sequences []DocSequence
}

// protocolErr is an error about a well-framed message with bad contents; the client gets a reply.
func protocolErr(format string, args ...any) error {
	return mongoerr.New(mongoerr.ProtocolError, format, args...)
}

// readDoc splits one BSON document off the front of b and validates it.
func readDoc(b []byte, what string) (bson.Raw, []byte, error) {
	doc, rest, err := frameDoc(b, what)
	if err != nil {
		return nil, nil, err
	}
	if err := validDoc(doc); err != nil {
		return nil, nil, mongoerr.New(mongoerr.InvalidBSON, "%s: %v", what, err)
	}
	return doc, rest, nil
}

// frameDoc splits one BSON document off the front of b, checking only its framing: its length
// and terminator.
func frameDoc(b []byte, what string) (bson.Raw, []byte, error) {
	if len(b) < 5 {
		return nil, nil, mongoerr.New(mongoerr.InvalidBSON, "%s: %d bytes left; want at least 5", what, len(b))
	}
	n := int(int32(binary.LittleEndian.Uint32(b)))
	if n < 5 || n > len(b) {
		return nil, nil, mongoerr.New(mongoerr.InvalidBSON, "%s: document length %d; %d bytes left", what, n, len(b))
	}
	if n > MaxBSONObjectSize {
		return nil, nil, mongoerr.New(mongoerr.BSONObjectTooLarge, "%s: document of %d bytes exceeds %d", what, n, MaxBSONObjectSize)
	}
	if b[n-1] != 0 {
		return nil, nil, mongoerr.New(mongoerr.InvalidBSON, "%s: document does not end in a NUL byte", what)
	}
	return bson.Raw(b[:n]), b[n:], nil
}

// readCString splits a NUL-terminated string off the front of b.
func readCString(b []byte, what string) (string, []byte, error) {
	i := bytes.IndexByte(b, 0)
	if i < 0 {
		return "", nil, protocolErr("%s: unterminated string", what)
	}
	return string(b[:i]), b[i+1:], nil
}

// decodeOpMsg decodes the body of an OP_MSG whose header is h, verifying the checksum if present.
func decodeOpMsg(h MsgHeader, body []byte) (*OpMsg, error) {
	if len(body) < 5 {
		return nil, protocolErr("OP_MSG of %d bytes is too short", len(body))
	}
	m := &OpMsg{Flags: binary.LittleEndian.Uint32(body)}
	if unknown := m.Flags & requiredFlagBits &^ knownFlagBits; unknown != 0 {
		return nil, protocolErr("OP_MSG has unknown required flag bits %#x", unknown)
	}
	rest := body[4:]
	if m.Flags&FlagChecksumPresent != 0 {
		if len(rest) < 4+1 {
			return nil, protocolErr("OP_MSG with checksum is too short")
		}
		want := binary.LittleEndian.Uint32(rest[len(rest)-4:])
		rest = rest[:len(rest)-4]
		crc := crc32.Update(0, castagnoli, appendHeader(nil, h))
		crc = crc32.Update(crc, castagnoli, body[:len(body)-4])
		if crc != want {
			return nil, protocolErr("OP_MSG checksum %#08x; computed %#08x", want, crc)
		}
	}
	for len(rest) > 0 {
		kind := rest[0]
		rest = rest[1:]
		switch kind {
		case 0:
			if m.Body != nil {
				return nil, protocolErr("OP_MSG has more than one body section")
			}
			doc, tail, err := readDoc(rest, "OP_MSG body")
			if err != nil {
				return nil, err
			}
			m.Body, rest = doc, tail
		case 1:
			seq, tail, err := readSequence(rest)
			if err != nil {
				return nil, err
			}
			m.Sequences, rest = append(m.Sequences, seq), tail
		default:
			return nil, protocolErr("OP_MSG has unknown section kind %d", kind)
		}
	}
	if m.Body == nil {
		return nil, protocolErr("OP_MSG has no body section")
	}
	return m, nil
}

// readSequence reads a kind 1 section (size, identifier, documents). The documents are framed,
// not validated: Command validates them as it merges them, and the insert handler as it reads them
// (checkFields), in the walk it makes anyway.
func readSequence(b []byte) (DocSequence, []byte, error) {
	var seq DocSequence
	if len(b) < 4 {
		return seq, nil, protocolErr("OP_MSG document sequence is truncated")
	}
	n := int(int32(binary.LittleEndian.Uint32(b)))
	if n < 4+1 || n > len(b) {
		return seq, nil, protocolErr("OP_MSG document sequence size %d; %d bytes left", n, len(b))
	}
	sec, tail := b[4:n], b[n:]
	id, sec, err := readCString(sec, "OP_MSG document sequence identifier")
	if err != nil {
		return seq, nil, err
	}
	seq.Identifier = id
	what := "OP_MSG document sequence " + id
	seq.Docs = make([]bson.Raw, 0, countDocs(sec))
	for len(sec) > 0 {
		var doc bson.Raw
		if doc, sec, err = frameDoc(sec, what); err != nil {
			return seq, nil, err
		}
		seq.Docs = append(seq.Docs, doc)
	}
	return seq, tail, nil
}

// countDocs counts the documents of a sequence by their lengths, stopping where one is bad
// (frameDoc reports it).
func countDocs(sec []byte) int {
	n := 0
	for len(sec) >= 5 {
		l := int(int32(binary.LittleEndian.Uint32(sec)))
		if l < 5 || l > len(sec) {
			break
		}
		sec, n = sec[l:], n+1
	}
	return n
}

// Command returns the body with every document sequence merged in as an array field.
func (m *OpMsg) Command() (bson.Raw, error) {
	return m.merged()
}

// insertDocuments recognises an insert whose documents come as the only sequence: its handler
// reads them from the sequence, and merging them into the command (a copy of the whole message)
// is skipped. The documents are framed but not validated: the handler validates each.
func (m *OpMsg) insertDocuments() (bson.Raw, []bson.Raw, bool) {
	if len(m.Sequences) != 1 || m.Sequences[0].Identifier != "documents" {
		return nil, nil, false
	}
	first, err := m.Body.IndexErr(0)
	if err != nil || first.Key() != "insert" {
		return nil, nil, false
	}
	if _, err := m.Body.LookupErr("documents"); err == nil {
		return nil, nil, false // both: merged() refuses it
	}
	if m.Sequences[0].Docs == nil {
		return m.Body, []bson.Raw{}, true // an empty sequence: no documents, not a missing field
	}
	return m.Body, m.Sequences[0].Docs, true
}

// merged returns the body with the document sequences merged in as arrays, validating their
// documents.
func (m *OpMsg) merged() (bson.Raw, error) {
	for _, s := range m.Sequences {
		for _, d := range s.Docs {
			if err := validDoc(d); err != nil {
				return nil, mongoerr.New(mongoerr.InvalidBSON, "OP_MSG document sequence %s: %v", s.Identifier, err)
			}
		}
	}
	if len(m.Sequences) == 0 {
		return m.Body, nil
	}
	if _, err := m.Body.Elements(); err != nil || len(m.Body) < 5 {
		return nil, mongoerr.New(mongoerr.InvalidBSON, "OP_MSG body: %v", err)
	}
	// The merged document is sized once and written in place: copying thousands of documents into
	// a growing builder was a tenth of an insertMany's server time.
	n := len(m.Body)
	for _, s := range m.Sequences {
		if _, err := m.Body.LookupErr(s.Identifier); err == nil {
			return nil, protocolErr("OP_MSG field %q is both in the body and a document sequence", s.Identifier)
		}
		n += 1 + len(s.Identifier) + 1 + 4 + 1
		for i, d := range s.Docs {
			n += 1 + decimalLen(i) + 1 + len(d)
		}
	}
	if n > MaxMessageSize {
		return nil, protocolErr("merged command of %d bytes is too large", n)
	}
	doc := make([]byte, 4, n)
	doc = append(doc, m.Body[4:len(m.Body)-1]...)
	for _, s := range m.Sequences {
		doc = append(doc, byte(bsoncore.TypeArray))
		doc = append(append(doc, s.Identifier...), 0)
		start := len(doc)
		doc = append(doc, 0, 0, 0, 0)
		for i, d := range s.Docs {
			doc = append(doc, byte(bsoncore.TypeEmbeddedDocument))
			doc = append(strconv.AppendInt(doc, int64(i), 10), 0)
			doc = append(doc, d...)
		}
		doc = append(doc, 0)
		binary.LittleEndian.PutUint32(doc[start:], uint32(len(doc)-start))
	}
	doc = append(doc, 0)
	binary.LittleEndian.PutUint32(doc, uint32(len(doc)))
	return bson.Raw(doc), nil
}

// decimalLen is the number of digits of i >= 0.
func decimalLen(i int) int {
	n := 1
	for ; i >= 10; i /= 10 {
		n++
	}
	return n
}

// appendOpMsg appends a whole OP_MSG (header, flags, one body section) to dst.
func appendOpMsg(dst []byte, requestID, responseTo int32, flags uint32, body []byte) []byte {
	return append(appendOpMsgHead(dst, requestID, responseTo, flags, len(body)), body...)
}

// appendOpMsgHead appends what precedes a body of n bytes in an OP_MSG: the header, the flags and
// the kind-0 section byte.
func appendOpMsgHead(dst []byte, requestID, responseTo int32, flags uint32, n int) []byte {
	h := MsgHeader{MessageLength: int32(MsgHeaderLen + 4 + 1 + n), RequestID: requestID, ResponseTo: responseTo, OpCode: OpCodeMsg}
	dst = appendHeader(dst, h)
	dst = binary.LittleEndian.AppendUint32(dst, flags)
	return append(dst, 0)
}
