package mongo

import (
	"context"
	"encoding/binary"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"

	"github.com/chronogo/chronogo/meta"
	"github.com/chronogo/chronogo/storage"
	"github.com/chronogo/chronogo/wire/mongo/tsdoc"
	"github.com/chronogo/chronogo/wire/mongoerr"
)

// insertBatch is how many valid measurements go to Backend.Insert at once: as many as a
// line-protocol request of 5000 lines, so series get tens of rows per write, not a few.
const insertBatch = 5000

// msgInsert inserts measurements. Each document needs a BSON date in the timeField (else a
// write error 2 for that document); ordered inserts stop at the first error, unordered ones
// keep going. Documents without _id get an ObjectId.
func msgInsert(ctx context.Context, s *Server, req *request) (*bsoncore.DocumentBuilder, error) {
	ctx, err := withWriteConcern(ctx, req.doc)
	if err != nil {
		return nil, err
	}
	c, name, err := s.targetCollection(ctx, req)
	if err != nil {
		return nil, err
	}
	ordered, err := optBool(req.doc, "insert", "ordered", true)
	if err != nil {
		return nil, err
	}
	vals, err := req.insertDocs()
	if err != nil {
		return nil, err
	}
	s.ops.insert.Add(int64(len(vals)))
	if len(vals) > 100000 {
		return nil, mongoerr.New(mongoerr.InvalidLength, "Write batch sizes must be between 1 and 100000. Got %d operations.", len(vals))
	}
	if c == nil { // MongoDB creates a (plain) collection on its first insert
		if c, err = s.createPlain(ctx, req.db, name); err != nil {
			return nil, err
		}
	}
	if c.Plain() {
		return s.plainInsert(ctx, c, vals, ordered)
	}
	// Check every document first: a document that is not valid BSON fails the whole command, as
	// a malformed message does, before anything is written.
	checked := make([]checkedDoc, len(vals))
	checkedMeta := map[string]struct{}{} // meta values of this command already found good
	for i, v := range vals {
		doc, err := measurement(c, v, checkedMeta)
		if err != nil && asMongoErr(err).Code == mongoerr.InvalidBSON {
			return nil, mongoerr.New(mongoerr.InvalidBSON, "insert.documents.%d: %s", i, asMongoErr(err).Msg)
		}
		checked[i] = checkedDoc{doc, err}
	}
	ins := inserter{s: s, c: c, ctx: ctx, batch: min(len(checked), insertBatch)}
	for i, cd := range checked {
		if cd.err != nil {
			ins.flush()
			ins.out.add(cd.err, i)
		} else if ins.add(i, cd.doc); len(ins.docs) >= insertBatch {
			ins.flush()
		}
		if ins.out.stop(ordered) {
			break
		}
	}
	ins.flush()
	return ins.out.reply(func(b *bsoncore.DocumentBuilder) { b.AppendInt32("n", int32(ins.n)) })
}

// checkedDoc is a document of an insert, ready to write (with its _id), or why it is not.
type checkedDoc struct {
	doc bson.Raw
	err error
}

// insertDocs returns the documents of an insert command: its document sequence, or the elements
// of its documents array.
func (req *request) insertDocs() ([]bson.RawValue, error) {
	if req.docs != nil {
		vals := make([]bson.RawValue, len(req.docs))
		for i, d := range req.docs {
			vals[i] = bson.RawValue{Type: bson.TypeEmbeddedDocument, Value: d}
		}
		return vals, nil
	}
	vals, ok, err := optArray(req.doc, "insert", "documents")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, mongoerr.New(mongoerr.IDLFailedToParse, "BSON field 'insert.documents' is missing but a required field")
	}
	return vals, nil
}

// inserter batches valid measurements for Backend.Insert.
type inserter struct {
	s     *Server
	c     *meta.Collection
	ctx   context.Context
	docs  []bson.Raw
	idx   []int // command index of each doc
	batch int   // the capacity to give docs and idx
	n     int
	out   stmtOutcomes
}

func (in *inserter) add(i int, doc bson.Raw) {
	if in.docs == nil {
		in.docs, in.idx = make([]bson.Raw, 0, in.batch), make([]int, 0, in.batch)
	}
	in.docs = append(in.docs, doc)
	in.idx = append(in.idx, i)
}

// flush writes the pending batch; a failure becomes a write error for each of its documents.
func (in *inserter) flush() {
	if len(in.docs) == 0 {
		return
	}
	err := in.s.b.Insert(in.ctx, in.c, in.docs)
	if err != nil {
		in.s.log.WithError(err).WithField("collection", in.c.DB+"."+in.c.Name).Warn("insert batch failed")
	}
	if in.out.add(err, in.idx...) {
		in.n += len(in.docs)
	}
	in.docs, in.idx = nil, nil // the backend may keep the slices
}

// measurement validates one inserted document and gives it an _id if it has none.
func measurement(c *meta.Collection, v bson.RawValue, checkedMeta map[string]struct{}) (bson.Raw, error) {
	doc, ok := v.DocumentOK()
	if !ok {
		return nil, typeErr("insert.documents", v.Type, "object")
	}
	if len(doc) > MaxBSONObjectSize {
		return nil, mongoerr.New(mongoerr.BSONObjectTooLarge, "object to insert too large. size in bytes: %d, max size: %d", len(doc), MaxBSONObjectSize)
	}
	hasID, err := checkFields(c, doc, checkedMeta)
	if err != nil {
		return nil, err
	}
	if hasID {
		return doc, nil
	}
	oid := bson.NewObjectID()
	b := bsoncore.NewDocumentBuilder().AppendObjectID("_id", oid)
	elems, err := doc.Elements()
	if err != nil {
		return nil, mongoerr.New(mongoerr.InvalidBSON, "insert: %v", err)
	}
	for _, e := range elems {
		b.AppendValue(e.Key(), bsoncore.Value{Type: bsoncore.Type(e.Value().Type), Data: e.Value().Value})
	}
	return bson.Raw(b.Build()), nil
}

// checkFields refuses, with BadValue and before anything is written, a document without a valid
// time field, or whose meta value or measurement fields storage cannot keep (see tsdoc.CheckMeta);
// it says whether the document has an _id. It reads the raw elements in place, once, and checks
// each distinct meta value of a command once (checkedMeta holds the good ones): the documents of
// one series share it, interleaved with other series' as clients send them. A bad time field is
// reported before a bad measurement field.
func checkFields(c *meta.Collection, doc bson.Raw, checkedMeta map[string]struct{}) (hasID bool, err error) {
	if len(doc) < 5 || int(int32(binary.LittleEndian.Uint32(doc))) != len(doc) || doc[len(doc)-1] != 0 {
		return false, mongoerr.New(mongoerr.InvalidBSON, "insert: bad document length or terminator")
	}
	timeOK, seenTime := false, false
	var fieldErr error
	for rest := []byte(doc[4 : len(doc)-1]); len(rest) > 0; {
		t, k, v, r, ok := tsdoc.NextElement(rest)
		if !ok {
			return false, mongoerr.New(mongoerr.InvalidBSON, "insert: malformed element")
		}
		rest = r
		if string(k) != c.MetaField || c.MetaField == "" {
			if err := validValue(t, v, 0); err != nil {
				return false, mongoerr.New(mongoerr.InvalidBSON, "insert: field '%s': %v", k, err)
			}
		}
		switch {
		case string(k) == c.TimeField:
			if !seenTime { // the first of repeated keys counts, as for lookups
				seenTime, timeOK = true, t == bsoncore.TypeDateTime
			}
		case fieldErr != nil:
		case c.MetaField != "" && string(k) == c.MetaField:
			if _, ok := checkedMeta[string(v)]; ok {
				continue // the same bytes as a value found valid and good
			}
			if err := validValue(t, v, 0); err != nil {
				return false, mongoerr.New(mongoerr.InvalidBSON, "insert: field '%s': %v", k, err)
			}
			if err := tsdoc.CheckMeta(c.Name, c.MetaField, bson.RawValue{Type: bson.Type(t), Value: v}); err != nil {
				fieldErr = mongoerr.New(mongoerr.BadValue, "%v", err)
				continue
			}
			checkedMeta[string(v)] = struct{}{}
		case !storage.FieldType(t).Valid():
			fieldErr = mongoerr.New(mongoerr.BadValue, "field '%s' holds a value of BSON type %s, which ChronoGo does not store in a time-series collection", k, tsdoc.TypeAlias(bson.Type(t)))
		case string(k) == "_id":
			hasID = true
		}
	}
	if !timeOK {
		return false, mongoerr.New(mongoerr.BadValue, "'%s' must be present and contain a valid BSON UTC datetime value", c.TimeField)
	}
	return hasID, fieldErr
}
